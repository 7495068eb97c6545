#!/usr/bin/env node
// `npm run test:e2e [-- <filter>...]`: end-to-end suites against a real `wrangler dev`.
//
// For each `e2e/*.e2e.mjs` (sorted by name; with arguments, only files whose name contains one of
// them) this starts a fresh `wrangler dev` on its own free port with its own `--persist-to` state
// directory (local D1 migrations applied first), waits for GET /health, then runs
// `node e2e/<file>` with LATCHKEY_URL=http://localhost:<port>. A suite passes when it exits 0.
//
// A suite may declare extra Worker vars in a comment among its first lines:
//   // e2e-vars: KEY=value KEY2=value
// They are passed as `wrangler dev --var KEY:value` on top of the development settings
// (scripts/dev-vars.mjs), whose PUBLIC_URL is the server's own origin, so links in mail point at
// this server. A suite with `// e2e-mode: production` instead runs wrangler.toml as it deploys:
// PUBLIC_URL https://latchkey.e2e.test, generated secrets (an --env-file), and MAIL_HTTP_URL at a
// local mail API (e2e/mail-sink.mjs) whose address the suite gets as E2E_MAIL_SINK. A suite with
// `// e2e-mode: spa` runs the development settings with the example SPA built and served as
// static assets, as `npm run dev` does (scripts/spa.mjs).
//
// Environment: E2E_TIMEOUT_MS (per suite, default 300000), E2E_START_TIMEOUT_MS (server start,
// default 120000), E2E_KEEP=1 keeps the state directories and logs. Suites get E2E_TMP, a
// scratch directory removed afterwards (for browser profiles and the like).
// The last line printed is `N passed, M failed`; the exit code is non-zero if any suite failed.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { developmentVars } from "../scripts/dev-vars.mjs";
import { makeProductionSecrets, makeRootSecret } from "../scripts/keys.mjs";
import { prepareSpa } from "../scripts/spa.mjs";
import { startMailSink } from "./mail-sink.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
const SUITE_TIMEOUT = Number(process.env.E2E_TIMEOUT_MS ?? 300_000);
const START_TIMEOUT = Number(process.env.E2E_START_TIMEOUT_MS ?? 120_000);
const KEEP = process.env.E2E_KEEP === "1";
// No prompts, no telemetry, no colours in logs.
const childEnv = {
  ...process.env,
  CI: "true",
  WRANGLER_SEND_METRICS: "false",
  NO_COLOR: "1",
  FORCE_COLOR: "0",
};

const log = (msg) => process.stdout.write(`[e2e] ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A TCP port that was free a moment ago on localhost. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "localhost", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** `// e2e-mode: production|spa` among the first lines (default: development). */
function suiteMode(file) {
  const head = readFileSync(file, "utf8").split("\n").slice(0, 5);
  const mode = head.map((l) => /^\s*\/\/\s*e2e-mode:\s*(production|spa)\s*$/.exec(l)?.[1]).find(Boolean);
  return mode ?? "development";
}

/** `// e2e-vars: A=1 B=2` among the first lines of a suite -> ["A:1", "B:2"]. */
function suiteVars(file) {
  const head = readFileSync(file, "utf8").split("\n").slice(0, 5);
  const line = head.find((l) => /^\s*\/\/\s*e2e-vars:/.test(l));
  if (!line) return {};
  const vars = {};
  for (const pair of line
    .replace(/^\s*\/\/\s*e2e-vars:/, "")
    .trim()
    .split(/\s+/)
    .filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new Error(`${basename(file)}: bad e2e-vars entry "${pair}" (want KEY=value)`);
    vars[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return vars;
}

/** Signal a whole process group (the child was spawned detached, so its pid is the group id). */
function killGroup(child, signal) {
  if (!child?.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM the group, SIGKILL it if the leader has not exited after `grace` ms. */
async function stopGroup(child, grace = 5000) {
  if (!child?.pid) return;
  const exited = child.exitCode !== null || child.signalCode !== null;
  if (!exited) {
    const done = new Promise((r) => child.once("exit", r));
    killGroup(child, "SIGTERM");
    if ((await Promise.race([done.then(() => true), sleep(grace).then(() => false)])) === false) {
      log(`process group ${child.pid} still running after ${grace} ms; sending SIGKILL`);
    }
  }
  // Stray members (workerd, browsers) may outlive the leader: make sure the group is gone.
  killGroup(child, "SIGKILL");
}

function tail(file, lines = 80) {
  try {
    const all = readFileSync(file, "utf8").split("\n");
    return all.slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

const current = { server: null, suite: null };
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    killGroup(current.suite, "SIGKILL");
    killGroup(current.server, "SIGKILL");
    process.exit(130);
  });
}

async function waitForHealth(url, server, logFile) {
  const deadline = Date.now() + START_TIMEOUT;
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(
        `wrangler dev exited (${server.exitCode ?? server.signalCode}) before answering /health`,
      );
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(3000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`wrangler dev did not answer /health within ${START_TIMEOUT} ms (log: ${logFile})`);
}

/** Starts `wrangler dev` in its own process group on a free port; output goes to `logFile`. */
async function startServer(vars, persist, logFile, production = null, config = []) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const url = `http://localhost:${port}`;
  // wrangler.toml is the production configuration: suites run on the development settings unless
  // they declare otherwise (the production suite sets ENVIRONMENT and its own secrets).
  const all = production ? vars : { ...developmentVars(url), ...vars };
  const out = openSync(logFile, "a");
  const args = [wrangler, "dev", ...config, "--port", String(port), "--ip", "localhost"];
  args.push("--inspector-port", String(inspectorPort), "--persist-to", persist);
  args.push("--show-interactive-dev-session=false");
  if (production) args.push("--env-file", production.envFile);
  for (const [k, v] of Object.entries(all)) args.push("--var", `${k}:${v}`);
  const server = spawn(process.execPath, args, {
    cwd: root,
    env: childEnv,
    stdio: ["ignore", out, out],
    detached: true,
  });
  closeSync(out);
  return { server, url };
}

/** Runs one suite file; resolves to true when it passed. */
async function runSuite(file) {
  const name = basename(file);
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "latchkey-e2e-"));
  const persist = join(dir, "state");
  const serverLog = join(dir, "wrangler.log");
  let server = null;
  let sink = null;
  let production = null;
  let ok = false;
  try {
    let vars = suiteVars(file);
    // The example SPA: built for the suite's variables into the suite's own directory, served
    // through wrangler.e2e.toml (npm run dev's wrangler.dev.toml and build stay as they are).
    const config =
      suiteMode(file) === "spa"
        ? [
            "--config",
            await prepareSpa(root, vars, { configName: "wrangler.e2e.toml", outDir: join(dir, "spa") }),
          ]
        : [];
    // Production mode: wrangler.toml as it deploys, with test secrets and a local mail API.
    if (suiteMode(file) === "production") {
      const mailKey = makeRootSecret();
      sink = await startMailSink(mailKey);
      const envFile = join(dir, "secrets.env");
      const secrets = {
        ...(await makeProductionSecrets()),
        MAIL_HTTP_KEY: mailKey,
        TURNSTILE_SECRET_KEY: makeRootSecret(),
      };
      writeFileSync(
        envFile,
        Object.entries(secrets)
          .map(([k, v]) => `${k}='${v}'\n`)
          .join(""),
      );
      production = { envFile };
      vars = { PUBLIC_URL: "https://latchkey.e2e.test", MAIL_HTTP_URL: `${sink.url}/emails`, ...vars };
    }
    const migrate = spawnSync(
      process.execPath,
      [wrangler, "d1", "migrations", "apply", "DB", "--local", ...config, "--persist-to", persist],
      {
        cwd: root,
        env: childEnv,
        stdio: ["ignore", "pipe", "pipe"],
        encoding: "utf8",
        timeout: START_TIMEOUT,
      },
    );
    if (migrate.status !== 0) {
      throw new Error(
        `applying migrations failed (${migrate.status ?? migrate.signal ?? migrate.error?.message}):\n${migrate.stdout}\n${migrate.stderr}`,
      );
    }

    // A port picked as free can be taken before wrangler binds it: one more try on an early exit.
    let url;
    for (let attempt = 1; ; attempt++) {
      ({ server, url } = await startServer(vars, persist, serverLog, production, config));
      current.server = server;
      try {
        await waitForHealth(url, server, serverLog);
        break;
      } catch (e) {
        const exitedEarly = server.exitCode !== null || server.signalCode !== null;
        await stopGroup(server);
        if (!exitedEarly || attempt >= 2) throw e;
        log(`${name}: ${e.message}; retrying on another port`);
      }
    }
    log(`${name}: wrangler dev ready on ${url} in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const suite = spawn(process.execPath, [file], {
      cwd: root,
      env: { ...process.env, LATCHKEY_URL: url, E2E_TMP: dir, ...(sink ? { E2E_MAIL_SINK: sink.url } : {}) },
      stdio: ["ignore", "inherit", "inherit"],
      detached: true,
    });
    current.suite = suite;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(suite, "SIGKILL");
    }, SUITE_TIMEOUT);
    const [code, signal] = await new Promise((r) => suite.once("exit", (c, s) => r([c, s])));
    clearTimeout(timer);
    killGroup(suite, "SIGKILL"); // anything the suite left behind (browsers)
    current.suite = null;
    if (timedOut) log(`${name}: timed out after ${SUITE_TIMEOUT} ms`);
    else if (code !== 0) log(`${name}: exited with ${code ?? signal}`);
    ok = !timedOut && code === 0;
  } catch (e) {
    log(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    ok = false;
  } finally {
    await stopGroup(server);
    await sink?.close();
    current.server = null;
    if (!ok && server) {
      process.stdout.write(`----- wrangler dev log (${name}, last lines) -----\n${tail(serverLog)}\n-----\n`);
    }
    if (KEEP) log(`${name}: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  log(`${ok ? "PASS" : "FAIL"} ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return ok;
}

const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith(".e2e.mjs"))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort()
  .map((f) => join(here, f));

if (files.length === 0) {
  log(filters.length ? `no suite matches ${filters.join(" ")}` : "no e2e/*.e2e.mjs suites found");
  console.log("0 passed, 0 failed");
  process.exit(1);
}

let passed = 0;
let failed = 0;
const failures = [];
for (const file of files) {
  if (await runSuite(file)) passed++;
  else {
    failed++;
    failures.push(basename(file));
  }
}
if (failures.length) log(`failed: ${failures.join(", ")}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
