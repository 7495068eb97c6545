#!/usr/bin/env node
// `npm run preflight`: what must hold before `npm run deploy`, checked without an account or network
// (CI runs it on every change):
//   1. wrangler.toml is a production configuration: ENVIRONMENT=production, and the Worker's own
//      parser accepts it once PUBLIC_URL and the secrets are given, and refuses it, naming the
//      secret, when any required secret is missing; every required secret is named in the file;
//      it declares the Rate Limiting bindings (`[[ratelimits]]`) the per-IP limits need.
//   2. the production bundle builds (`wrangler deploy --dry-run`) and stays under the size budget
//      (1 MiB gzip);
//   3. start-up CPU (`wrangler check startup` on that bundle) stays under the budget (the platform
//      refuses Workers whose start-up takes more than 400 ms; we keep well under it). The figure is
//      the profile's busy time (everything but idle), the best of five runs: on a 2-core machine
//      with other work the same bundle measures 165 to 210 ms, and only the quiet runs say what
//      the bundle costs.
// `--skip-startup` leaves out step 3 (it takes a minute).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { configProblem, declaredBindings, featureSecrets } from "./config-check.mjs";
import { makeProductionSecrets } from "./keys.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wranglerBin = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
const BUNDLE_BUDGET = 1024 * 1024;
const STARTUP_BUDGET_MS = 200;
const argv = process.argv.slice(2);
let failed = 0;

function check(ok, text) {
  console.log(`${ok ? "ok  " : "FAIL"} ${text}`);
  if (!ok) failed++;
}

function wrangler(args) {
  const r = spawnSync(process.execPath, [wranglerBin, ...args], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
  });
  if (r.status !== 0)
    throw new Error(`wrangler ${args.join(" ")} exited ${r.status}:\n${(r.stdout + r.stderr).slice(-2000)}`);
  return r.stdout + r.stderr;
}

// 1. The production configuration template.
const { unstable_readConfig } = await import("wrangler");
const configPath = join(root, "wrangler.toml");
const tomlText = readFileSync(configPath, "utf8");
const wranglerConfig = unstable_readConfig({ config: configPath }, { hideWarnings: true });
const vars = { ...wranglerConfig.vars };
const bindings = declaredBindings(wranglerConfig);
check(vars.ENVIRONMENT === "production", 'wrangler.toml sets ENVIRONMENT = "production"');
check(!/localhost|127\.0\.0\.1/.test(JSON.stringify(vars)), "no localhost value in wrangler.toml [vars]");
if (!vars.PUBLIC_URL) vars.PUBLIC_URL = "https://auth.example.com"; // `npm run setup` writes the real one
const required = { ...(await makeProductionSecrets()) };
for (const name of Object.keys(featureSecrets(vars))) required[name] = "set-by-preflight";
const problem = await configProblem(root, { ...vars, ...required }, bindings);
check(
  problem === null,
  `the production configuration parses with its secrets${problem ? `: ${problem}` : ""}`,
);
for (const name of Object.keys(required)) {
  const { [name]: _, ...without } = required;
  const missing = await configProblem(root, { ...vars, ...without }, bindings);
  check(missing?.startsWith(`${name}:`) ?? false, `without ${name} production refuses to run and names it`);
  check(tomlText.includes(name), `wrangler.toml names the secret ${name}`);
}
for (const r of wranglerConfig.ratelimits ?? []) {
  const { [r.name]: _, ...others } = bindings;
  const missing = await configProblem(root, { ...vars, ...required }, others);
  check(
    missing?.startsWith(`${r.name}:`) ?? false,
    `without the Rate Limiting binding ${r.name} production refuses to run and names it`,
  );
}
const outboxProblem = await configProblem(root, { ...vars, ...required, MAIL_TRANSPORT: "outbox" }, bindings);
check(outboxProblem?.startsWith("MAIL_TRANSPORT:") ?? false, "production refuses the development outbox");

// 2. The production bundle and its size.
const out = mkdtempSync(join(tmpdir(), "latchkey-preflight-"));
try {
  const bundle = join(out, "worker.bundle");
  wrangler(["deploy", "--dry-run", "--outdir", join(out, "modules"), "--outfile", bundle]);
  const dir = join(out, "modules");
  const files = readdirSync(dir, { recursive: true }).filter((f) => statSync(join(dir, f)).isFile());
  const modules = files.filter((f) => !f.endsWith(".map") && f !== "README.md");
  let raw = 0;
  let gz = 0;
  for (const f of modules) {
    const buf = readFileSync(join(dir, f));
    raw += buf.length;
    gz += gzipSync(buf, { level: 9 }).length;
  }
  const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
  check(
    gz < BUNDLE_BUDGET,
    `bundle ${kib(gz)} gzip (${kib(raw)} raw, ${modules.length} modules) < ${kib(BUNDLE_BUDGET)}`,
  );

  // 3. Start-up CPU of that bundle.
  if (!argv.includes("--skip-startup")) {
    const runs = [];
    for (let i = 0; i < 5; i++) {
      const profile = join(out, `startup-${i}.cpuprofile`);
      wrangler(["check", "startup", "--worker", bundle, "--outfile", profile]);
      const p = JSON.parse(readFileSync(profile, "utf8"));
      const idleIds = new Set(p.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id));
      let busy = 0;
      p.samples.forEach((id, k) => {
        if (!idleIds.has(id)) busy += p.timeDeltas[k] ?? 0;
      });
      runs.push(busy / 1000);
    }
    const best = Math.min(...runs);
    check(
      best < STARTUP_BUDGET_MS,
      `start-up CPU ${best.toFixed(0)} ms (best of ${runs.map((r) => r.toFixed(0)).join(", ")}) < ${STARTUP_BUDGET_MS} ms`,
    );
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}

console.log(failed ? `\npreflight: ${failed} check(s) failed` : "\npreflight: ready to deploy");
process.exit(failed ? 1 : 0);
