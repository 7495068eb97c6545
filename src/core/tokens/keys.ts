/**
 * Signing keys. Production keys come from the JWT_PRIVATE_KEYS secret (a JWK set); the key named by
 * JWT_SIGNING_KID (or the first of the configured algorithm) signs, and every asymmetric key is
 * published, so a next key can be announced before it signs and an old one kept while tokens it
 * signed are alive. Outside production, with no secret, one key per algorithm is generated and
 * persisted in D1 on first use (insert-or-ignore, then read back, so racing isolates agree).
 */
import { exportJWK, generateKeyPair, generateSecret, importJWK, type JWK } from "jose";
import type { Clock } from "../../lib/clock";
import { randomToken } from "../../lib/crypto";
import type { SigningKeyStore } from "./keys.store";

export type JwtAlgorithm = "ES256" | "RS256" | "HS512";

export interface LoadedKey {
  kid: string;
  alg: JwtAlgorithm;
  /** Private key (or shared secret) that signs. */
  key: CryptoKey | Uint8Array;
  /** Public key (or shared secret) that verifies. */
  verifyKey: CryptoKey | Uint8Array;
  /** Public half, absent for symmetric keys (never published). */
  publicJwk?: JWK;
}

export interface KeySet {
  signer: LoadedKey;
  byKid: Map<string, LoadedKey>;
  jwks: { keys: JWK[] };
}

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

function publicOf(jwk: JWK, kid: string, alg: string): JWK | undefined {
  if (jwk.kty === "oct") return undefined;
  const pub: JWK = {};
  for (const [k, v] of Object.entries(jwk))
    if (!PRIVATE_MEMBERS.includes(k)) (pub as Record<string, unknown>)[k] = v;
  return { ...pub, kid, alg, use: "sig" };
}

async function load(
  jwk: JWK & { kid?: string; alg?: string },
  fallbackAlg: JwtAlgorithm,
): Promise<LoadedKey> {
  const alg = (jwk.alg ?? fallbackAlg) as JwtAlgorithm;
  if (!["ES256", "RS256", "HS512"].includes(alg)) throw new Error(`JWT_PRIVATE_KEYS: unsupported alg ${alg}`);
  if (!jwk.kid) throw new Error("JWT_PRIVATE_KEYS: every key needs a kid");
  const key = await importJWK(jwk, alg);
  const publicJwk = publicOf(jwk, jwk.kid, alg);
  const verifyKey = publicJwk ? await importJWK(publicJwk, alg) : key;
  return { kid: jwk.kid, alg, key, verifyKey, publicJwk };
}

async function generate(alg: JwtAlgorithm): Promise<JWK> {
  const kid = `dev-${alg.toLowerCase()}-${randomToken(6)}`;
  if (alg === "HS512") {
    const secret = await generateSecret("HS512", { extractable: true });
    return { ...(await exportJWK(secret)), kid, alg };
  }
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  return { ...(await exportJWK(privateKey)), kid, alg };
}

async function devKey(store: SigningKeyStore, clock: Clock, alg: JwtAlgorithm): Promise<JWK> {
  const found = await store.find(alg);
  if (found) return JSON.parse(found);
  await store.addIfAbsent({ alg, privateJwk: JSON.stringify(await generate(alg)), createdAt: clock.now() });
  // Read back: a racing isolate may have stored its key first, and all must sign with the same one.
  return JSON.parse((await store.find(alg))!);
}

const cache = new Map<string, Promise<KeySet>>();

export function loadKeySet(opts: {
  store: SigningKeyStore;
  clock: Clock;
  algorithm: JwtAlgorithm;
  privateKeys: string;
  signingKid: string;
  allowDevKeys: boolean;
}): Promise<KeySet> {
  const cacheKey = `${opts.algorithm}|${opts.signingKid}|${opts.privateKeys}`;
  let set = cache.get(cacheKey);
  if (!set) {
    set = build(opts);
    cache.set(cacheKey, set);
    set.catch(() => cache.delete(cacheKey));
  }
  return set;
}

async function build(opts: Parameters<typeof loadKeySet>[0]): Promise<KeySet> {
  let jwks: JWK[];
  if (opts.privateKeys) {
    let parsed: { keys?: JWK[] };
    try {
      parsed = JSON.parse(opts.privateKeys);
    } catch {
      throw new Error("JWT_PRIVATE_KEYS: not valid JSON");
    }
    if (!Array.isArray(parsed.keys) || parsed.keys.length === 0)
      throw new Error("JWT_PRIVATE_KEYS: needs a keys array");
    jwks = parsed.keys;
  } else if (opts.allowDevKeys) {
    jwks = [await devKey(opts.store, opts.clock, opts.algorithm)];
  } else {
    throw new Error("JWT_PRIVATE_KEYS: required in production");
  }
  const loaded = await Promise.all(jwks.map((k) => load(k, opts.algorithm)));
  const signer = opts.signingKid
    ? loaded.find((k) => k.kid === opts.signingKid)
    : loaded.find((k) => k.alg === opts.algorithm);
  if (!signer) throw new Error("JWT_SIGNING_KID: no key with that kid and algorithm");
  return {
    signer,
    byKid: new Map(loaded.map((k) => [k.kid, k])),
    jwks: { keys: loaded.flatMap((k) => (k.publicJwk ? [k.publicJwk] : [])) },
  };
}
