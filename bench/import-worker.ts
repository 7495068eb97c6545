/**
 * Bench-only Worker (not deployed): runs one password verification per request through the code a
 * login uses (src/core/passwords), for each imported-hash format at typical parameters, and
 * Latchkey's own scrypt for reference. A verification costs the same whether the password matches,
 * so hashes for parameter sets without a published vector are random bytes of the right shape.
 * GET /health answers 204; POST /run?case=<name> verifies once.
 */
import { pbkdf2Async } from "@noble/hashes/pbkdf2.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { importHash } from "../src/core/passwords/foreign";
import { createPasswordHasher } from "../src/core/passwords/hasher";

const hasher = createPasswordHasher({ logN: 14, r: 8, p: 5 }, 4);
const b64 = (n: number) =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(n)))).replace(/=+$/, "");
const bcryptHash = (cost: number) =>
  `$2b$${String(cost).padStart(2, "0")}$${"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZa".slice(0, 53)}`;
const argon = (m: number, t: number, p: number) =>
  `$argon2id$v=19$m=${m},t=${t},p=${p}$${b64(16)}$${b64(32)}`;
const pbkdf2 = (i: number) => `$pbkdf2-sha256$i=${i}$${b64(16)}$${b64(32)}`;
const firebase = () => ({
  algorithm: "firebase_scrypt" as const,
  hash: b64(64),
  salt: b64(12),
  signerKey: b64(64),
  saltSeparator: "Bw",
  rounds: 8,
  memCost: 14,
});

let own: string | undefined;
async function ownHash() {
  own ??= await hasher.hash("pw-12345678");
  return own;
}
const CASES: Record<string, () => Promise<unknown>> = {
  "latchkey-scrypt": async () => hasher.verify("pw-12345678", await ownHash()),
  "bcrypt-10": () => hasher.verify("pw-12345678", importHash(bcryptHash(10))),
  "bcrypt-12": () => hasher.verify("pw-12345678", importHash(bcryptHash(12))),
  "bcrypt-13": () => hasher.verify("pw-12345678", importHash(bcryptHash(13))),
  "argon2id-19456-2-1": () => hasher.verify("pw-12345678", importHash(argon(19456, 2, 1))),
  "argon2id-65536-3-4": () => hasher.verify("pw-12345678", importHash(argon(65536, 3, 4))),
  "firebase-scrypt-14-8": () => hasher.verify("pw-12345678", importHash(firebase())),
  "pbkdf2-100k": () => hasher.verify("pw-12345678", importHash(pbkdf2(100_000))),
  "pbkdf2-600k": () => hasher.verify("pw-12345678", importHash(pbkdf2(600_000))),
  // The path Cloudflare's runtime takes above 100,000 iterations (foreign.ts falls back to JS).
  "pbkdf2-js-100k": () =>
    pbkdf2Async(sha256, "pw-12345678", b64(16), { c: 100_000, dkLen: 32, asyncTick: 10 }),
};

export default {
  async fetch(request: Request) {
    const url = new URL(request.url);
    if (url.pathname === "/health") return new Response(null, { status: 204 });
    const run = CASES[url.searchParams.get("case") ?? ""];
    if (url.pathname === "/run" && request.method === "POST" && run) {
      try {
        await run();
      } finally {
        hasher.release();
      }
      return new Response(null, { status: 204 });
    }
    return new Response("Not Found", { status: 404 });
  },
};
