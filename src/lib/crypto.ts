import { toBase64Url, toHex, utf8 } from "./encoding";

/** A 256-bit random secret as unpadded base64url (43 characters). */
export function randomToken(bytes = 32): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** SHA-256 of a string, hex encoded: how one-time secrets and refresh tokens are stored. */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(text))));
}

/** Constant-time comparison of two byte strings; lengths are not secret. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

const hmacKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

/**
 * HMAC-SHA-256 of `data` (a string is UTF-8 encoded) under `key`. The imported key is kept per key
 * array, so a secret decoded once is imported once however often it signs.
 */
export async function hmacSha256(key: Uint8Array, data: string | Uint8Array): Promise<Uint8Array> {
  let k = hmacKeys.get(key);
  if (!k) {
    k = crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    hmacKeys.set(key, k);
  }
  return new Uint8Array(
    await crypto.subtle.sign("HMAC", await k, typeof data === "string" ? utf8(data) : data),
  );
}
