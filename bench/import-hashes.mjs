#!/usr/bin/env node
/**
 * `npm run bench:import`: the CPU time of each imported-hash verifier inside workerd. Starts
 * bench/import-worker.ts with its own `wrangler dev`, and for each case sends sequential requests
 * (concurrency 1, after one warm-up) while reading the workerd processes' CPU time from /proc; the
 * median per request is the figure. Latchkey's own scrypt hash is measured in the same run: on this
 * shared machine absolute numbers are noise, the ratio to it is what counts. Prints a markdown
 * table (docs/IMPORT.md has the latest run). `--rounds N` (default 3).
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { comm, descendants, freePort } from "./proc.mjs";

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const roundsArg = process.argv.indexOf("--rounds");
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 3;
const CASES = [
  ["latchkey-scrypt", "Latchkey scrypt N=2^14 r=8 p=5 (reference)"],
  ["bcrypt-10", "bcrypt cost 10"],
  ["bcrypt-12", "bcrypt cost 12"],
  ["bcrypt-13", "bcrypt cost 13 (the cap)"],
  ["argon2id-19456-2-1", "argon2id m=19456 t=2 p=1 (OWASP)"],
  ["argon2id-65536-3-4", "argon2id m=65536 t=3 p=4 (RFC 9106 2nd; the m×t cap)"],
  ["firebase-scrypt-14-8", "Firebase scrypt mem_cost=14 rounds=8 (defaults)"],
  ["pbkdf2-100k", "PBKDF2-SHA256 100,000 (WebCrypto)"],
  ["pbkdf2-600k", "PBKDF2-SHA256 600,000 (WebCrypto, local workerd only)"],
  ["pbkdf2-js-100k", "PBKDF2-SHA256 100,000 in JS (the fallback above 100k on Cloudflare)"],
];

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
function cpuSeconds(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(f[11]) + Number(f[12])) / CLK_TCK;
    } catch {}
  }
  return total;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const port = await freePort();
const registry = fs.mkdtempSync(path.join(os.tmpdir(), "lk-import-registry-"));
const persist = fs.mkdtempSync(path.join(os.tmpdir(), "lk-import-persist-"));
const child = spawn(
  path.join(ROOT, "node_modules", ".bin", "wrangler"),
  [
    "dev",
    "--config",
    path.join(ROOT, "bench", "import-worker.toml"),
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--persist-to",
    persist,
    "--log-level",
    "warn",
  ],
  {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_REGISTRY_PATH: registry },
    stdio: ["ignore", "ignore", "inherit"],
    detached: true,
  },
);
const stop = () => {
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {}
};
process.on("exit", stop);
const base = `http://127.0.0.1:${port}`;
const started = Date.now();
for (;;) {
  if (Date.now() - started > 120_000) throw new Error("wrangler dev not ready");
  try {
    if ((await fetch(`${base}/health`)).status === 204) break;
  } catch {}
  await sleep(500);
}
await sleep(3000); // wrangler restarts workerd once right after the first "Ready"
const workerds = () => descendants(child.pid).filter((p) => comm(p) === "workerd");

const rows = [];
for (const [name, label] of CASES) {
  const run = async () => {
    const res = await fetch(`${base}/run?case=${name}`, { method: "POST" });
    if (res.status !== 204) throw new Error(`${name}: ${res.status} ${await res.text()}`);
  };
  await run(); // warm-up (JIT, first allocation)
  const cpu = [];
  const wall = [];
  for (let i = 0; i < ROUNDS; i++) {
    const pids = workerds();
    const c0 = cpuSeconds(pids);
    const t0 = performance.now();
    await run();
    wall.push(performance.now() - t0);
    cpu.push((cpuSeconds(pids) - c0) * 1000);
  }
  rows.push({ name, label, cpu: median(cpu), wall: median(wall) });
  console.error(`${name}: cpu ${median(cpu).toFixed(0)} ms, wall ${median(wall).toFixed(0)} ms`);
}
stop();

const ref = rows[0].cpu;
const lines = [
  `Run: ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), load ${os.loadavg()[0].toFixed(1)}, node ${process.version}, ${ROUNDS} rounds (median)`,
  "",
  "| verifier | workerd CPU per verify (ms) | wall (ms) | × Latchkey's scrypt |",
  "|---|---:|---:|---:|",
  ...rows.map(
    (r) => `| ${r.label} | ${r.cpu.toFixed(0)} | ${r.wall.toFixed(0)} | ${(r.cpu / ref).toFixed(2)} |`,
  ),
];
console.log(lines.join("\n"));
process.exit(0);
