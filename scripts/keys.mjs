#!/usr/bin/env node
// `npm run keys [-- --alg ES256|RS256|HS512] [--kid NAME] [--add-to FILE] [--format env|json]`
//
// Makes the two production secrets: LATCHKEY_SECRET (32 random bytes, base64url: the root the
// TOTP, passcode and token keys are derived from) and JWT_PRIVATE_KEYS (a JWK set with one new
// private signing key). With --add-to FILE (a JWK set, e.g. the current JWT_PRIVATE_KEYS saved to a
// file), the new key is appended to that set instead, for rotation: deploy the set with
// JWT_SIGNING_KID still naming the old key, wait at least a day (verifiers cache the JWKS), then
// switch JWT_SIGNING_KID to the new kid. Output is dotenv (default, for .dev.vars) or JSON (for
// `wrangler secret bulk`). Nothing is written anywhere else.
import { randomBytes, webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";

export async function makeSigningKey(alg = "ES256", kid = defaultKid()) {
  const params = {
    ES256: { name: "ECDSA", namedCurve: "P-256" },
    RS256: {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    HS512: { name: "HMAC", hash: "SHA-512", length: 512 },
  }[alg];
  if (!params) throw new Error(`unknown algorithm ${alg} (ES256, RS256 or HS512)`);
  const generated = await webcrypto.subtle.generateKey(params, true, ["sign", "verify"]);
  const jwk = await webcrypto.subtle.exportKey("jwk", generated.privateKey ?? generated);
  delete jwk.key_ops;
  delete jwk.ext;
  return { ...jwk, kid, alg, use: "sig" };
}

export function makeRootSecret() {
  return randomBytes(32).toString("base64url");
}

/** The two secrets every production Worker needs: a root secret and a one-key signing set. */
export async function makeProductionSecrets() {
  return {
    LATCHKEY_SECRET: makeRootSecret(),
    JWT_PRIVATE_KEYS: JSON.stringify({ keys: [await makeSigningKey()] }),
  };
}

function defaultKid() {
  return `k-${new Date().toISOString().slice(0, 10).replaceAll("-", "")}-${randomBytes(3).toString("hex")}`;
}

async function main(argv) {
  const opt = (name) => {
    const i = argv.indexOf(name);
    return i === -1 ? undefined : argv[i + 1];
  };
  const alg = opt("--alg") ?? "ES256";
  const format = opt("--format") ?? "env";
  const key = await makeSigningKey(alg, opt("--kid") ?? defaultKid());
  const addTo = opt("--add-to");
  const set = addTo ? JSON.parse(readFileSync(addTo, "utf8")) : { keys: [] };
  if (!Array.isArray(set.keys)) throw new Error(`${addTo}: not a JWK set ({"keys":[...]})`);
  if (set.keys.some((k) => k.kid === key.kid)) throw new Error(`${addTo}: already has a key ${key.kid}`);
  set.keys.push(key);
  const secrets = { JWT_PRIVATE_KEYS: JSON.stringify(set) };
  if (!addTo) secrets.LATCHKEY_SECRET = makeRootSecret();
  if (format === "json") console.log(JSON.stringify(secrets));
  else for (const [k, v] of Object.entries(secrets)) console.log(`${k}='${v}'`);
  console.error(`new signing key: kid ${key.kid}, ${alg}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`keys: ${e.message}`);
    process.exit(1);
  });
}
