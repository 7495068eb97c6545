#!/usr/bin/env node
/**
 * `npm run bench:storage` (issue 3, DESIGN.md §10): storage and image figures, measured side by side
 * in one run against `wrangler dev`, written to bench/STORAGE-RESULTS.md:
 *   - first transform of a 2000x1500 JPEG to w=800&f=webp&q=80 (wall time; workerd CPU);
 *   - a cached variant against a plain file GET of the same size (throughput ratio, target >= 0.9x);
 *   - zip of a 300 MB directory: throughput, and growth of the workerd processes' memory (target < 64 MB);
 *   - memory growth while one 50 MB file is uploaded (streaming: growth must be far below 50 MB);
 *   - bundle size (gzip) from `wrangler deploy --dry-run` (target < 1 MiB).
 * Kept apart from bench/run.mjs (another engineer's file); its functions can be moved into BENCHES.
 * Options: --quick (smaller sizes, a smoke run; figures not meaningful).
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { crc32, deflateSync, gzipSync } from "node:zlib";
import autocannon from "autocannon";
import { developmentVars } from "../scripts/dev-vars.mjs";
import { comm, descendants, freePort } from "./proc.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const WRANGLER = path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const OUT = path.join(ROOT, "bench", "STORAGE-RESULTS.md");
const QUICK = process.argv.includes("--quick");
const ZIP_FILES = QUICK ? 4 : 30;
const ZIP_FILE_MB = 10;
const UPLOAD_MB = Number(process.env.BENCH_UPLOAD_MB ?? (QUICK ? 12 : 50));
const TPUT_S = QUICK ? 2 : 5;
/** BENCH_ONLY=image,upload,zip,bundle runs a subset (STORAGE-RESULTS.md is then left alone). */
const ONLY = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(",") : null;
const want = (name) => !ONLY || ONLY.includes(name);

const log = (m) => process.stdout.write(`[bench:storage] ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tmp = (p) => fs.mkdtempSync(path.join(os.tmpdir(), `latchkey-storage-${p}-`));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const run = (args, env = {}) => {
  const r = spawnSync(process.execPath, [WRANGLER, ...args], {
    cwd: ROOT,
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", ...env },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`wrangler ${args.join(" ")}: ${r.stderr || r.stdout}`);
  return r.stdout;
};

/** Resident memory of the workerd processes, bytes. */
function workerdRss(server) {
  let total = 0;
  for (const pid of descendants(server.child.pid).filter((p) => comm(p) === "workerd")) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) total += Number(m[1]) * 1024;
    } catch {}
  }
  return total;
}
const TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
function workerdCpu(server) {
  let t = 0;
  for (const pid of descendants(server.child.pid).filter((p) => comm(p) === "workerd")) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      t += (Number(f[11]) + Number(f[12])) / TCK;
    } catch {}
  }
  return t;
}

/** Samples workerd RSS every 50 ms while `work` runs; resolves to {result, peakGrowth}. */
async function withPeakRss(server, work) {
  const base = workerdRss(server);
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, workerdRss(server));
  }, 50);
  try {
    const result = await work();
    peak = Math.max(peak, workerdRss(server));
    return { result, base, peakGrowth: peak - base };
  } finally {
    clearInterval(timer);
  }
}

/**
 * Builds the Worker once (`wrangler deploy --dry-run`) and serves that snapshot with `--no-bundle`, so
 * edits to the shared work tree during the run do not reload it mid-request.
 */
function buildSnapshot() {
  const dir = tmp("build");
  run(["deploy", "--dry-run", "--outdir", dir]);
  const toml = fs.readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  const built = fs.readdirSync(dir).find((f) => /\.m?js$/.test(f));
  fs.writeFileSync(path.join(dir, "wrangler.toml"), toml.replace(/^main\s*=.*$/m, `main = "${built}"`));
  fs.cpSync(path.join(ROOT, "migrations"), path.join(dir, "migrations"), { recursive: true });
  return dir;
}

async function startDev(snapshot, vars) {
  const port = await freePort();
  const persist = tmp("state");
  const config = path.join(snapshot, "wrangler.toml");
  run(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist, "--config", config]);
  const logFile = path.join(tmp("log"), "wrangler.log");
  const fd = fs.openSync(logFile, "a");
  const child = spawn(
    process.execPath,
    [
      WRANGLER,
      "dev",
      "--config",
      config,
      "--no-bundle",
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      persist,
      "--log-level",
      "warn",
      ...Object.entries({ ...developmentVars(`http://127.0.0.1:${port}`), ...vars }).flatMap(([k, v]) => [
        "--var",
        `${k}:${v}`,
      ]),
    ],
    {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`wrangler dev exited:\n${fs.readFileSync(logFile, "utf8").slice(-2000)}`);
    if (Date.now() - t0 > 120_000) throw new Error("wrangler dev not ready");
    try {
      const r = await fetch(`${url}/health`);
      if (r.status === 200) break;
    } catch {}
    await sleep(300);
  }
  await sleep(3000); // wrangler restarts workerd once right after the first "Ready"
  return { url, child, logFile };
}

function stop(server) {
  try {
    process.kill(-server.child.pid, "SIGKILL");
  } catch {}
}

// --- fixtures ------------------------------------------------------------------------------------

/** A 2000x1500 photo-like PNG (smooth gradients plus noise), written with zlib. */
function photoPng(w, h) {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed % 24) - 12;
  };
  for (let y = 0; y < h; y++) {
    const row = y * (w * 3 + 1);
    raw[row] = 0;
    for (let x = 0; x < w; x++) {
      const o = row + 1 + x * 3;
      const v = Math.sin(x / 90) * Math.cos(y / 70);
      raw[o] = Math.max(0, Math.min(255, 128 + 100 * v + rnd()));
      raw[o + 1] = Math.max(0, Math.min(255, (x * 255) / w + rnd()));
      raw[o + 2] = Math.max(0, Math.min(255, (y * 255) / h + rnd()));
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 6 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

async function session(url) {
  const r = await fetch(`${url}/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      email: `bench-${Date.now()}-${Math.random()}@example.com`,
      password: "correct horse battery",
      cookie: false,
    }),
  });
  const b = await r.json();
  if (!b.jwt_token) throw new Error(`register: ${JSON.stringify(b)}`);
  return { jwt: b.jwt_token, userId: b.user.id };
}

async function upload(url, jwt, key, bytes, name = "f.bin") {
  const form = new FormData();
  form.append("file", new File([bytes], name));
  const r = await fetch(`${url}/storage/o/${key}`, {
    method: "POST",
    body: form,
    headers: { authorization: `Bearer ${jwt}` },
  });
  const b = await r.json();
  if (r.status !== 200) throw new Error(`upload ${key}: ${r.status} ${JSON.stringify(b)}`);
  return b;
}

/** A body of `size` bytes produced in 1 MiB chunks, so this process does not hold it either. */
function streamedMultipart(size) {
  const boundary = "benchboundary7f3a";
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  let sent = 0;
  const body = new ReadableStream({
    pull(ctl) {
      if (sent === 0) ctl.enqueue(head);
      if (sent < size) {
        const n = Math.min(chunk.length, size - sent);
        ctl.enqueue(chunk.subarray(0, n));
        sent += n;
      } else {
        ctl.enqueue(tail);
        ctl.close();
      }
    },
  });
  return {
    body,
    type: `multipart/form-data; boundary=${boundary}`,
    length: head.length + size + tail.length,
  };
}

async function tput(url, headers) {
  const r = await autocannon({ url, connections: 10, duration: TPUT_S, headers });
  return { rps: r.requests.average, non2xx: r.non2xx, errors: r.errors };
}

// --- benches --------------------------------------------------------------------------------------

const rows = [];
const row = (bench, figure, result, target = "", met = "") =>
  rows.push({ bench, figure, result, target, met });

async function main() {
  const started = Date.now();
  const snapshot = buildSnapshot();
  const server = await startDev(snapshot, {
    AUTO_ACTIVATE_NEW_USERS: "true",
    RATE_LIMITS_ENABLED: "false",
    STORAGE_ZIP_MAX_BYTES: String(400 * 1024 * 1024),
  });
  log(`wrangler dev at ${server.url}`);
  try {
    const { jwt, userId } = await session(server.url);
    const auth = { authorization: `Bearer ${jwt}` };

    if (want("image")) {
      // 1. First transform of a 2000x1500 JPEG. The JPEG itself is made by the Worker (PNG -> ?f=jpeg&q=90).
      log("image: preparing a 2000x1500 JPEG");
      await upload(server.url, jwt, `user/${userId}/bench/src.png`, photoPng(2000, 1500), "src.png");
      const jr = await fetch(`${server.url}/storage/o/user/${userId}/bench/src.png?f=jpeg&q=90`, {
        headers: auth,
      });
      const jpeg = new Uint8Array(await jr.arrayBuffer());
      const sources = QUICK ? 3 : 7;
      const times = [];
      const cpus = [];
      let variantBytes = null;
      for (let i = 0; i < sources; i++) {
        const key = `public/bench-${userId}/photo${i}.jpg`;
        await upload(server.url, jwt, key, jpeg, "photo.jpg");
        const c0 = workerdCpu(server);
        const t0 = performance.now();
        const r = await fetch(`${server.url}/storage/o/${key}?w=800&f=webp&q=80`);
        const body = new Uint8Array(await r.arrayBuffer());
        times.push(performance.now() - t0);
        cpus.push((workerdCpu(server) - c0) * 1000);
        if (r.status !== 200) throw new Error(`variant: ${r.status}`);
        variantBytes = body;
      }
      row(
        "Image variant, first transform",
        `2000x1500 JPEG (${(jpeg.length / 1024).toFixed(0)} KiB) -> w=800&f=webp&q=80, median of ${sources} fresh sources (ms, wall)`,
        median(times).toFixed(0),
      );
      row(
        "Image variant, first transform",
        "workerd CPU per first transform, median (ms)",
        median(cpus).toFixed(0),
      );
      row("Image variant, first transform", "output size (KiB)", (variantBytes.length / 1024).toFixed(1));

      // 2. Cached variant vs a plain GET of a file of the same size (both public, so no JWT cost in either).
      const variantUrl = `${server.url}/storage/o/public/bench-${userId}/photo0.jpg?w=800&f=webp&q=80`;
      await upload(server.url, jwt, `public/bench-${userId}/same-size.webp`, variantBytes, "same-size.webp");
      const plainUrl = `${server.url}/storage/o/public/bench-${userId}/same-size.webp`;
      await tput(variantUrl, {});
      await tput(plainUrl, {});
      const v = [];
      const p = [];
      for (let i = 0; i < (QUICK ? 1 : 5); i++) {
        v.push((await tput(variantUrl, {})).rps);
        p.push((await tput(plainUrl, {})).rps);
      }
      const ratio = median(v) / median(p);
      row(
        "Cached variant vs plain file GET",
        "cached variant req/s (median of rounds, 10 connections)",
        median(v).toFixed(0),
      );
      row(
        "Cached variant vs plain file GET",
        `plain GET of a file of the same size (${(variantBytes.length / 1024).toFixed(1)} KiB) req/s`,
        median(p).toFixed(0),
      );
      row(
        "Cached variant vs plain file GET",
        "ratio",
        `${ratio.toFixed(2)}x`,
        ">= 0.9x",
        ratio >= 0.9 ? "yes" : "no",
      );
    }

    if (want("upload")) {
      // 3. Upload memory: 50 MB and then 10 MB files streamed in, three of each (the very first upload
      // also pays for warming up). Streaming shows as growth that does not scale with the file size.
      const uploadRun = async (mb, i) => {
        const mp = streamedMultipart(mb * 1024 * 1024);
        const up = await withPeakRss(server, async () => {
          const t0 = performance.now();
          const r = await fetch(`${server.url}/storage/o/user/${userId}/bench/upload-${mb}-${i}.bin`, {
            method: "POST",
            body: mp.body,
            duplex: "half",
            headers: { ...auth, "content-type": mp.type },
          });
          const b = await r.json();
          if (r.status !== 200) throw new Error(`upload: ${JSON.stringify(b)}`);
          return performance.now() - t0;
        });
        await sleep(1000);
        return { mb: up.peakGrowth / 1e6, s: up.result / 1000 };
      };
      const big = [];
      const small = [];
      for (let i = 0; i < 3; i++) big.push(await uploadRun(UPLOAD_MB, i));
      for (let i = 0; i < 3; i++) small.push(await uploadRun(Math.round(UPLOAD_MB / 5), i));
      const bigSteady = Math.max(big[1].mb, big[2].mb);
      const smallSteady = Math.max(...small.map((x) => x.mb));
      row(
        "Upload",
        `${UPLOAD_MB} MB streamed multipart upload: time (s), median of 3`,
        median(big.map((x) => x.s)).toFixed(2),
      );
      row(
        "Upload",
        "workerd RSS growth, first upload (MB; includes warm-up, and local R2, which miniflare runs as JS in the same workerd)",
        big[0].mb.toFixed(1),
      );
      row(
        "Upload",
        `workerd RSS growth, 2nd and 3rd ${UPLOAD_MB} MB uploads (MB, max)`,
        bigSteady.toFixed(1),
        "does not scale with size",
      );
      row(
        "Upload",
        `workerd RSS growth, three ${Math.round(UPLOAD_MB / 5)} MB uploads (MB, max)`,
        smallSteady.toFixed(1),
        `5x the size: well under 5x the growth`,
        bigSteady < 2.5 * Math.max(smallSteady, 4) ? "yes" : "no",
      );
    }

    if (want("zip")) {
      // 4. Zip of a 300 MB directory.
      log(`zip: uploading ${ZIP_FILES} x ${ZIP_FILE_MB} MB`);
      const file = new Uint8Array(ZIP_FILE_MB * 1024 * 1024);
      for (let i = 0; i < file.length; i += 4096) file[i] = i & 0xff;
      for (let i = 0; i < ZIP_FILES; i++)
        await upload(server.url, jwt, `user/${userId}/zipdir/f${i}.bin`, file, "f.bin");
      await sleep(1000);
      const zipped = await withPeakRss(server, async () => {
        const t0 = performance.now();
        const r = await fetch(`${server.url}/storage/o/user/${userId}/zipdir/`, { headers: auth });
        if (r.status !== 200) throw new Error(`zip: ${r.status} ${await r.text()}`);
        let bytes = 0;
        for await (const chunk of r.body) bytes += chunk.length;
        return { bytes, ms: performance.now() - t0 };
      });
      const total = ZIP_FILES * ZIP_FILE_MB * 1024 * 1024;
      if (zipped.result.bytes < total) throw new Error(`zip too short: ${zipped.result.bytes}`);
      row(
        "Directory zip",
        `${(total / 1e6).toFixed(0)} MB in ${ZIP_FILES} files: throughput (MB/s)`,
        (zipped.result.bytes / 1e6 / (zipped.result.ms / 1000)).toFixed(0),
      );
      row(
        "Directory zip",
        "workerd RSS growth while zipping (MB)",
        (zipped.peakGrowth / 1e6).toFixed(1),
        "< 64",
        zipped.peakGrowth < 64e6 ? "yes" : "no",
      );
      // Control: the same files by plain GETs one after another, so that what local R2 and wrangler's
      // proxy add to workerd's memory can be told apart from what the zip itself holds.
      const plain = await withPeakRss(server, async () => {
        const t0 = performance.now();
        let bytes = 0;
        for (let i = 0; i < ZIP_FILES; i++) {
          const r = await fetch(`${server.url}/storage/o/user/${userId}/zipdir/f${i}.bin`, { headers: auth });
          for await (const chunk of r.body) bytes += chunk.length;
        }
        return { bytes, ms: performance.now() - t0 };
      });
      row(
        "Directory zip",
        "control: the same files by plain GETs (MB/s)",
        (plain.result.bytes / 1e6 / (plain.result.ms / 1000)).toFixed(0),
      );
      row(
        "Directory zip",
        "control: workerd RSS growth during those plain GETs (MB)",
        (plain.peakGrowth / 1e6).toFixed(1),
      );
    }
  } finally {
    stop(server);
  }

  if (want("bundle")) {
    // 5. Bundle size (of the snapshot that was served).
    const outdir = snapshot;
    let raw = 0;
    let gz = 0;
    for (const f of fs.readdirSync(outdir, { recursive: true })) {
      const p = path.join(outdir, f);
      if (!fs.statSync(p).isFile() || /\.(map|toml|sql)$/.test(f) || f.startsWith("migrations")) continue;
      const b = fs.readFileSync(p);
      raw += b.length;
      gz += gzipSync(b, { level: 9 }).length;
    }
    row("Bundle", "whole Worker incl. WASM codecs, uncompressed (KiB)", (raw / 1024).toFixed(0));
    row(
      "Bundle",
      "whole Worker incl. WASM codecs, gzip (KiB)",
      (gz / 1024).toFixed(0),
      "< 1024",
      gz < 1024 * 1024 ? "yes" : "no",
    );
  }

  const load = os.loadavg()[0].toFixed(2);
  const md = [
    "# Storage benchmark results",
    "",
    "Written by `npm run bench:storage` (bench/storage.mjs). Absolute numbers from a shared 2-core machine are",
    "noise; the ratios measured side by side are the figures that count.",
    "",
    `Date ${new Date().toISOString()} (run took ${((Date.now() - started) / 1000).toFixed(0)} s), ${os.cpus()[0]?.model ?? "?"} x${os.availableParallelism()}, load ${load}, Node ${process.version}${QUICK ? ", **--quick (smoke run)**" : ""}.`,
    "Requests go through `wrangler dev` (local R2/D1, rate limits off). Memory is the resident size of the",
    "workerd processes sampled every 50 ms (peak minus the value before the step). The JPEG source is made",
    "by the Worker itself from a generated 2000x1500 photo-like PNG (`?f=jpeg&q=90`).",
    "",
    "| Benchmark | Figure | Result | Target | Met |",
    "|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.bench} | ${r.figure} | ${r.result} | ${r.target} | ${r.met} |`),
    "",
  ].join("\n");
  if (!ONLY) {
    fs.writeFileSync(OUT, md);
    // Biome formats Markdown tables too; keep the file as `npm run check` wants it.
    spawnSync(
      process.execPath,
      [path.join(ROOT, "node_modules/@biomejs/biome/bin/biome"), "format", "--write", OUT],
      {
        stdio: "ignore",
      },
    );
  }
  process.stdout.write(`${md}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
