#!/usr/bin/env node
// `npm run setup -- --public-url https://auth.example.com [options]`: everything a first production
// deploy needs, in order, each step skipped when already done:
//   1. the D1 database, KV namespace and R2 bucket (`wrangler … create`), their ids written into
//      wrangler.toml, and an R2 lifecycle rule that expires cached image variants (`_variants/`);
//   2. PUBLIC_URL (and, with --mail-from / --custom-domain, MAIL_FROM and a custom-domain route)
//      written into wrangler.toml;
//   3. the D1 migrations applied to the remote database;
//   4. LATCHKEY_SECRET and JWT_PRIVATE_KEYS generated and piped into `wrangler secret bulk`
//      (only those the Worker does not have yet: replacing them would sign everyone out and make
//      stored TOTP secrets unreadable);
//   5. the production configuration checked with the Worker's own parser, and what is left printed.
// `--dry-run` needs no account and no network: it prints the commands and the wrangler.toml
// changes, and checks the configuration they would give, without running or writing anything.
//
// Options: --public-url URL (required), --mail-from "Name <addr@domain>", --custom-domain (route
// PUBLIC_URL's host to the Worker), --variants-days N (default 30), --location weur|enam|…,
// --config PATH (default wrangler.toml), --dry-run.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { configProblem, declaredBindings, featureSecrets } from "./config-check.mjs";
import { makeProductionSecrets } from "./keys.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wranglerBin = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i === -1 ? undefined : argv[i + 1];
};

const dryRun = flag("--dry-run");
const configPath = opt("--config") ?? join(root, "wrangler.toml");
const publicUrl = opt("--public-url");
const mailFrom = opt("--mail-from");
const variantsDays = Number(opt("--variants-days") ?? 30);
const location = opt("--location");
const ZERO_D1 = "00000000-0000-0000-0000-000000000000";
const ZERO_KV = "00000000000000000000000000000000";

function fail(message) {
  console.error(`setup: ${message}`);
  process.exit(1);
}
const step = (text) => console.log(`\n== ${text}`);

if (!publicUrl) fail("--public-url https://auth.example.com is required (the URL users reach the Worker at)");
if (!URL.canParse(publicUrl) || new URL(publicUrl).protocol !== "https:")
  fail("--public-url must be an https: URL");
if (!Number.isInteger(variantsDays) || variantsDays < 1)
  fail("--variants-days must be a whole number of days");

/** Runs wrangler; in a dry run only prints the command. Returns { ok, out }. */
function wrangler(args, { input, quiet = false, always = false } = {}) {
  const shown = `npx wrangler ${args.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(" ")}`;
  if (dryRun && !always) {
    console.log(`would run: ${shown}${input ? " (secrets on stdin)" : ""}`);
    return { ok: true, out: "", dry: true };
  }
  if (!quiet) console.log(`$ ${shown}`);
  const r = spawnSync(process.execPath, [wranglerBin, ...args, "--config", configPath], {
    cwd: root,
    input,
    encoding: "utf8",
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
  });
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  if (!quiet && r.status !== 0) console.log(out.trim().split("\n").slice(-6).join("\n"));
  return { ok: r.status === 0, out };
}

let toml = readFileSync(configPath, "utf8");
const edits = [];
/** Replaces the first match of `pattern` in wrangler.toml; records the edit for the summary. */
function edit(pattern, replacement, what) {
  if (!pattern.test(toml)) fail(`wrangler.toml: could not find where to write ${what}`);
  const next = toml.replace(pattern, replacement);
  if (next !== toml) edits.push(what);
  toml = next;
}
const tomlString = (s) => JSON.stringify(s);

const d1Name = /database_name\s*=\s*"([^"]+)"/.exec(toml)?.[1] ?? "latchkey";
const bucket = /bucket_name\s*=\s*"([^"]+)"/.exec(toml)?.[1] ?? "latchkey-files";
const workerName = /^name\s*=\s*"([^"]+)"/m.exec(toml)?.[1] ?? "latchkey";

if (!dryRun) {
  step("Cloudflare account");
  const who = wrangler(["whoami"], { quiet: true });
  if (!who.ok || /not authenticated/i.test(who.out))
    fail("not logged in: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN), then run setup again");
  console.log("logged in");
}

step(`D1 database ${d1Name}`);
if (toml.includes(`database_id = "${ZERO_D1}"`)) {
  const created = wrangler(["d1", "create", d1Name, ...(location ? ["--location", location] : [])]);
  let id = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/.exec(created.out)?.[1];
  if (!created.dry && !id) {
    // Already there (an earlier run): look its id up.
    const list = wrangler(["d1", "list", "--json"], { quiet: true });
    id = list.ok
      ? JSON.parse(list.out.slice(list.out.indexOf("["))).find((d) => d.name === d1Name)?.uuid
      : null;
    if (!id) fail(`could not create or find the D1 database ${d1Name}`);
  }
  edit(
    new RegExp(`database_id = "${ZERO_D1}"`),
    `database_id = "${id ?? "<id from wrangler d1 create>"}"`,
    "database_id",
  );
} else console.log("database_id already set");

step("KV namespace");
if (toml.includes(`id = "${ZERO_KV}"`)) {
  const created = wrangler(["kv", "namespace", "create", workerName]);
  let id = /\b([0-9a-f]{32})\b/.exec(created.out)?.[1];
  if (!created.dry && !id) {
    const list = wrangler(["kv", "namespace", "list"], { quiet: true });
    id = list.ok
      ? JSON.parse(list.out.slice(list.out.indexOf("["))).find((n) => n.title === workerName)?.id
      : null;
    if (!id) fail(`could not create or find the KV namespace ${workerName}`);
  }
  edit(new RegExp(`id = "${ZERO_KV}"`), `id = "${id ?? "<id from wrangler kv namespace create>"}"`, "KV id");
} else console.log("KV id already set");

step(`R2 bucket ${bucket}`);
const r2 = wrangler(["r2", "bucket", "create", bucket]);
if (!r2.ok && !/already exists/i.test(r2.out)) fail(`could not create the R2 bucket ${bucket}`);
wrangler([
  "r2",
  "bucket",
  "lifecycle",
  "add",
  bucket,
  "expire-variants",
  "_variants/",
  "--expire-days",
  String(variantsDays),
  "--force",
]);

step("Queues for webhooks");
// The producer/consumer in wrangler.toml need both queues to exist before deploy (README "Webhooks").
for (const queue of ["latchkey-webhooks", "latchkey-webhooks-dlq"]) {
  const q = wrangler(["queues", "create", queue]);
  if (!q.ok && !/already (exists|taken)/i.test(q.out)) fail(`could not create the queue ${queue}`);
}

step("wrangler.toml [vars]");
edit(/^PUBLIC_URL = .*$/m, `PUBLIC_URL = ${tomlString(publicUrl.replace(/\/+$/, ""))}`, "PUBLIC_URL");
if (mailFrom) edit(/^MAIL_FROM = .*$/m, `MAIL_FROM = ${tomlString(mailFrom)}`, "MAIL_FROM");
if (flag("--custom-domain")) {
  const host = new URL(publicUrl).hostname;
  if (/^routes\s*=/m.test(toml)) console.log("routes already set; not changed");
  else
    edit(
      /^# routes = \[.*$/m,
      `routes = [{ pattern = ${tomlString(host)}, custom_domain = true }]`,
      `custom domain ${host}`,
    );
}
if (dryRun) console.log(`would write: ${edits.join(", ") || "nothing"}`);
else {
  writeFileSync(configPath, toml);
  console.log(`wrote: ${edits.join(", ") || "nothing (already set)"}`);
}

step("configuration check");
const { unstable_readConfig } = await import("wrangler");
const written = join(tmpdir(), `latchkey-setup-${process.pid}.toml`);
writeFileSync(written, toml);
let vars;
let bindings;
try {
  const wranglerConfig = unstable_readConfig({ config: written }, { hideWarnings: true });
  vars = wranglerConfig.vars;
  bindings = declaredBindings(wranglerConfig);
} finally {
  spawnSync("rm", ["-f", written]);
}
const secrets = await makeProductionSecrets();
const later = featureSecrets(vars);
const problem = await configProblem(
  root,
  {
    ...vars,
    ...secrets,
    ...Object.fromEntries(Object.keys(later).map((k) => [k, "set-later"])),
  },
  bindings,
);
if (problem) fail(`the production configuration is not valid yet: ${problem}`);
console.log("the production configuration is valid (with the secrets below)");

step("D1 migrations (remote)");
const migrated = wrangler(["d1", "migrations", "apply", "DB", "--remote"]);
if (!migrated.ok) fail("applying the migrations to the remote database failed");

step("secrets");
let existing = [];
if (!dryRun) {
  const list = wrangler(["secret", "list", "--format", "json"], { quiet: true });
  if (list.ok) existing = JSON.parse(list.out.slice(list.out.indexOf("["))).map((s) => s.name);
}
const toSet = Object.fromEntries(Object.entries(secrets).filter(([k]) => !existing.includes(k)));
for (const k of Object.keys(secrets))
  if (existing.includes(k)) console.log(`${k} already set; kept (replacing it would sign everyone out)`);
if (Object.keys(toSet).length) {
  const put = wrangler(["secret", "bulk"], { input: JSON.stringify(toSet) });
  if (!put.ok) fail("setting the secrets failed");
  if (!dryRun) console.log(`set: ${Object.keys(toSet).join(", ")} (values never printed)`);
}

step("left to do");
const remaining = [];
for (const [k, what] of Object.entries(later))
  if (!existing.includes(k)) remaining.push(`npx wrangler secret put ${k}    # ${what}`);
if (!flag("--custom-domain"))
  remaining.push(
    `a custom domain: npm run setup -- --public-url ${publicUrl} --custom-domain (or uncomment routes in wrangler.toml)`,
  );
remaining.push(
  'review README "Production checklist" (mail sender domain, WebAuthn origins, CORS, OAuth, backups)',
);
remaining.push("npm run deploy");
for (const t of remaining) console.log(`- ${t}`);
if (dryRun) console.log("\n(dry run: nothing was created, written or set)");
