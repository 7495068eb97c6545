/**
 * AES-256-GCM for TOTP secrets at rest. The key material is TOTP_ENCRYPTION_KEY or the key derived
 * for it from LATCHKEY_SECRET (base64url, at least 32 bytes, configuration resolves which), run
 * through HKDF.
 * Ciphertexts are `v1.<iv>.<ciphertext>`, so a future key can be told apart.
 */
import { fromBase64Url, toBase64Url, utf8 } from "../../lib/encoding";

export interface SecretBox {
  seal(plain: string): Promise<string>;
  open(sealed: string): Promise<string>;
}

export function createSecretBox(secret: string): SecretBox {
  const material = fromBase64Url(secret);
  if (material.length < 32) throw new Error("TOTP_ENCRYPTION_KEY: needs at least 32 bytes (base64url)");
  const key = (async () => {
    const base = await crypto.subtle.importKey("raw", material, "HKDF", false, ["deriveKey"]);
    return crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: utf8("latchkey totp v1") },
      base,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"],
    );
  })();
  return {
    async seal(plain) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await key, utf8(plain));
      return `v1.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ct))}`;
    },
    async open(sealed) {
      const [v, iv, ct] = sealed.split(".");
      if (v !== "v1" || !iv || !ct) throw new Error("unknown TOTP secret format");
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: fromBase64Url(iv) },
        await key,
        fromBase64Url(ct),
      );
      return new TextDecoder().decode(plain);
    },
  };
}
