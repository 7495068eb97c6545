/**
 * Password hashes imported from other systems: bcrypt, argon2id, PBKDF2-SHA256 and Firebase's
 * modified scrypt. An imported hash is stored as `import:` + one canonical string per format, so
 * the hasher (hasher.ts) knows it is foreign and replaces it with Latchkey's scrypt at the first
 * successful login. Parameters are bounded when a hash is imported (`importHash`) and again when
 * one is verified, so no stored string can make a login cost more CPU or memory than the limits
 * below (docs/IMPORT.md has the measurements behind them). Foreign hashes see the password as the
 * client typed it (no NFKC): that is what the other system hashed.
 */
import { scrypt } from "node:crypto";
import { argon2idAsync } from "@noble/hashes/argon2.js";
import { pbkdf2Async } from "@noble/hashes/pbkdf2.js";
import { sha256 } from "@noble/hashes/sha2.js";
import bcrypt from "bcryptjs";
import { timingSafeEqual } from "../../lib/crypto";
import { utf8 } from "../../lib/encoding";

export const FOREIGN_MARKER = "import:";

/** Firebase's export gives the hash and salt per user and the rest per project ("Password hash parameters"). */
export interface FirebaseScryptInput {
  algorithm: "firebase_scrypt";
  /** base64, as in the export's passwordHash. */
  hash: string;
  /** base64, as in the export's salt. */
  salt: string;
  /** base64_signer_key of the project. */
  signerKey: string;
  /** base64_salt_separator of the project. */
  saltSeparator: string;
  rounds: number;
  memCost: number;
}

/** A self-describing hash string (bcrypt, argon2id PHC, PBKDF2 in PHC, passlib or Django form) or Firebase's parts. */
export type ForeignHashInput = string | FirebaseScryptInput;

/**
 * Upper bounds, chosen so that one verification stays within about a second of CPU on a Worker
 * (docs/IMPORT.md) and argon2id's memory leaves room in a 128 MB isolate.
 */
export const FOREIGN_LIMITS = {
  bcryptCost: { min: 4, max: 13 },
  /** KiB, and memory × passes (m × t). */
  argon2: { maxMemoryKib: 65_536, maxTime: 10, maxMemoryTimesPasses: 3 * 65_536, maxParallelism: 16 },
  pbkdf2Iterations: { min: 1_000, max: 1_500_000 },
  /** Firebase's own ranges (Admin SDK hash options: rounds 0..8, memoryCost 1..14). */
  firebase: { maxRounds: 8, maxMemCost: 14 },
} as const;

/** An imported hash that cannot be stored, with the reason to give the importer. */
export class ForeignHashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ForeignHashError";
  }
}

// --- base64 -------------------------------------------------------------------------------------

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

function fromBase64(text: string): Uint8Array | null {
  const t = text.replace(/=+$/, "");
  if (!B64.test(t) || t.length % 4 === 1) return null;
  const bin = atob(t + "=".repeat((4 - (t.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Standard base64 without padding, as PHC strings write bytes. */
function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/=+$/, "");
}

// --- parsing (import and verification share it) -------------------------------------------------

type Parsed =
  | { kind: "bcrypt"; hash: string; cost: number }
  | { kind: "argon2id"; m: number; t: number; p: number; salt: Uint8Array; hash: Uint8Array }
  | { kind: "pbkdf2-sha256"; i: number; salt: Uint8Array; hash: Uint8Array }
  | {
      kind: "firebase-scrypt";
      logN: number;
      r: number;
      signerKey: Uint8Array;
      saltSeparator: Uint8Array;
      salt: Uint8Array;
      hash: Uint8Array;
    };

const fail = (message: string): never => {
  throw new ForeignHashError(message);
};

const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

function parseBcrypt(text: string): Parsed {
  const m = BCRYPT.exec(text) ?? fail("bcrypt: expected $2a$/$2b$/$2y$, a two-digit cost and 53 characters");
  const cost = Number(m[1]);
  const { min, max } = FOREIGN_LIMITS.bcryptCost;
  if (cost < min || cost > max) fail(`bcrypt: cost ${cost} is outside ${min}..${max}`);
  // $2y$ (PHP) and $2a$ hash like $2b$ for every password shorter than 256 bytes.
  return { kind: "bcrypt", hash: `$2b$${text.slice(4)}`, cost };
}

function phcParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const pair of text.split(",")) {
    const [k, v] = pair.split("=");
    if (!k || v === undefined || params.has(k)) fail(`malformed parameters "${text.slice(0, 60)}"`);
    params.set(k!, v!);
  }
  return params;
}

const int = (v: string | undefined, what: string) =>
  v !== undefined && /^\d{1,10}$/.test(v) ? Number(v) : fail(`${what} must be a positive integer`);

const bytes = (v: string | undefined, what: string, min = 1) => {
  const b = v === undefined ? null : fromBase64(v);
  return b && b.length >= min ? b : fail(`${what} must be base64 of at least ${min} bytes`);
};

function parseArgon2id(text: string): Parsed {
  // $argon2id$v=19$m=..,t=..,p=..$salt$hash (PHC; the RFC 9106 reference CLI prints this form).
  const parts = text.split("$");
  if (parts.length !== 6 || parts[1] !== "argon2id")
    fail("argon2id: expected $argon2id$v=19$m=,t=,p=$salt$hash");
  if (parts[2] !== "v=19") fail("argon2id: only version 19 (0x13) is supported");
  const params = phcParams(parts[3]!);
  const m = int(params.get("m"), "argon2id m");
  const t = int(params.get("t"), "argon2id t");
  const p = int(params.get("p"), "argon2id p");
  const salt = bytes(parts[4], "argon2id salt", 8);
  const hash = bytes(parts[5], "argon2id hash", 4);
  const L = FOREIGN_LIMITS.argon2;
  if (p < 1 || p > L.maxParallelism) fail(`argon2id: p=${p} is outside 1..${L.maxParallelism}`);
  if (t < 1 || t > L.maxTime) fail(`argon2id: t=${t} is outside 1..${L.maxTime}`);
  if (m < 8 * p || m > L.maxMemoryKib) fail(`argon2id: m=${m} KiB is outside ${8 * p}..${L.maxMemoryKib}`);
  if (m * t > L.maxMemoryTimesPasses)
    fail(`argon2id: m×t=${m * t} exceeds ${L.maxMemoryTimesPasses} (too much CPU for one login)`);
  if (hash.length > 64) fail("argon2id: hash longer than 64 bytes");
  return { kind: "argon2id", m, t, p, salt, hash };
}

function pbkdf2Bounds(i: number, salt: Uint8Array, hash: Uint8Array): Parsed {
  const { min, max } = FOREIGN_LIMITS.pbkdf2Iterations;
  if (i < min || i > max) fail(`pbkdf2-sha256: ${i} iterations is outside ${min}..${max}`);
  if (hash.length < 16 || hash.length > 64) fail("pbkdf2-sha256: hash must be 16..64 bytes");
  return { kind: "pbkdf2-sha256", i, salt, hash };
}

/** passlib's "adapted base64": '.' for '+', no padding. */
const ab64 = (v: string | undefined, what: string) => bytes(v?.replace(/\./g, "+"), what);

function parsePbkdf2(text: string): Parsed {
  if (text.startsWith("pbkdf2_sha256$")) {
    // Django: pbkdf2_sha256$<iterations>$<salt as text>$<base64 hash>
    const parts = text.split("$");
    if (parts.length !== 4 || !parts[2])
      fail("pbkdf2_sha256 (Django): expected pbkdf2_sha256$iterations$salt$hash");
    return pbkdf2Bounds(int(parts[1], "pbkdf2 iterations"), utf8(parts[2]!), bytes(parts[3], "pbkdf2 hash"));
  }
  const parts = text.split("$");
  if (parts.length !== 5 || parts[1] !== "pbkdf2-sha256")
    fail("pbkdf2-sha256: expected $pbkdf2-sha256$i=<iterations>$salt$hash");
  if (/^\d+$/.test(parts[2]!)) {
    // passlib: $pbkdf2-sha256$<iterations>$<ab64 salt>$<ab64 hash>
    return pbkdf2Bounds(Number(parts[2]), ab64(parts[3], "pbkdf2 salt"), ab64(parts[4], "pbkdf2 hash"));
  }
  const params = phcParams(parts[2]!);
  const hash = bytes(parts[4], "pbkdf2 hash");
  if (params.has("l") && int(params.get("l"), "pbkdf2 l") !== hash.length)
    fail("pbkdf2-sha256: l does not match the hash length");
  return pbkdf2Bounds(int(params.get("i"), "pbkdf2 i"), bytes(parts[3], "pbkdf2 salt"), hash);
}

function firebaseBounds(p: Omit<Extract<Parsed, { kind: "firebase-scrypt" }>, "kind">): Parsed {
  const L = FOREIGN_LIMITS.firebase;
  if (p.r < 1 || p.r > L.maxRounds) fail(`firebase_scrypt: rounds ${p.r} is outside 1..${L.maxRounds}`);
  if (p.logN < 1 || p.logN > L.maxMemCost)
    fail(`firebase_scrypt: mem_cost ${p.logN} is outside 1..${L.maxMemCost}`);
  if (p.hash.length !== p.signerKey.length) fail("firebase_scrypt: hash and signer key lengths differ");
  return { kind: "firebase-scrypt", ...p };
}

/** The stored form, without the marker: `$firebase-scrypt$ln=,r=,ss=,sk=$salt$hash`. */
function parseFirebaseStored(text: string): Parsed {
  const parts = text.split("$");
  if (parts.length !== 5) fail("firebase-scrypt: malformed");
  const params = phcParams(parts[2]!);
  return firebaseBounds({
    logN: int(params.get("ln"), "ln"),
    r: int(params.get("r"), "r"),
    saltSeparator: bytes(params.get("ss"), "salt separator", 0),
    signerKey: bytes(params.get("sk"), "signer key"),
    salt: bytes(parts[3], "salt"),
    hash: bytes(parts[4], "hash"),
  });
}

function parse(text: string): Parsed {
  if (text.startsWith("$2")) return parseBcrypt(text);
  if (text.startsWith("$argon2")) {
    if (!text.startsWith("$argon2id$")) fail("only argon2id is supported (not argon2i or argon2d)");
    return parseArgon2id(text);
  }
  if (text.startsWith("$pbkdf2-sha256$") || text.startsWith("pbkdf2_sha256$")) return parsePbkdf2(text);
  if (text.startsWith("$firebase-scrypt$")) return parseFirebaseStored(text);
  return fail(
    "unrecognised password hash: expected bcrypt ($2a$/$2b$/$2y$), argon2id ($argon2id$), PBKDF2-SHA256 ($pbkdf2-sha256$ or Django's pbkdf2_sha256$) or firebase_scrypt",
  );
}

function format(p: Parsed): string {
  switch (p.kind) {
    case "bcrypt":
      return p.hash;
    case "argon2id":
      return `$argon2id$v=19$m=${p.m},t=${p.t},p=${p.p}$${toBase64(p.salt)}$${toBase64(p.hash)}`;
    case "pbkdf2-sha256":
      return `$pbkdf2-sha256$i=${p.i}$${toBase64(p.salt)}$${toBase64(p.hash)}`;
    case "firebase-scrypt":
      return `$firebase-scrypt$ln=${p.logN},r=${p.r},ss=${toBase64(p.saltSeparator)},sk=${toBase64(p.signerKey)}$${toBase64(p.salt)}$${toBase64(p.hash)}`;
  }
}

/**
 * Checks an imported hash and its parameters and returns what to store in `password_hash`;
 * ForeignHashError (with a message for the importer) when the format is unknown, malformed or
 * over the limits.
 */
export function importHash(input: ForeignHashInput): string {
  if (typeof input === "string") {
    if (input.length > 1024) fail("password hash longer than 1024 characters");
    if (input.startsWith("$firebase-scrypt$"))
      fail("give firebase_scrypt hashes as an object with their parameters");
    return FOREIGN_MARKER + format(parse(input.trim()));
  }
  if (input?.algorithm !== "firebase_scrypt") fail(`unsupported algorithm "${String(input?.algorithm)}"`);
  const num = (v: unknown, what: string) =>
    Number.isInteger(v) ? (v as number) : fail(`firebase_scrypt: ${what} must be an integer`);
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  return (
    FOREIGN_MARKER +
    format(
      firebaseBounds({
        logN: num(input.memCost, "mem_cost"),
        r: num(input.rounds, "rounds"),
        saltSeparator: bytes(str(input.saltSeparator), "salt_separator", 0),
        signerKey: bytes(str(input.signerKey), "signer_key"),
        salt: bytes(str(input.salt), "salt"),
        hash: bytes(str(input.hash), "hash"),
      }),
    )
  );
}

export const isForeignHash = (stored: string) => stored.startsWith(FOREIGN_MARKER);

// --- verification -------------------------------------------------------------------------------

/** Lets other requests of the isolate run between chunks of a pure-JS hash (milliseconds). */
const ASYNC_TICK = 10;

/** PBKDF2-HMAC-SHA256; `subtle` is the runtime's WebCrypto (a parameter so the JS fallback can be tested). */
export async function pbkdf2Sha256(
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  len: number,
  subtle: SubtleCrypto = crypto.subtle,
): Promise<Uint8Array> {
  try {
    const key = await subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
    const bits = await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, len * 8);
    return new Uint8Array(bits);
  } catch (e) {
    // Cloudflare's runtime refuses more than 100,000 iterations in WebCrypto and node:crypto
    // (workerd's limit-enforcer; open-source workerd has no cap): those run in JavaScript.
    if ((e as Error).name !== "NotSupportedError") throw e;
    return pbkdf2Async(sha256, password, salt, { c: iterations, dkLen: len, asyncTick: ASYNC_TICK });
  }
}

function scryptNative(password: Uint8Array, salt: Uint8Array, logN: number, r: number): Promise<Uint8Array> {
  const N = 2 ** logN;
  const maxmem = 128 * r * (N + 3) + 1024 * 1024;
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, { N, r, p: 1, maxmem }, (err, key) =>
      err ? reject(err) : resolve(new Uint8Array(key)),
    ),
  );
}

async function firebaseScrypt(password: Uint8Array, p: Extract<Parsed, { kind: "firebase-scrypt" }>) {
  // firebase/scrypt: the scrypt key of (password, salt ‖ separator) encrypts the project's signer
  // key with AES-256-CTR and a zero IV; the ciphertext is the stored hash.
  const salt = new Uint8Array(p.salt.length + p.saltSeparator.length);
  salt.set(p.salt);
  salt.set(p.saltSeparator, p.salt.length);
  const derived = await scryptNative(password, salt, p.logN, p.r);
  const key = await crypto.subtle.importKey("raw", derived, "AES-CTR", false, ["encrypt"]);
  const out = await crypto.subtle.encrypt(
    { name: "AES-CTR", counter: new Uint8Array(16), length: 128 },
    key,
    p.signerKey,
  );
  return new Uint8Array(out);
}

/**
 * Verifies `password` against a stored foreign hash (with its marker). Null when the stored
 * string is not a valid foreign hash (the caller then spends a dummy hash).
 */
export async function verifyForeign(password: string, stored: string): Promise<boolean | null> {
  let p: Parsed;
  try {
    p = parse(stored.slice(FOREIGN_MARKER.length));
  } catch (e) {
    if (e instanceof ForeignHashError) return null;
    throw e;
  }
  const pw = utf8(password);
  // Prevent any possibility of a timing attack by using a constant-time comparison.
  switch (p.kind) {
    case "bcrypt":
      return bcrypt.compare(password, p.hash);
    case "argon2id":
      return timingSafeEqual(
        await argon2idAsync(pw, p.salt, {
          m: p.m,
          t: p.t,
          p: p.p,
          dkLen: p.hash.length,
          version: 0x13,
          maxmem: (p.m + 1024) * 1024,
          asyncTick: ASYNC_TICK,
        }),
        p.hash,
      );
    case "pbkdf2-sha256":
      return timingSafeEqual(await pbkdf2Sha256(pw, p.salt, p.i, p.hash.length), p.hash);
    case "firebase-scrypt":
      return timingSafeEqual(await firebaseScrypt(pw, p), p.hash);
  }
}
