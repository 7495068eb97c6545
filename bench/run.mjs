#!/usr/bin/env node
/**
 * `npm run bench` (DESIGN.md §10): starts the Worker locally with `wrangler dev`, warms it, and measures
 * side by side in ONE run, as ratios (absolute numbers on a shared 2-core machine are noise):
 *   - password login against the bare scrypt hash it contains (a tiny bench Worker, bench/scrypt-worker.js,
 *     runs the same node:crypto scrypt inside workerd), wall and CPU;
 *   - the same login with and without the audit log (the write after the response), wall and CPU;
 *   - a JWT-authenticated read (`GET /me`) against `GET /health`: throughput (autocannon);
 *   - refresh-token rotation: sequential chains, rotations per second;
 *   - a 50-login burst from one IP against a Worker with default settings: time to the 429s and
 *     `GET /health` latency meanwhile, as multiples of one bare hash;
 *   - bundle size (gzip) from `wrangler deploy --dry-run`;
 *   - a bounded mixed load (logins, refreshes, authed reads at fixed rates): p50/p99 per route, errors
 *     by status, workerd RSS.
 * and writes bench/RESULTS.md. To add a benchmark, add a function to BENCHES: it receives the context
 * (running servers, helpers) and returns rows plus a "how it was measured" paragraph.
 *
 * shared/notes/security.md §4: workerd (and wrangler) are pinned to core 0, this process (the load
 * generator) to core 1. Rate limits are switched off for the Worker under test
 * (`--var RATE_LIMITS_ENABLED:false`) so the per-IP limiter does not cap the load.
 *
 * Options: `--only login,audit,jwt,refresh,flood,bundle,load` runs a subset (RESULTS.md is then not written unless
 * `--write`), `--quick` shortens every phase (smoke run, figures not meaningful).
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import autocannon from "autocannon";
import { developmentVars } from "../scripts/dev-vars.mjs";
import { comm, descendants, freePort } from "./proc.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const WRANGLER = path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const RESULTS = path.join(ROOT, "bench", "RESULTS.md");

const argv = process.argv.slice(2);
const QUICK = argv.includes("--quick");
const onlyArg = argv.find((a) => a.startsWith("--only"));
const ONLY = onlyArg ? (onlyArg.split("=")[1] ?? argv[argv.indexOf(onlyArg) + 1] ?? "").split(",") : null;
const WRITE = !ONLY || argv.includes("--write");

/** Phase sizes, bounded so the whole run stays well under 5 minutes. */
/** The simulated distance to the D1 primary for the latency rows (ms per round trip). */
const SLOW_RTT_MS = 80;

const SIZES = QUICK
  ? {
      loginWarm: 2,
      loginPairs: 6,
      auditPairs: 6,
      tputWarmS: 1,
      tputRounds: 1,
      tputS: 2,
      tputConns: 10,
      chains: 4,
      chainWarmS: 1,
      chainRounds: 1,
      chainS: 2,
    }
  : {
      loginWarm: 5,
      loginPairs: 40,
      // A small difference under a ~170 ms hash on a shared machine: twice the login's pairs.
      auditPairs: 80,
      tputWarmS: 3,
      tputRounds: 3,
      tputS: 5,
      tputConns: 10,
      chains: 4,
      chainWarmS: 2,
      chainRounds: 3,
      chainS: 4,
    };

const PASSWORD = "correct horse battery staple 42";

// ---------------------------------------------------------------------------------------------
// Small helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));
const log = (...a) => console.log("[bench]", ...a);

async function fetchTimeout(url, init = {}, ms = 2000) {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), ms);
  try {
    return await fetch(url, { ...init, signal: ac.signal });
  } finally {
    clearTimeout(t);
  }
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
}

/** TCP ports a process listens on (IPv4 and IPv6), from /proc/net/tcp* and its socket fds. */
function listeningPorts(pid) {
  const inodeToPort = new Map();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.trim().split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== "0A") continue; // LISTEN
      inodeToPort.set(f[9], Number.parseInt(f[1].split(":").pop(), 16));
    }
  }
  const ports = [];
  try {
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodeToPort.has(m[1])) ports.push(inodeToPort.get(m[1]));
      } catch {}
    }
  } catch {}
  return ports;
}

// ---------------------------------------------------------------------------------------------
// Processes: every child is spawned in its own process group and killed with it.

const children = new Set();
const tempDirs = new Set();

function cleanup() {
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
  }
  const deadline = Date.now() + 3000;
  for (const child of children) {
    while (Date.now() < deadline) {
      try {
        process.kill(-child.pid, 0);
      } catch {
        break;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  }
  children.clear();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `latchkey-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

const CORES = os.availableParallelism();
const PIN = CORES >= 2 && fs.existsSync("/usr/bin/taskset");

/** Runs wrangler (same Node binary), on core 0 when pinning. Resolves with the output on exit 0. */
function wrangler(args, { logFile, background = false, env = {} } = {}) {
  const cmd = PIN ? "taskset" : process.execPath;
  const full = PIN ? ["-c", "0", process.execPath, WRANGLER, ...args] : [WRANGLER, ...args];
  const out = logFile ? fs.openSync(logFile, "a") : "pipe";
  const child = spawn(cmd, full, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", out, out],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0", ...env },
  });
  children.add(child);
  if (background) return child;
  return new Promise((resolve, reject) => {
    let text = "";
    child.stdout?.on("data", (d) => {
      text += d;
    });
    child.stderr?.on("data", (d) => {
      text += d;
    });
    child.on("exit", (code) => {
      children.delete(child);
      if (code === 0) resolve(text);
      else reject(new Error(`wrangler ${args.join(" ")} exited ${code}\n${text.slice(-2000)}`));
    });
  });
}

/**
 * Builds the Worker once (`wrangler deploy --dry-run --outdir`) into a snapshot directory with a copy of
 * wrangler.toml (main pointing at the built module) and of migrations/. `wrangler dev` runs from that
 * snapshot with --no-bundle: it watches its sources and restarts workerd on every change, and the work
 * tree is shared with engineers editing src/ while the bench runs. The same build gives the bundle size.
 */
async function buildSnapshot() {
  const dir = tempDir("build");
  await wrangler(["deploy", "--dry-run", "--outdir", dir]);
  const toml = fs.readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  if (!/^main\s*=.*$/m.test(toml)) throw new Error("wrangler.toml has no `main` line");
  const built = fs.readdirSync(dir).find((f) => /\.(m?js)$/.test(f));
  fs.writeFileSync(path.join(dir, "wrangler.toml"), toml.replace(/^main\s*=.*$/m, `main = "${built}"`));
  fs.cpSync(path.join(ROOT, "migrations"), path.join(dir, "migrations"), { recursive: true });
  return { dir, config: path.join(dir, "wrangler.toml") };
}

/**
 * Starts `wrangler dev` and waits until it serves. Requests then go straight to the workerd process
 * that runs the Worker (its own entry socket, found by probing), skipping wrangler's proxy Worker in
 * front of it; if that socket cannot be found the proxy URL is used and RESULTS.md says so.
 */
async function startDev(name, opts) {
  try {
    return await startDevOnce(name, opts);
  } catch (e) {
    // Another `wrangler dev` on the machine (or of this run) took the port in between: once more.
    if (!/Address already in use/.test(String(e.message))) throw e;
    log(`${name}: port taken, starting again`);
    return startDevOnce(name, opts);
  }
}

async function startDevOnce(name, { config, vars = [], migrate = false, extra = [] }) {
  const port = await freePort();
  const persist = tempDir(name);
  const logFile = path.join(tempDir(`${name}-log`), "wrangler.log");
  const cfg = config ? ["--config", config] : [];
  if (migrate) {
    await wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist, ...cfg]);
  }
  // wrangler.toml is the production configuration: the Latchkey servers run on the development
  // settings (the scrypt reference Worker has its own config and takes none).
  const dev = config?.endsWith("scrypt-worker.toml")
    ? []
    : Object.entries(developmentVars(`http://127.0.0.1:${port}`)).map(([k, v]) => `${k}:${v}`);
  const varArgs = [...dev, ...vars].flatMap((v) => ["--var", v]);
  // A private dev registry: the shared one changes whenever anyone starts or stops a `wrangler dev`
  // (e2e runs), and every change makes this session rebuild and restart its workerd.
  const registry = tempDir(`${name}-registry`);
  const child = wrangler(
    // --log-level warn: at info, every request also posts a log line to wrangler's Node process.
    [
      "dev",
      ...cfg,
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      persist,
      "--log-level",
      "warn",
      ...extra,
      ...varArgs,
    ],
    { logFile, background: true, env: { WRANGLER_REGISTRY_PATH: registry } },
  );
  const proxyUrl = `http://127.0.0.1:${port}`;
  const readLog = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "");
  const start = Date.now();
  let exited = null;
  child.on("exit", (code) => {
    exited = code;
  });
  for (;;) {
    if (exited !== null)
      throw new Error(`wrangler dev (${name}) exited ${exited}:\n${readLog().slice(-3000)}`);
    if (Date.now() - start > 90_000)
      throw new Error(`wrangler dev (${name}) not ready:\n${readLog().slice(-3000)}`);
    try {
      const r = await fetchTimeout(`${proxyUrl}/health`, {}, 1000);
      await r.arrayBuffer();
      if (r.status === 200) break;
    } catch {}
    await sleep(300);
  }
  // wrangler reloads once right after the first "Ready" (a new workerd process): find the Worker's own
  // socket until two looks 2 s apart agree.
  const discover = async () => {
    for (const pid of descendants(child.pid).filter((p) => comm(p) === "workerd")) {
      for (const p of listeningPorts(pid)) {
        if (p === port) continue;
        try {
          const r = await fetchTimeout(`http://127.0.0.1:${p}/health`, {}, 1000);
          await r.arrayBuffer();
          if (r.status === 200) return { url: `http://127.0.0.1:${p}`, pid };
        } catch {}
      }
    }
    return null;
  };
  let direct = await discover();
  for (let i = 0; i < 8; i++) {
    await sleep(2000);
    const again = await discover();
    const same = again?.url === direct?.url && again?.pid === direct?.pid;
    direct = again;
    if (same && direct) break;
  }
  const workerds = descendants(child.pid).filter((p) => comm(p) === "workerd");
  const server = {
    name,
    child,
    url: direct?.url ?? proxyUrl,
    direct: Boolean(direct),
    pid: direct?.pid ?? null,
    workerds,
    binary: workerds.length ? fs.readlinkSync(`/proc/${workerds[0]}/exe`) : null,
    /** True while the workerd process measured is the one found at start (it was not restarted). */
    unchanged: () => !server.direct || fs.existsSync(`/proc/${server.pid}/stat`),
  };
  log(
    `${name}: ${server.url} (${server.direct ? `direct to workerd pid ${server.pid}` : "through wrangler's proxy"})`,
  );
  return server;
}

// ---------------------------------------------------------------------------------------------
// Client helpers for the Worker under test (HBP dialect)

async function postJson(url, body, headers = {}) {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, json, text };
}

async function login(ctx) {
  const r = await postJson(`${ctx.main.url}/auth/login`, {
    email: ctx.email,
    password: PASSWORD,
    cookie: false,
  });
  if (r.status !== 200 || !r.json?.jwt_token || !r.json?.refresh_token)
    throw new Error(`login failed: ${r.status} ${r.text.slice(0, 300)}`);
  return r.json;
}

/** workerd CPU (ms) spent while `work` runs, or NaN when the Worker's process is unknown. */
async function withCpu(pid, work) {
  const before = pid ? cpuSeconds(pid) : Number.NaN;
  const value = await work();
  return { value, cpuMs: pid ? (cpuSeconds(pid) - before) * 1000 : Number.NaN };
}

/** autocannon against one URL: requests per second and workerd CPU ms per request. */
async function throughput(server, url, headers, seconds) {
  const { value: result, cpuMs } = await withCpu(server.pid, () =>
    autocannon({ url, headers, connections: SIZES.tputConns, duration: seconds }),
  );
  if (result.errors || result.timeouts || result.non2xx)
    throw new Error(
      `${url}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx responses`,
    );
  return { rps: result.requests.total / result.duration, cpuMs: cpuMs / result.requests.total };
}

// ---------------------------------------------------------------------------------------------
// Benchmarks. Each returns { rows: [{ figure, value, target?, met? }], how }.

/** Password login (`POST /auth/login`) against the bare scrypt hash, interleaved, concurrency 1. */
async function benchLogin(ctx) {
  const hash = async () => {
    const t = performance.now();
    const r = await postJson(`${ctx.scrypt.url}/hash`, { password: PASSWORD });
    const ms = performance.now() - t;
    if (r.status !== 200 || r.json?.length !== 32) throw new Error(`hash failed: ${r.status} ${r.text}`);
    return ms;
  };
  const timedLogin = async () => {
    const t = performance.now();
    await login(ctx);
    return performance.now() - t;
  };
  for (let i = 0; i < SIZES.loginWarm; i++) {
    await timedLogin();
    await hash();
  }
  const logins = [];
  const hashes = [];
  const cpu0 = {
    main: ctx.main.pid && cpuSeconds(ctx.main.pid),
    scrypt: ctx.scrypt.pid && cpuSeconds(ctx.scrypt.pid),
  };
  for (let i = 0; i < SIZES.loginPairs; i++) {
    // Alternate which goes first, so drift on the shared machine hits both equally.
    if (i % 2) {
      hashes.push(await hash());
      logins.push(await timedLogin());
    } else {
      logins.push(await timedLogin());
      hashes.push(await hash());
    }
  }
  const rows = [];
  const loginMs = median(logins);
  const hashMs = median(hashes);
  const wallRatio = loginMs / hashMs;
  rows.push({ figure: "Login wall time, median (ms)", value: fmt(loginMs) });
  rows.push({ figure: "Bare scrypt hash wall time, median (ms)", value: fmt(hashMs) });
  rows.push({ figure: "Login − hash, medians (ms)", value: fmt(loginMs - hashMs) });
  rows.push({
    figure: "Login / hash, wall (medians)",
    value: `${fmt(wallRatio, 2)}x`,
    target: "≤ 1.2x",
    met: wallRatio <= 1.2,
  });
  if (ctx.main.pid && ctx.scrypt.pid) {
    const perLogin = ((cpuSeconds(ctx.main.pid) - cpu0.main) / SIZES.loginPairs) * 1000;
    const perHash = ((cpuSeconds(ctx.scrypt.pid) - cpu0.scrypt) / SIZES.loginPairs) * 1000;
    const cpuRatio = perLogin / perHash;
    rows.push({ figure: "workerd CPU per login (ms)", value: fmt(perLogin) });
    rows.push({ figure: "workerd CPU per bare hash (ms)", value: fmt(perHash) });
    rows.push({
      figure: "Login / hash, workerd CPU",
      value: `${fmt(cpuRatio, 2)}x`,
      target: "≤ 1.2x",
      met: cpuRatio <= 1.2,
    });
  }
  return {
    rows,
    how:
      `One activated user (registered with \`AUTO_ACTIVATE_NEW_USERS=true\`, default scrypt N=2^14, r=8, p=5). ` +
      `${SIZES.loginPairs} interleaved pairs at concurrency 1 after ${SIZES.loginWarm} warm-up pairs: ` +
      `\`POST /auth/login\` \`{email, password, cookie:false}\` (HBP dialect: user lookup, scrypt verify, ` +
      `session + refresh token insert, ES256 JWT) against \`POST /hash\` on bench/scrypt-worker.js, a separate ` +
      `Worker started by its own \`wrangler dev\` (bench/scrypt-worker.toml) that runs the same node:crypto scrypt ` +
      `(same parameters, 32-byte key, 16-byte random salt) once per request. Order alternates each pair. Wall = ` +
      `client-side round trip, medians. CPU = user+system time of each workerd process (from /proc) over the ` +
      `measured pairs, divided by the count; it includes local D1 (SQLite runs inside the workerd process ` +
      `locally, over the network in production) and the HTTP handling both sides share.`,
  };
}

/**
 * The audit write's cost on a login: the same login against two Workers built from the same snapshot,
 * one with the audit log (the default) and one with `AUDIT_LOG_ENABLED=false`, interleaved pairs.
 */
async function benchAudit(ctx) {
  const loginOn = async (server, email) => {
    const t = performance.now();
    const r = await postJson(`${server.url}/auth/login`, { email, password: PASSWORD, cookie: false });
    if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text.slice(0, 300)}`);
    return performance.now() - t;
  };
  const on = () => loginOn(ctx.main, ctx.email);
  const off = () => loginOn(ctx.noaudit, ctx.email);
  for (let i = 0; i < SIZES.loginWarm; i++) {
    await on();
    await off();
  }
  await sleep(500);
  const withAudit = [];
  const without = [];
  const cpu0 = {
    on: ctx.main.pid && cpuSeconds(ctx.main.pid),
    off: ctx.noaudit.pid && cpuSeconds(ctx.noaudit.pid),
  };
  for (let i = 0; i < SIZES.auditPairs; i++) {
    if (i % 2) {
      without.push(await off());
      withAudit.push(await on());
    } else {
      withAudit.push(await on());
      without.push(await off());
    }
  }
  // The audit rows are written after the response (waitUntil): let the last ones land before reading CPU.
  await sleep(500);
  const rows = [];
  const onMs = median(withAudit);
  const offMs = median(without);
  rows.push({ figure: "Login wall time with the audit log, median (ms)", value: fmt(onMs) });
  rows.push({ figure: "Login wall time without it, median (ms)", value: fmt(offMs) });
  rows.push({
    figure: "With / without, wall (medians)",
    value: `${fmt(onMs / offMs, 3)}x`,
    target: "≤ 1.03x",
    met: onMs / offMs <= 1.03,
  });
  if (ctx.main.pid && ctx.noaudit.pid) {
    const perOn = ((cpuSeconds(ctx.main.pid) - cpu0.on) / SIZES.auditPairs) * 1000;
    const perOff = ((cpuSeconds(ctx.noaudit.pid) - cpu0.off) / SIZES.auditPairs) * 1000;
    rows.push({ figure: "workerd CPU per login with the audit log (ms)", value: fmt(perOn) });
    rows.push({ figure: "workerd CPU per login without it (ms)", value: fmt(perOff) });
    rows.push({
      figure: "With / without, workerd CPU",
      value: `${fmt(perOn / perOff, 3)}x`,
      target: "≤ 1.03x",
      met: perOn / perOff <= 1.03,
    });
  }
  return {
    rows,
    how:
      `Two Workers from the same build and settings, the second with \`--var AUDIT_LOG_ENABLED:false\`, one ` +
      `activated user on each. ${SIZES.auditPairs} interleaved pairs of \`POST /auth/login\` at concurrency 1 after ` +
      `${SIZES.loginWarm} warm-up pairs, the order alternating each pair. With the log on, each login records one ` +
      `\`sign_in.succeeded\` event, written after the response by a waitUntil batch (one D1 insert), so the wall ` +
      `time shows only what emitting costs on the request path; the CPU figure (user+system of each workerd process ` +
      `over the measured pairs, read 0.5 s after the last answer) includes the write. Both Workers write the ` +
      `per-request log line. The machine is shared and noisy: the scrypt hash (~170 ms of CPU) dominates both ` +
      `sides, so a ratio within a few percent of 1 is within the run's noise either way.`,
  };
}

/**
 * JWT-authenticated read against `GET /health`. The routes tried, in order: the first answering 200 with
 * the bearer token is measured. Add a route here when a dialect offers a cheaper authenticated read.
 */
const AUTHENTICATED_READS = [{ path: "/me", headers: (jwt) => ({ authorization: `Bearer ${jwt}` }) }];

async function benchJwt(ctx) {
  const { jwt_token: jwt } = await login(ctx);
  let route = null;
  const probes = [];
  for (const candidate of AUTHENTICATED_READS) {
    const r = await fetch(`${ctx.main.url}${candidate.path}`, { headers: candidate.headers(jwt) });
    await r.arrayBuffer();
    probes.push(`\`GET ${candidate.path}\` answered ${r.status}`);
    if (r.status === 200) {
      route = candidate;
      break;
    }
  }
  const healthUrl = `${ctx.main.url}/health`;
  // The floor: the same route on an empty Worker (bench/scrypt-worker.js answers /health with the same JSON),
  // measured in the same rounds, so other load on the machine hits both alike.
  const emptyUrl = ctx.scrypt && `${ctx.scrypt.url}/health`;
  await throughput(ctx.main, healthUrl, {}, SIZES.tputWarmS);
  if (route) await throughput(ctx.main, `${ctx.main.url}${route.path}`, route.headers(jwt), SIZES.tputWarmS);
  if (emptyUrl) await throughput(ctx.scrypt, emptyUrl, {}, SIZES.tputWarmS);
  const health = [];
  const authed = [];
  const empty = [];
  for (let i = 0; i < SIZES.tputRounds; i++) {
    health.push(await throughput(ctx.main, healthUrl, {}, SIZES.tputS));
    if (route)
      authed.push(
        await throughput(ctx.main, `${ctx.main.url}${route.path}`, route.headers(jwt), SIZES.tputS),
      );
    if (emptyUrl) empty.push(await throughput(ctx.scrypt, emptyUrl, {}, SIZES.tputS));
  }
  const rps = (xs) => median(xs.map((x) => x.rps));
  const cpu = (xs) => median(xs.map((x) => x.cpuMs));
  const rows = [
    { figure: "`GET /health` throughput, median of rounds (req/s)", value: fmt(rps(health), 0) },
    { figure: "`GET /health` workerd CPU per request (ms)", value: fmt(cpu(health), 2) },
  ];
  if (empty.length)
    rows.push(
      { figure: "Empty Worker `GET /health` throughput (req/s)", value: fmt(rps(empty), 0) },
      { figure: "Empty Worker `GET /health` workerd CPU per request (ms)", value: fmt(cpu(empty), 2) },
      {
        figure: "`GET /health` / empty Worker `GET /health`, workerd CPU per request",
        value: `${fmt(cpu(health) / cpu(empty), 2)}x`,
        target: "≤ 1.15x",
        met: cpu(health) / cpu(empty) <= 1.15,
      },
    );
  if (route) {
    const ratio = rps(authed) / rps(health);
    rows.push(
      { figure: `\`GET ${route.path}\` (Bearer JWT) throughput (req/s)`, value: fmt(rps(authed), 0) },
      { figure: `\`GET ${route.path}\` workerd CPU per request (ms)`, value: fmt(cpu(authed), 2) },
      {
        figure: `\`GET ${route.path}\` / \`GET /health\` throughput`,
        value: `${fmt(ratio, 2)}x`,
        // Issue 2 asks ≥ 0.8x for a JWT-authenticated request; issue 4 ≥ 0.85x for hanko's GET /me.
        target: "≥ 0.85x",
        met: ratio >= 0.85,
      },
      {
        figure: `\`GET ${route.path}\` / \`GET /health\` workerd CPU per request`,
        value: `${fmt(cpu(authed) / cpu(health), 2)}x`,
      },
    );
  } else {
    rows.push({
      figure: "JWT-authenticated read / `GET /health` throughput",
      value: "pending `/me`",
      target: "≥ 0.85x",
      met: null,
    });
  }
  return {
    rows,
    how:
      `autocannon (in the bench process, pinned to core 1), ${SIZES.tputConns} connections, ` +
      `${SIZES.tputRounds} alternating rounds of ${SIZES.tputS} s per route after ${SIZES.tputWarmS} s warm-up ` +
      `each; medians of the rounds; every response must be 2xx. CPU per request = the Worker's workerd ` +
      `process user+system time over a round / requests in it (less sensitive than req/s to other load on ` +
      `the machine). The empty-Worker rows (bench/scrypt-worker.js's \`/health\`, a round of it after each ` +
      `round of the Latchkey routes) give the floor of workerd per request. The Worker under test runs ` +
      `with development settings, so each of its requests also passes the development meter ` +
      `(src/lib/meter.ts: a probe per request and a copy of the response for its \`Server-Timing\` header), ` +
      `which production does not. ` +
      (route
        ? `Authenticated route: \`GET ${route.path}\` with \`Authorization: Bearer <access JWT from /auth/login>\` ` +
          `(the first of ${AUTHENTICATED_READS.map((r) => `\`${r.path}\``).join(", ")} to answer 200). Every ` +
          `request verifies the JWT signature and claims; the session's liveness is read from D1 (inside the same ` +
          `workerd process locally, a network round trip in production) at most once per 5 s per isolate for ` +
          `reads (src/core/sessions/session-cache.ts), and on every write.`
        : `No read-only JWT-authenticated route exists yet (${probes.join("; ")}); every HBP route that takes ` +
          `a bearer token mutates state (mfa/generate, change-*, token/revoke, delete). The ratio row fills in ` +
          `once a dialect serves \`GET /me\` (hanko); \`GET /health\` alone is shown for reference.`),
  };
}

/**
 * Refresh-token rotation: independent sequential chains, each response's refresh_token feeding the next,
 * in rounds alternating with the same number of sequential `GET /health` loops.
 */
async function benchRefresh(ctx) {
  const rotate = async (token) => {
    const r = await fetch(`${ctx.main.url}/auth/token/refresh?refresh_token=${encodeURIComponent(token)}`);
    const body = await r.json().catch(() => null);
    if (r.status !== 200 || !body?.refresh_token || !body?.jwt_token)
      throw new Error(`refresh failed: ${r.status} ${JSON.stringify(body).slice(0, 300)}`);
    return body.refresh_token;
  };
  const health = async () => {
    const r = await fetch(`${ctx.main.url}/health`);
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`/health answered ${r.status}`);
  };
  /** `clients` sequential loops for `seconds`: { perS, cpuMs per request }. */
  const round = async (clients, seconds, step, latencies) => {
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    const { value: counts, cpuMs } = await withCpu(ctx.main.pid, () =>
      Promise.all(
        clients.map(async (client) => {
          let n = 0;
          while (performance.now() < end) {
            const t = performance.now();
            await step(client);
            latencies?.push(performance.now() - t);
            n++;
          }
          return n;
        }),
      ),
    );
    const total = counts.reduce((a, b) => a + b, 0);
    return { perS: total / ((performance.now() - t0) / 1000), cpuMs: cpuMs / total };
  };
  const chains = [];
  for (let i = 0; i < SIZES.chains; i++) chains.push({ token: (await login(ctx)).refresh_token });
  const rotateStep = async (chain) => {
    chain.token = await rotate(chain.token);
  };
  const healthClients = chains.map(() => ({}));
  await round(chains, SIZES.chainWarmS, rotateStep, null); // warm-up
  await round(healthClients, SIZES.chainWarmS, health, null);
  const rot = [];
  const hp = [];
  const latencies = [];
  for (let i = 0; i < SIZES.chainRounds; i++) {
    rot.push(await round(chains, SIZES.chainS, rotateStep, latencies));
    hp.push(await round(healthClients, SIZES.chainS, health, null));
  }
  const perS = (xs) => median(xs.map((x) => x.perS));
  const cpu = (xs) => median(xs.map((x) => x.cpuMs));
  return {
    rows: [
      { figure: `Refresh rotations/s (${SIZES.chains} parallel chains)`, value: fmt(perS(rot), 0) },
      { figure: "Rotation round trip, median (ms)", value: fmt(median(latencies), 1) },
      { figure: "workerd CPU per rotation (ms)", value: fmt(cpu(rot), 2) },
      { figure: `\`GET /health\` req/s, same ${SIZES.chains} sequential clients`, value: fmt(perS(hp), 0) },
      { figure: "workerd CPU per `GET /health` (ms)", value: fmt(cpu(hp), 2) },
      {
        figure: "Rotations/s / `GET /health` req/s, same clients",
        value: `${fmt(perS(rot) / perS(hp), 3)}x`,
      },
    ],
    how:
      `${SIZES.chains} independent chains, each starting from its own \`/auth/login\` (\`cookie:false\`, before the ` +
      `clock starts) and calling \`GET /auth/token/refresh?refresh_token=\` sequentially, each response's ` +
      `\`refresh_token\` feeding the next (rotation in one conditional UPDATE, a new ES256 JWT, the user ` +
      `reloaded); every answer must be 200 with a new token. ${SIZES.chainRounds} rounds of ${SIZES.chainS} s ` +
      `alternating with ${SIZES.chains} sequential fetch loops against \`GET /health\` (after ${SIZES.chainWarmS} s ` +
      `warm-up of each); medians of the rounds. No target in the issue.`,
  };
}

/** Round trips per route: the round-trip budget test's table (test/edge/round-trips.test.ts, Server-Timing). */
async function benchRoundTrips() {
  const out = await new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, "node_modules", "vitest", "vitest.mjs"), "run", "test/edge/round-trips.test.ts"],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } },
    );
    let text = "";
    child.stdout.on("data", (d) => (text += d));
    child.stderr.on("data", (d) => (text += d));
    child.on("error", reject);
    child.on("exit", () => resolve(text));
  });
  const line = out.split("\n").find((l) => l.includes("ROUNDTRIPS ["));
  if (!line) throw new Error(`round-trips test printed no table:\n${out.slice(-3000)}`);
  const table = JSON.parse(line.slice(line.indexOf("[")));
  return {
    rows: table.map((r) => ({
      figure: `${r.dialect}: ${r.route}`,
      value: `${r.d1} round trips; rows ${r.rowsRead} read, ${r.rowsWritten} written; KV ${r.kvReads} reads, ${r.kvWrites} writes`,
      target: `≤ ${r.budget} round trips`,
      met: r.d1 <= r.budget,
    })),
    how:
      "`test/edge/round-trips.test.ts` run by vitest inside workerd (real local D1 and KV), reading the " +
      "development meter's `Server-Timing` header (src/lib/meter.ts) of each response: D1 round trips (a batch " +
      "is one), the rows D1 reported read and written (its billing units; statements read with `.first()` " +
      "report none), KV reads and writes. Each row's budget is asserted by that test, so it cannot regress. " +
      "Work left in `waitUntil` after the response is not counted.",
  };
}

/**
 * Simulated distance to the D1 primary: login, refresh and an authenticated read, sequentially, against
 * the main server (no delay) and one with `DEV_D1_RTT_MS` added before every D1 round trip.
 */
async function benchLatency(ctx) {
  const n = QUICK ? 5 : 25;
  const p50 = async (url, step) => {
    const times = [];
    for (let i = 0; i < n + 2; i++) {
      const t = performance.now();
      await step(url);
      if (i >= 2) times.push(performance.now() - t);
    }
    return median(times);
  };
  const routes = {
    "password login (hbp)": async (url) => {
      const r = await postJson(`${url}/auth/login`, { email: ctx.email, password: PASSWORD, cookie: false });
      if (r.status !== 200) throw new Error(`login ${r.status} ${r.text.slice(0, 200)}`);
    },
    "refresh (hbp)": async (url) => {
      const token = ctx.latencyTokens.get(url);
      const r = await fetch(`${url}/auth/token/refresh?refresh_token=${encodeURIComponent(token)}`);
      const body = await r.json().catch(() => null);
      if (r.status !== 200) throw new Error(`refresh ${r.status} ${JSON.stringify(body).slice(0, 200)}`);
      ctx.latencyTokens.set(url, body.refresh_token);
      ctx.latencyJwts = { ...ctx.latencyJwts, [url]: body.jwt_token };
    },
    "authenticated read (hanko `GET /me`)": async (url) => {
      const r = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${ctx.latencyJwts[url]}` } });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`/me ${r.status}`);
    },
  };
  const rows = [];
  ctx.latencyTokens = new Map();
  for (const server of [ctx.main, ctx.slow]) {
    // The main server has the bench user already; the slow one gets it here.
    await postJson(`${server.url}/auth/register`, { email: ctx.email, password: PASSWORD, cookie: false });
  }
  for (const [name, step] of Object.entries(routes)) {
    const figures = [];
    for (const server of [ctx.main, ctx.slow]) {
      // A fresh session per route and server (the logins above may have ended older ones: SESSIONS_MAX_PER_USER).
      const first = await login({ ...ctx, main: server });
      ctx.latencyTokens.set(server.url, first.refresh_token);
      ctx.latencyJwts = { ...ctx.latencyJwts, [server.url]: first.jwt_token };
      figures.push(await p50(server.url, step));
    }
    const [fast, slow] = figures;
    rows.push(
      { figure: `${name}, p50 (ms), D1 round trip 0 ms`, value: fmt(fast, 1) },
      { figure: `${name}, p50 (ms), D1 round trip ${SLOW_RTT_MS} ms`, value: fmt(slow, 1) },
      {
        figure: `${name}: added latency / round-trip delay`,
        value: `${fmt((slow - fast) / SLOW_RTT_MS, 2)} round trips on the critical path`,
      },
    );
  }
  return {
    rows,
    how:
      `Two servers from the same build: the main one, and one with \`DEV_D1_RTT_MS=${SLOW_RTT_MS}\` (a development ` +
      `var: the D1 meter waits that long before every D1 round trip, as a primary ${SLOW_RTT_MS} ms away would). ` +
      `${n} sequential requests per route and server after 2 warm-ups; medians. A route's added latency ` +
      `divided by the delay is the number of D1 round trips it waits for; the authenticated read trusts a ` +
      `liveness check a few seconds old per isolate, so it mostly waits for none.`,
  };
}

/** "index.js + 6 .wasm" for a list of emitted file names. */
function describe(files) {
  const byExt = new Map();
  for (const f of files) {
    const ext = path.extname(f) || f;
    byExt.set(ext, [...(byExt.get(ext) ?? []), f]);
  }
  return [...byExt.entries()]
    .map(([ext, names]) => (names.length === 1 ? names[0] : `${names.length} ${ext} files`))
    .join(" + ");
}

/** Bundle size: `wrangler deploy --dry-run --outdir`, then gzip (level 9) of the emitted modules. */
async function benchBundle(ctx) {
  const out = ctx.build.dir;
  let raw = 0;
  let gz = 0;
  const files = [];
  for (const f of fs.readdirSync(out, { recursive: true })) {
    const p = path.join(out, f);
    if (!fs.statSync(p).isFile() || /\.(map|md|toml)$/.test(f) || f.startsWith("migrations")) continue;
    const buf = fs.readFileSync(p);
    raw += buf.length;
    gz += gzipSync(buf, { level: 9 }).length;
    files.push(f);
  }
  const kib = (n) => `${fmt(n / 1024, 1)} KiB`;
  return {
    rows: [
      { figure: "Bundle, uncompressed", value: kib(raw) },
      { figure: "Bundle, gzip", value: kib(gz), target: "< 1 MiB", met: gz < 1024 * 1024 },
    ],
    how: `\`wrangler deploy --dry-run --outdir <tmp>\` (production build of src/index.ts, the same build the Worker under test runs from), then the sum of each emitted module gzipped at level 9 (${describe(files)}; source maps excluded).`,
  };
}

/**
 * Passcode login finalize (hanko `POST /passcode/login/finalize`): the HMAC check, the two
 * conditional UPDATEs, the address verification and a new session with its ES256 JWT, against
 * `GET /health` from the same sequential clients. Each passcode is used once, so they are made
 * beforehand: users by `POST /users`, three passcodes each (the per-user send limit), codes read
 * from the development outbox.
 */
async function benchPasscode(ctx) {
  const users = QUICK ? 20 : 120;
  const clients = 4;
  const passcodes = [];
  for (let i = 0; i < users; i++) {
    const email = `bench-pc-${Date.now()}-${i}@example.com`;
    const created = await postJson(`${ctx.main.url}/users`, { email });
    if (created.status !== 200)
      throw new Error(`POST /users: ${created.status} ${created.text.slice(0, 200)}`);
    const ids = [];
    for (let k = 0; k < 3; k++) {
      const r = await postJson(`${ctx.main.url}/passcode/login/initialize`, {
        user_id: created.json.user_id,
      });
      if (r.status !== 200) throw new Error(`passcode initialize: ${r.status} ${r.text.slice(0, 200)}`);
      ids.push(r.json.id);
    }
    const mail = await fetch(`${ctx.main.url}/_dev/outbox?to=${encodeURIComponent(email)}`);
    if (mail.status !== 200)
      throw new Error(`/_dev/outbox answered ${mail.status} (needs ENVIRONMENT=development)`);
    // Newest first: the codes pair with the ids in reverse order.
    const codes = (await mail.json()).filter((m) => m.kind === "passcode").map((m) => m.data.code);
    for (const [k, id] of ids.entries()) passcodes.push({ id, code: codes[ids.length - 1 - k] });
  }
  const warm = passcodes.splice(0, clients * 2);
  const finalize = async ({ id, code }) => {
    const r = await postJson(`${ctx.main.url}/passcode/login/finalize`, { id, code });
    if (r.status !== 200) throw new Error(`passcode finalize: ${r.status} ${r.text.slice(0, 200)}`);
  };
  const health = async () => {
    const r = await fetch(`${ctx.main.url}/health`);
    await r.arrayBuffer();
  };
  /** `clients` sequential loops over `jobs`: requests per second, CPU ms and latencies. */
  const run = async (jobs, step) => {
    const latencies = [];
    const queue = [...jobs];
    const t0 = performance.now();
    const { cpuMs } = await withCpu(ctx.main.pid, () =>
      Promise.all(
        Array.from({ length: clients }, async () => {
          for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
            const t = performance.now();
            await step(job);
            latencies.push(performance.now() - t);
          }
        }),
      ),
    );
    return { perS: jobs.length / ((performance.now() - t0) / 1000), cpuMs: cpuMs / jobs.length, latencies };
  };
  await run(warm, finalize);
  await run(warm, health);
  const fin = await run(passcodes, finalize);
  const hp = await run(passcodes, health);
  return {
    rows: [
      { figure: `Passcode finalizes/s (${clients} sequential clients)`, value: fmt(fin.perS, 0) },
      { figure: "Passcode finalize round trip, median (ms)", value: fmt(median(fin.latencies), 1) },
      { figure: "workerd CPU per passcode finalize (ms)", value: fmt(fin.cpuMs, 2) },
      { figure: `\`GET /health\` req/s, same ${clients} clients`, value: fmt(hp.perS, 0) },
      { figure: "Passcode finalizes/s / `GET /health` req/s", value: `${fmt(fin.perS / hp.perS, 3)}x` },
    ],
    how:
      `${users} users made by \`POST /users\` with three passcodes each (\`POST /passcode/login/initialize\`, ` +
      `codes read from \`/_dev/outbox\`), before the clock starts. ${passcodes.length} correct finalizes ` +
      `(${warm.length} more as warm-up), each passcode once, by ${clients} sequential clients; then the same ` +
      `number of \`GET /health\` by the same clients. Every finalize must answer 200 (session headers). No target in the issue.`,
  };
}

/** The p-th percentile (0-100) of a list, nearest rank. */
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

/**
 * A login flood from one IP against a Worker with default settings (per-IP rate limits on, the
 * default MAX_PENDING_HASHES): 50 parallel `POST /auth/login` with one `CF-Connecting-IP` (valid
 * credentials), while 2 sequential loops probe `GET /health`. Per burst: when each login answered,
 * by status; the probes' round trips. Several bursts, each from a new IP. Figures as multiples of
 * one bare hash (median of bench/scrypt-worker.js `POST /hash` at concurrency 1, measured just before).
 */
async function benchFlood(ctx) {
  const server = ctx.limited;
  const bursts = QUICK ? 2 : 10;
  const size = 50;
  const email = `bench-flood-${Date.now()}@example.com`;
  const reg = await postJson(`${server.url}/auth/register`, { email, password: PASSWORD, cookie: false });
  if (reg.status !== 200) throw new Error(`register failed: ${reg.status} ${reg.text.slice(0, 300)}`);
  const hashes = [];
  for (let i = 0; i < (QUICK ? 4 : 15); i++) {
    const t = performance.now();
    const r = await postJson(`${ctx.scrypt.url}/hash`, { password: PASSWORD });
    if (r.status !== 200) throw new Error(`hash failed: ${r.status}`);
    if (i >= 3) hashes.push(performance.now() - t);
  }
  const hashMs = median(hashes);
  // Warm the Worker's login path (one login per fresh IP, sequential).
  for (let i = 0; i < 3; i++) {
    await postJson(
      `${server.url}/auth/login`,
      { email, password: PASSWORD, cookie: false },
      { "cf-connecting-ip": `198.18.0.${i}` },
    );
  }
  const to429 = [];
  const firsts = [];
  const health = [];
  const counts = {};
  for (let b = 0; b < bursts; b++) {
    const ip = `198.18.1.${b}-${Date.now()}`;
    let done = false;
    const probes = Array.from({ length: 2 }, async () => {
      while (!done) {
        const t = performance.now();
        const r = await fetch(`${server.url}/health`);
        await r.arrayBuffer();
        health.push(performance.now() - t);
      }
    });
    const t0 = performance.now();
    const answers = await Promise.all(
      Array.from({ length: size }, async () => {
        const r = await postJson(
          `${server.url}/auth/login`,
          { email, password: PASSWORD, cookie: false },
          { "cf-connecting-ip": ip },
        );
        return { status: r.status, ms: performance.now() - t0 };
      }),
    );
    done = true;
    await Promise.all(probes);
    const limited = answers.filter((a) => a.status === 429).map((a) => a.ms);
    if (!limited.length) throw new Error("no 429 in a burst of 50 logins from one IP");
    to429.push(...limited);
    firsts.push(Math.min(...limited));
    for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
    await sleep(300);
  }
  // The floor: 50 more from an IP already over its window, all refused with no hash in between.
  const floor = [];
  for (let b = 0; b < 3; b++) {
    const ip = `198.18.2.${b}-${Date.now()}`;
    const send = () =>
      postJson(
        `${server.url}/auth/login`,
        { email, password: "wrong", cookie: false },
        { "cf-connecting-ip": ip },
      );
    for (let i = 0; i < 25; i++) await send();
    const t0 = performance.now();
    const answers = await Promise.all(
      Array.from({ length: size }, async () => {
        const r = await send();
        return { status: r.status, ms: performance.now() - t0 };
      }),
    );
    if (answers.some((a) => a.status !== 429)) throw new Error("floor burst: expected only 429s");
    floor.push(...answers.map((a) => a.ms));
  }
  const x = (ms) => `${fmt(ms / hashMs, 2)}x`;
  const per = (n) => fmt(n / bursts, 1);
  const med429 = median(to429);
  const p50 = percentile(health, 50);
  const p99 = percentile(health, 99);
  return {
    rows: [
      { figure: "Bare scrypt hash wall time, median (ms)", value: fmt(hashMs) },
      {
        figure: "Answers per burst of 50: 200 / 503 / 429",
        value: `${per(counts[200] ?? 0)} / ${per(counts[503] ?? 0)} / ${per(counts[429] ?? 0)}`,
      },
      { figure: "Time to the first 429, median of bursts (ms)", value: fmt(median(firsts)) },
      { figure: "Time to the first 429 / hash", value: x(median(firsts)) },
      { figure: "Time to a 429, median of all 429s (ms)", value: fmt(med429) },
      {
        figure: "Time to a 429, median / hash",
        value: x(med429),
        target: "≤ 1x",
        met: med429 <= hashMs,
      },
      {
        figure: "Floor: a 429 when all 50 are refused (IP already over its window), median (ms)",
        value: fmt(median(floor)),
      },
      { figure: "Floor / hash", value: x(median(floor)) },
      { figure: `\`GET /health\` during the bursts, p50 (ms; ${health.length} probes)`, value: fmt(p50) },
      { figure: "`GET /health` during the bursts, p50 / hash", value: x(p50) },
      { figure: "`GET /health` during the bursts, p99 (ms)", value: fmt(p99) },
      {
        figure: "`GET /health` during the bursts, p99 / hash",
        value: x(p99),
        target: "≤ 2x",
        met: p99 <= 2 * hashMs,
      },
    ],
    how:
      `A second Worker from the same build with default settings (per-IP rate limits **on**, login 20/min per IP; ` +
      `MAX_PENDING_HASHES=2; \`AUTO_ACTIVATE_NEW_USERS=true\` only), fresh D1. One activated user. ${bursts} bursts, ` +
      `each from a new \`CF-Connecting-IP\`: ${size} parallel \`POST /auth/login\` with valid credentials, while 2 ` +
      `sequential loops call \`GET /health\` until the last login answered. Times are client-side from the start of ` +
      `the burst; the probes' round trips are pooled over all bursts. "hash" = median wall time of the bare scrypt ` +
      `hash (bench/scrypt-worker.js \`POST /hash\`, concurrency 1) measured just before. Expected answers: 20 ` +
      `admitted by the window, of which at most 2 get a hash slot (200) and the rest 503 at once; 30 get 429 at once. ` +
      `The floor rows: 3 bursts of 50 from IPs already over their window (every answer a 429, no hash at all), ` +
      `i.e. what answering 50 parallel requests costs here by itself, client included.` +
      ` These rows move a lot between runs on this shared 2-core machine (other engineers' builds and tests run alongside): in two runs of this code, the median time to a 429 was 0.92x and 1.31x of a hash and the \`/health\` p99 1.65x and 1.59x. The same burst by hand against the code before this change (no hash slot reserved on arrival, hashes run as soon as each request reached them), at a load average of 6, answered its 429s after 2.9 to 7 s and kept \`/health\` waiting up to 7 s. The quiet moment a hash waits for (5 ms alone, 20 ms windows while credential requests keep arriving, at most 250 ms; src/core/passwords/hasher.ts) is in the password-login row too.`,
  };
}

/** Resident memory (KiB) of a process, from /proc/<pid>/status VmRSS; NaN when unknown. */
function rssKiB(pid) {
  if (!pid) return Number.NaN;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * A bounded mixed load at fixed rates (open loop: each request is sent at its scheduled time, whether
 * or not earlier ones have answered) against the main server (rate limits off): password logins,
 * refresh-token rotations and JWT-authenticated reads. Per route: p50/p99 round trip and answers by
 * status; the workerd process's RSS at the start, middle and end.
 */
async function benchLoad(ctx) {
  const seconds = QUICK ? 5 : 60;
  // A login is one ~170 ms scrypt hash that blocks the isolate, on the one core workerd shares with
  // everything else pinned there: 1/s keeps that core a fifth busy with hashes. 2/s already queued
  // hashes behind other work on this shared machine (503 from MAX_PENDING_HASHES=2, reads waiting
  // seconds); 5/s would need ~85% of the core for hashes alone.
  const rates = { login: 1, refresh: 20, read: 50 };
  const poolUsers = 8;
  const sessionsPerUser = 4;
  const server = ctx.main;
  // Separate users, so the logins (which end the oldest sessions beyond MAX_SESSIONS_PER_USER) never end
  // a session the refreshes or reads use. Each refresh token is used by one request at a time.
  const register = async (email) => {
    const r = await postJson(`${server.url}/auth/register`, { email, password: PASSWORD, cookie: false });
    if (r.status !== 200 || !r.json?.refresh_token)
      throw new Error(`register failed: ${r.status} ${r.text.slice(0, 300)}`);
    return r.json;
  };
  const stamp = Date.now();
  const idle = [];
  for (let i = 0; i < poolUsers; i++) {
    const email = `bench-load-${stamp}-r${i}@example.com`;
    idle.push((await register(email)).refresh_token);
    for (let k = 1; k < sessionsPerUser; k++) idle.push((await login({ ...ctx, email })).refresh_token);
  }
  const reader = await register(`bench-load-${stamp}-reader@example.com`);
  const routes = {
    "password login (`POST /auth/login`)": {
      rate: rates.login,
      send: () =>
        fetch(`${server.url}/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: ctx.email, password: PASSWORD, cookie: false }),
        }),
    },
    "refresh (`GET /auth/token/refresh`)": {
      rate: rates.refresh,
      take: () => idle.shift(),
      send: (token) => fetch(`${server.url}/auth/token/refresh?refresh_token=${encodeURIComponent(token)}`),
      /** The rotated token goes back to the pool (the old one if the rotation failed, to be counted again). */
      done: async (token, res) => {
        const body = res?.status === 200 ? await res.json().catch(() => null) : null;
        idle.push(body?.refresh_token ?? token);
        return body !== null;
      },
    },
    "authenticated read (`GET /me`)": {
      rate: rates.read,
      send: () => fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${reader.jwt_token}` } }),
    },
  };
  const stats = Object.fromEntries(Object.keys(routes).map((k) => [k, { ms: [], status: {}, skipped: 0 }]));
  const rss = { start: rssKiB(server.pid) };
  const cpu0 = server.pid ? cpuSeconds(server.pid) : Number.NaN;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let lateMs = 0;
  const middle = sleep((seconds * 1000) / 2).then(() => {
    rss.middle = rssKiB(server.pid);
  });
  // A sample every tenth of the run, to tell growth from a step.
  const series = [rss.start];
  const sampler = setInterval(() => series.push(rssKiB(server.pid)), (seconds * 1000) / 10);
  const inflight = new Set();
  const schedules = Object.entries(routes).map(async ([name, route]) => {
    const st = stats[name];
    for (let i = 0; ; i++) {
      const at = t0 + (i * 1000) / route.rate;
      if (at >= end) break;
      const wait = at - performance.now();
      if (wait > 0) await sleep(wait);
      else lateMs = Math.max(lateMs, -wait);
      const arg = route.take ? route.take() : undefined;
      if (route.take && arg === undefined) {
        st.skipped++;
        continue;
      }
      const p = (async () => {
        const t = performance.now();
        let res = null;
        let status;
        try {
          res = await route.send(arg);
          status = res.status;
          if (route.done) {
            if (!(await route.done(arg, res)) && status === 200) status = "bad body";
          } else await res.arrayBuffer();
        } catch (e) {
          status = `network error (${e.cause?.code ?? e.name})`;
          if (route.done) await route.done(arg, null);
        }
        st.ms.push(performance.now() - t);
        st.status[status] = (st.status[status] ?? 0) + 1;
      })();
      inflight.add(p);
      p.finally(() => inflight.delete(p));
    }
  });
  await Promise.all(schedules);
  await Promise.all(inflight);
  await middle;
  clearInterval(sampler);
  const wall = (performance.now() - t0) / 1000;
  rss.end = rssKiB(server.pid);
  const cpuS = server.pid ? cpuSeconds(server.pid) - cpu0 : Number.NaN;
  const rows = [];
  let errors = 0;
  for (const [name, route] of Object.entries(routes)) {
    const st = stats[name];
    const statuses = Object.entries(st.status)
      .sort(([a], [b]) => String(a).localeCompare(String(b)))
      .map(([k, n]) => `${k}: ${n}`)
      .join(", ");
    const bad = Object.entries(st.status)
      .filter(([k]) => k !== "200" && k !== "429")
      .reduce((a, [, n]) => a + n, 0);
    errors += bad;
    rows.push(
      {
        figure: `${name}: requests at ${route.rate}/s (answers by status)`,
        value: `${st.ms.length} (${statuses || "none"})${st.skipped ? `; ${st.skipped} not sent (no idle refresh token: the rate was not reached)` : ""}`,
      },
      {
        figure: `${name}: p50 / p99 round trip (ms)`,
        value: st.ms.length ? `${fmt(percentile(st.ms, 50))} / ${fmt(percentile(st.ms, 99))}` : "none",
      },
    );
  }
  const mib = (kib) => `${fmt(kib / 1024, 1)} MiB`;
  rows.push(
    {
      figure: "Answers other than 200 and 429 (all routes)",
      value: String(errors),
      target: "0",
      met: errors === 0,
    },
    {
      figure: "workerd RSS at start / middle / end",
      value: `${mib(rss.start)} / ${mib(rss.middle)} / ${mib(rss.end)}`,
    },
    {
      figure: "workerd RSS growth, start to end",
      value: mib(rss.end - rss.start),
    },
    {
      figure: "workerd RSS every tenth of the run (MiB)",
      value: [...series, rss.end].map((k) => fmt(k / 1024, 0)).join(", "),
    },
    { figure: "workerd CPU over the run (share of one core)", value: `${fmt((cpuS / wall) * 100, 0)}%` },
    { figure: "Load generator's largest lag behind schedule (ms)", value: fmt(lateMs) },
  );
  return {
    rows,
    how:
      `${seconds} s of fixed-rate traffic on the main server (per-IP rate limits off), all three routes at once, ` +
      `open loop (each request sent at its scheduled time, not waiting for earlier answers), from the bench ` +
      `process on loopback: ${rates.login} \`POST /auth/login\`/s (one user), ${rates.refresh} ` +
      `\`GET /auth/token/refresh\`/s (a pool of ${poolUsers * sessionsPerUser} sessions of ${poolUsers} other users, ` +
      `made before the clock starts; each token is used by one request at a time and its successor goes back ` +
      `to the pool; a tick with no idle token sends nothing and is reported as not sent), ${rates.read} ` +
      `\`GET /me\`/s (Bearer access JWT of one more user). Logins set the rate: each is a ~170 ms scrypt hash ` +
      `that blocks the isolate, on the one core workerd shares with whatever else is pinned there; at ` +
      `${rates.login}/s hashes take about a fifth of it. A first run at 2/s on this shared machine (load average ` +
      `6 to 8) queued hashes: 503s from MAX_PENDING_HASHES=2 and reads waiting a second and more; 5/s would ` +
      `take ~85% of the core for hashes alone. Round trips are client-side, from send to the whole body. Every ` +
      `answer must be 200 (429 would be allowed; none is expected with rate limits off). RSS = VmRSS of the ` +
      `Worker's workerd process from /proc/<pid>/status at the start, after half the run and at the end (after ` +
      `the last answer), and every tenth of the run.`,
  };
}

const BENCHES = [
  { id: "login", title: "Password login vs bare scrypt hash", needs: ["main", "scrypt"], run: benchLogin },
  {
    id: "audit",
    title: "Login with and without the audit write",
    needs: ["main", "noaudit"],
    run: benchAudit,
  },
  { id: "jwt", title: "JWT-authenticated request vs `/health`", needs: ["main", "scrypt"], run: benchJwt },
  { id: "refresh", title: "Refresh-token rotation", needs: ["main"], run: benchRefresh },
  { id: "passcode", title: "Passcode login finalize (hanko)", needs: ["main"], run: benchPasscode },
  {
    id: "flood",
    title: "Login burst from one IP (50 parallel)",
    needs: ["limited", "scrypt"],
    run: benchFlood,
  },
  { id: "bundle", title: "Bundle size", needs: ["build"], run: benchBundle },
  { id: "roundtrips", title: "D1 round trips per route", needs: [], run: benchRoundTrips },
  { id: "latency", title: "Latency with a distant D1 primary", needs: ["main", "slow"], run: benchLatency },
  { id: "load", title: "Mixed load at fixed rates", needs: ["main"], run: benchLoad },
];

// ---------------------------------------------------------------------------------------------

function versions(ctx) {
  const pkg = (p) =>
    JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", p, "package.json"), "utf8")).version;
  let workerd = "unknown";
  const binary = ctx.main?.binary ?? ctx.scrypt?.binary;
  if (binary) {
    try {
      workerd = execFileSync(binary, ["--version"]).toString().trim();
    } catch {}
  }
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd: ROOT,
    }).toString();
    if (dirty.trim()) commit += " (with uncommitted changes)";
  } catch {}
  return { node: process.version, wrangler: pkg("wrangler"), workerd, autocannon: pkg("autocannon"), commit };
}

function render(ctx, results, startedAt, seconds) {
  const v = versions(ctx);
  const cpu = os.cpus()[0]?.model ?? "unknown";
  const lines = [
    "# Benchmark results",
    "",
    "Written by `npm run bench` (bench/run.mjs, DESIGN.md §10). Absolute numbers from a shared machine are",
    "noise; the ratios, measured side by side in one run, are the figures that count. Other work on the machine",
    "(see the load average) hurts wall-time and req/s figures; CPU time per request, read from /proc for the",
    "workerd process, much less.",
    "",
    "| Machine and versions | |",
    "| --- | --- |",
    `| Date | ${startedAt.toISOString().replace(/\.\d+Z$/, "Z")} (run took ${fmt(seconds, 0)} s) |`,
    `| CPU | ${cpu}, nproc ${CORES}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, ${os.type()} ${os.release()} |`,
    `| Load average (1 min) | ${fmt(ctx.loadStart, 2)} at start, ${fmt(os.loadavg()[0], 2)} at end |`,
    `| Node | ${v.node} |`,
    `| wrangler | ${v.wrangler} |`,
    `| workerd | ${v.workerd} |`,
    `| autocannon | ${v.autocannon} |`,
    `| Commit | ${v.commit} |`,
    "",
    "Setup:",
    "",
    `- Pinning: ${PIN ? "wrangler and workerd on core 0 (`taskset -c 0`), this bench process, which is the load generator, on core 1 (`taskset -a -pc 1`)." : "none (fewer than 2 cores or no taskset)."}`,
    "- Worker under test: built once at the start (`wrangler deploy --dry-run --outdir`) and served from that",
    "  snapshot by `wrangler dev --no-bundle --log-level warn`, so edits to the shared work tree during the run",
    "  do not restart it, and no per-request log line is posted to wrangler's Node process. Vars: wrangler.toml",
    "  (ENVIRONMENT=development, ES256 JWTs, default scrypt N=2^14 r=8 p=5) plus `--var RATE_LIMITS_ENABLED:false`",
    "  (**per-IP rate limits off**, so the limiter does not cap the load) and `--var AUTO_ACTIVATE_NEW_USERS:true`.",
    "  Fresh `--persist-to` directory with the migrations applied first.",
    `- Requests ${!ctx.main || ctx.main.direct ? "go straight to the workerd process that runs each Worker (its own entry socket), bypassing the proxy Worker that `wrangler dev` puts in front on `--port`" : "go through the proxy Worker that `wrangler dev` puts in front on `--port` (the Worker's own socket was not found)"}.`,
    "",
    "| Benchmark | Figure | Result | Target | Met |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const r of results) {
    for (const row of r.rows) {
      const met = row.met === true ? "yes" : row.met === false ? "**no**" : row.met === null ? "pending" : "";
      lines.push(`| ${r.title} | ${row.figure} | ${row.value} | ${row.target ?? ""} | ${met} |`);
    }
  }
  lines.push("", "## How each figure was measured", "");
  for (const r of results) lines.push(`**${r.title}.** ${r.how}`, "");
  lines.push(
    "Not measured here (shared/notes/security.md §4): production CPU limits (open-source workerd enforces none),",
    "D1 network latency, multi-isolate effects. Image variants and zip rows arrive with the storage issues.",
    "",
  );
  return lines.join("\n");
}

async function main() {
  const startedAt = new Date();
  const t0 = performance.now();
  if (PIN) execFileSync("taskset", ["-a", "-pc", "1", String(process.pid)], { stdio: "ignore" });
  const selected = BENCHES.filter((b) => !ONLY || ONLY.includes(b.id));
  if (!selected.length) throw new Error(`--only matches none of ${BENCHES.map((b) => b.id).join(", ")}`);
  const needs = new Set(selected.flatMap((b) => b.needs));
  log(
    `cores: ${CORES}, pinning: ${PIN ? "workerd core 0, load core 1" : "off"}${QUICK ? ", QUICK run" : ""}`,
  );

  const ctx = { email: `bench-${Date.now()}@example.com`, loadStart: os.loadavg()[0] };
  if (
    needs.has("main") ||
    needs.has("limited") ||
    needs.has("slow") ||
    needs.has("noaudit") ||
    needs.has("build")
  )
    ctx.build = await buildSnapshot();
  const starts = [];
  if (needs.has("main"))
    starts.push(
      startDev("main", {
        config: ctx.build.config,
        extra: ["--no-bundle"],
        migrate: true,
        vars: ["RATE_LIMITS_ENABLED:false", "AUTO_ACTIVATE_NEW_USERS:true"],
      }).then((s) => {
        ctx.main = s;
      }),
    );
  if (needs.has("scrypt"))
    starts.push(
      startDev("scrypt", { config: path.join(ROOT, "bench", "scrypt-worker.toml") }).then((s) => {
        ctx.scrypt = s;
      }),
    );
  if (needs.has("slow"))
    starts.push(
      Promise.allSettled([...starts])
        .then(() =>
          startDev("slow", {
            config: ctx.build.config,
            extra: ["--no-bundle"],
            migrate: true,
            vars: [
              "RATE_LIMITS_ENABLED:false",
              "AUTO_ACTIVATE_NEW_USERS:true",
              `DEV_D1_RTT_MS:${SLOW_RTT_MS}`,
            ],
          }),
        )
        .then((s) => {
          ctx.slow = s;
        }),
    );
  if (needs.has("noaudit"))
    starts.push(
      Promise.allSettled([...starts])
        .then(() =>
          startDev("noaudit", {
            config: ctx.build.config,
            extra: ["--no-bundle"],
            migrate: true,
            vars: ["RATE_LIMITS_ENABLED:false", "AUTO_ACTIVATE_NEW_USERS:true", "AUDIT_LOG_ENABLED:false"],
          }),
        )
        .then((s) => {
          ctx.noaudit = s;
        }),
    );
  // Default settings (per-IP rate limits on) for the login-burst rows. Started after the others:
  // two `wrangler dev` starting at once can pick the same free port.
  if (needs.has("limited"))
    starts.push(
      Promise.allSettled([...starts])
        .then(() =>
          startDev("limited", {
            config: ctx.build.config,
            extra: ["--no-bundle"],
            migrate: true,
            vars: ["AUTO_ACTIVATE_NEW_USERS:true"],
          }),
        )
        .then((s) => {
          ctx.limited = s;
        }),
    );
  await Promise.all(starts);

  for (const server of [ctx.main, ctx.noaudit].filter(Boolean)) {
    const r = await postJson(`${server.url}/auth/register`, {
      email: ctx.email,
      password: PASSWORD,
      cookie: false,
    });
    if (r.status !== 200) throw new Error(`register failed: ${r.status} ${r.text.slice(0, 300)}`);
  }

  const results = [];
  let failed = false;
  for (const b of selected) {
    log(`${b.id}: ${b.title} ...`);
    const t = performance.now();
    try {
      const servers = [ctx.main, ctx.limited, ctx.slow, ctx.noaudit, ctx.scrypt].filter(Boolean);
      if (!servers.every((x) => x.unchanged()))
        throw new Error("a workerd process restarted before this benchmark");
      const r = await b.run(ctx);
      if (!servers.every((x) => x.unchanged()))
        throw new Error("a workerd process restarted during this benchmark");
      results.push({ ...r, title: b.title });
      for (const row of r.rows)
        log(`  ${row.figure}: ${row.value}${row.target ? ` (target ${row.target})` : ""}`);
    } catch (e) {
      failed = true;
      console.error(e);
      results.push({
        title: b.title,
        rows: [{ figure: "error", value: String(e.message).split("\n")[0] }],
        how: "Failed in this run.",
      });
    }
    log(`  (${fmt((performance.now() - t) / 1000, 1)} s)`);
  }

  const seconds = (performance.now() - t0) / 1000;
  const md = render(ctx, results, startedAt, seconds);
  if (WRITE && !QUICK && !failed) {
    fs.writeFileSync(RESULTS, md);
    // Biome formats Markdown tables too; keep the file as `npm run check` wants it.
    try {
      execFileSync(
        process.execPath,
        [path.join(ROOT, "node_modules/@biomejs/biome/bin/biome"), "format", "--write", RESULTS],
        {
          stdio: "ignore",
        },
      );
    } catch {}
    log(`wrote ${path.relative(ROOT, RESULTS)} in ${fmt(seconds, 0)} s`);
  } else {
    console.log(`\n${md}`);
    log(
      `RESULTS.md not written (${failed ? "a benchmark failed" : QUICK ? "--quick" : "--only without --write"})`,
    );
  }
  return failed ? 1 : 0;
}

main()
  .then((code) => {
    cleanup();
    process.exit(code);
  })
  .catch((e) => {
    console.error(e);
    cleanup();
    process.exit(1);
  });
