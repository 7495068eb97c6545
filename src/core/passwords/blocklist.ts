/**
 * The common-password blocklist (NIST SP 800-63B: a new password is compared against values known
 * to be commonly used or compromised). The list ships in the bundle deflated (see
 * common-passwords.data.ts and tools/password-blocklist.mjs) and is inflated into a Set once per
 * isolate, on the first password that is set, so a lookup afterwards is one hash-set probe.
 */
import { inflateSync, strFromU8 } from "fflate";
import { fromBase64Url } from "../../lib/encoding";
import { COMMON_PASSWORDS } from "./common-passwords.data";

let common: Set<string> | undefined;

/** Whether a password, compared without regard to case, is on the list. */
export function isCommonPassword(password: string): boolean {
  common ??= new Set(strFromU8(inflateSync(fromBase64Url(COMMON_PASSWORDS.deflated))).split("\n"));
  return common.has(password.normalize("NFKC").toLowerCase());
}
