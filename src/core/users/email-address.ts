import { AuthError } from "../errors";

// ASCII dot-atom local part and LDH domain labels: internationalised addresses must arrive in
// punycode. This refuses look-alike and invisible characters (zero-width, bidi overrides) outright.
const LOCAL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** NFKC-normalised, trimmed, lower-cased address, or INVALID_REQUEST. */
export function normalizeEmail(raw: unknown): string {
  if (typeof raw !== "string")
    throw new AuthError("INVALID_REQUEST", { detail: "A valid email address is required." });
  const address = raw.normalize("NFKC").trim().toLowerCase();
  const at = address.lastIndexOf("@");
  const local = address.slice(0, at);
  const labels = address.slice(at + 1).split(".");
  const ok =
    at > 0 &&
    address.length <= 254 &&
    local.length <= 64 &&
    LOCAL.test(local) &&
    labels.length >= 2 &&
    labels.every((l) => LABEL.test(l)) &&
    /[a-z]/.test(labels.at(-1)!);
  if (!ok) throw new AuthError("INVALID_REQUEST", { detail: "A valid email address is required." });
  return address;
}
