/**
 * Per-purpose keys from one root secret (LATCHKEY_SECRET): HKDF-SHA-256 with a fixed salt and the
 * purpose as `info`, so keys for different purposes are independent and a key never changes while
 * the root stays the same. Synchronous (@noble/hashes), so configuration parsing can derive them.
 */
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8 } from "./encoding";

const SALT = utf8("latchkey root secret v1");

/** The purposes keys are derived for; a new purpose gets a new label, never a reused one. */
export type KeyPurpose =
  | "totp-encryption"
  | "passcode-hmac"
  | "refresh-successor"
  | "audit-subject"
  | "recovery-code-hmac";

export function deriveKey(root: Uint8Array, purpose: KeyPurpose, length = 32): Uint8Array {
  return hkdf(sha256, root, SALT, utf8(`latchkey/${purpose}`), length);
}
