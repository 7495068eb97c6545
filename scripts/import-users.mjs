#!/usr/bin/env node
// node scripts/import-users.mjs FILE --url https://auth.example.com [--key KEY] [--chunk 500]
//                               [--firebase-params hash_config.json] [--out results.jsonl] [--dry-run]
//
// Posts users from another system to POST /v1/admin/users/import in chunks (docs/IMPORT.md). FILE is
//   - JSON: an array of rows, or {"users": [...]}: rows in the endpoint's shape (email, email_verified,
//     display_name, roles, default_role, metadata, active, password_hash);
//   - Firebase's `firebase auth:export users.json` output ({"users": [{localId, email, emailVerified,
//     passwordHash, salt, displayName, ...}]}), recognised by its localId fields; give the project's
//     "Password hash parameters" with --firebase-params (a JSON file with base64_signer_key,
//     base64_salt_separator, rounds, mem_cost, as the console shows them);
//   - CSV (.csv): a header row naming the columns email, email_verified, display_name, password_hash,
//     default_role, roles (separated by ";"); values may be double-quoted.
// The admin key comes from --key or LATCHKEY_ADMIN_KEY (ADMIN_API_KEY of the Worker, or an admin
// user's access token). Every row's result is written to --out (JSON lines, default
// import-results.jsonl); a summary goes to stderr. Exit code 1 when a row was invalid or a chunk failed.
// The endpoint answers per row, so running the same file again is safe: imported rows answer "exists".
import { readFileSync, writeFileSync } from "node:fs";

const MAX_CHUNK = 500;

function parseArgs(argv) {
  const opts = { chunk: MAX_CHUNK, out: "import-results.jsonl", key: process.env.LATCHKEY_ADMIN_KEY };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--url") opts.url = next();
    else if (a === "--key") opts.key = next();
    else if (a === "--chunk") opts.chunk = Number(next());
    else if (a === "--firebase-params") opts.firebaseParams = next();
    else if (a === "--out") opts.out = next();
    else if (a === "--dry-run") opts.dryRun = true;
    else if (a.startsWith("--")) throw new Error(`unknown option ${a}`);
    else rest.push(a);
  }
  if (rest.length !== 1) throw new Error("give one input file");
  opts.file = rest[0];
  if (!Number.isInteger(opts.chunk) || opts.chunk < 1 || opts.chunk > MAX_CHUNK)
    throw new Error(`--chunk must be 1..${MAX_CHUNK}`);
  if (!opts.dryRun && !opts.url) throw new Error("--url is required");
  if (!opts.dryRun && !opts.key) throw new Error("--key or LATCHKEY_ADMIN_KEY is required");
  return opts;
}

/** RFC 4180-style CSV: commas, double quotes ("" inside quotes), CRLF or LF. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === "") quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      field = "";
      if (row.some((f) => f !== "")) rows.push(row);
      row = [];
    } else field += ch;
  }
  row.push(field);
  if (row.some((f) => f !== "")) rows.push(row);
  const [header, ...data] = rows;
  if (!header) return [];
  const names = header.map((h) => h.trim());
  return data.map((cells) => {
    const out = {};
    names.forEach((name, i) => {
      const v = (cells[i] ?? "").trim();
      if (v === "") return;
      if (name === "email_verified" || name === "active") out[name] = /^(true|1|yes)$/i.test(v);
      else if (name === "roles")
        out.roles = v
          .split(";")
          .map((r) => r.trim())
          .filter(Boolean);
      else out[name] = v;
    });
    return out;
  });
}

/** Firebase auth:export rows -> the endpoint's rows, with the project's hash parameters. */
export function fromFirebase(users, params) {
  return users.map((u) => {
    const row = { email: u.email, email_verified: u.emailVerified === true };
    if (u.displayName) row.display_name = u.displayName;
    if (u.photoUrl) row.avatar_url = u.photoUrl;
    if (u.disabled === true) row.active = false;
    row.metadata = { firebase_uid: u.localId };
    if (u.passwordHash) {
      if (!params) throw new Error("the export has password hashes: give --firebase-params");
      row.password_hash = {
        algorithm: "firebase_scrypt",
        hash: u.passwordHash,
        salt: u.salt ?? "",
        signer_key: params.base64_signer_key,
        salt_separator: params.base64_salt_separator,
        rounds: Number(params.rounds),
        mem_cost: Number(params.mem_cost),
      };
    }
    return row;
  });
}

export function readRows(file, firebaseParams) {
  const text = readFileSync(file, "utf8");
  if (file.toLowerCase().endsWith(".csv")) return parseCsv(text);
  const parsed = JSON.parse(text);
  const users = Array.isArray(parsed) ? parsed : parsed.users;
  if (!Array.isArray(users)) throw new Error('expected a JSON array of users or {"users": [...]}');
  if (users.some((u) => u && typeof u === "object" && "localId" in u)) {
    const params = firebaseParams ? JSON.parse(readFileSync(firebaseParams, "utf8")) : null;
    return fromFirebase(users, params);
  }
  return users;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const rows = readRows(opts.file, opts.firebaseParams);
  const counts = { created: 0, exists: 0, duplicate: 0, invalid: 0, failed: 0 };
  const lines = [];
  for (let start = 0; start < rows.length; start += opts.chunk) {
    const chunk = rows.slice(start, start + opts.chunk);
    if (opts.dryRun) {
      console.error(`chunk ${start}..${start + chunk.length - 1}: ${chunk.length} rows (dry run)`);
      continue;
    }
    const res = await fetch(new URL("/v1/admin/users/import", opts.url), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${opts.key}` },
      body: JSON.stringify({ users: chunk }),
    });
    const body = await res.json().catch(() => null);
    if (!res.ok || !Array.isArray(body?.results)) {
      counts.failed += chunk.length;
      console.error(
        `chunk ${start}..${start + chunk.length - 1}: HTTP ${res.status} ${JSON.stringify(body?.error ?? body)}`,
      );
      for (let i = 0; i < chunk.length; i++)
        lines.push(JSON.stringify({ row: start + i, status: "failed", http: res.status }));
      continue;
    }
    for (const r of body.results) {
      counts[r.status] = (counts[r.status] ?? 0) + 1;
      lines.push(JSON.stringify({ ...r, row: start + r.index }));
    }
    console.error(`chunk ${start}..${start + chunk.length - 1}: ${JSON.stringify(tally(body.results))}`);
  }
  if (!opts.dryRun) writeFileSync(opts.out, lines.length ? `${lines.join("\n")}\n` : "");
  console.error(
    `${rows.length} rows: ${JSON.stringify(counts)}${opts.dryRun ? "" : `; results in ${opts.out}`}`,
  );
  process.exitCode = counts.invalid || counts.failed ? 1 : 0;
}

function tally(results) {
  const t = {};
  for (const r of results) t[r.status] = (t[r.status] ?? 0) + 1;
  return t;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(`import-users: ${e.message}`);
    process.exit(2);
  });
}
