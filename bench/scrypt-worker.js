/**
 * Bench-only Worker (not deployed): one scrypt hash per request with the parameters Latchkey uses
 * for passwords (N=2^14, r=8, p=5, 32-byte key, 16-byte random salt), through the same native
 * node:crypto call as src/core/passwords, so `npm run bench` can compare a login against the bare
 * hash inside the same runtime. GET /health answers {"status":"ok"} as the Worker does; POST /hash derives one key.
 */
import { scrypt } from "node:crypto";

const N = 2 ** 14;
const R = 8;
const P = 5;
const KEY_LEN = 32;
const SALT_LEN = 16;
const MAXMEM = 128 * R * (N + P + 2) + 1024 * 1024;

function derive(password, salt) {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFKC"), salt, KEY_LEN, { N, r: R, p: P, maxmem: MAXMEM }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    // The same answer as the Worker's /health, so the floor measures the same bytes.
    if (pathname === "/health")
      return new Response('{"status":"ok"}', { headers: { "Content-Type": "application/json" } });
    if (pathname === "/hash" && request.method === "POST") {
      const { password } = await request.json();
      const salt = crypto.getRandomValues(new Uint8Array(SALT_LEN));
      const key = await derive(password, salt);
      return Response.json({ length: key.length });
    }
    return new Response("Not Found", { status: 404 });
  },
};
