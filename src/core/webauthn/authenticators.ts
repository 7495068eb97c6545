/**
 * AAGUID -> the passkey provider's name and icon, for naming passkeys in account settings (the
 * purpose the community list is published for; it says nothing about an authenticator's security).
 * The data is generated from that list (scripts/gen-aaguids.mjs); an AAGUID it does not know, and
 * the all-zero AAGUID of authenticators that hide it, have no name.
 */
import { AAGUID_ICONS, AAGUID_NAMES } from "./aaguids.generated";

export interface Authenticator {
  name: string;
  /** A data: URI of the light-mode SVG icon, for the common providers only (bundle size). */
  icon: string | null;
}

/** A new passkey's name when its authenticator is unknown. */
export const DEFAULT_PASSKEY_NAME = "Passkey";
/** The longest passkey name, in characters. */
export const PASSKEY_NAME_MAX = 64;

/** The provider behind an AAGUID, or null. */
export function authenticatorOf(aaguid: string | null | undefined): Authenticator | null {
  const key = aaguid?.toLowerCase();
  // Own keys only: "constructor" is no AAGUID.
  if (!key || !Object.hasOwn(AAGUID_NAMES, key)) return null;
  const name = AAGUID_NAMES[key]!;
  const svg = Object.hasOwn(AAGUID_ICONS, key) ? AAGUID_ICONS[key] : undefined;
  return { name, icon: svg ? `data:image/svg+xml,${encodeURIComponent(svg)}` : null };
}

/** The name a new passkey gets: its provider's, else "Passkey". */
export const defaultPasskeyName = (aaguid: string | null | undefined): string =>
  authenticatorOf(aaguid)?.name ?? DEFAULT_PASSKEY_NAME;

/**
 * A name a user gave a passkey: trimmed, 1 to 64 characters, no control characters; null when it
 * is not acceptable.
 */
export function normalizePasskeyName(raw: string): string | null {
  const name = raw.normalize("NFC").trim();
  const length = [...name].length;
  if (length < 1 || length > PASSKEY_NAME_MAX || /\p{Cc}/u.test(name)) return null;
  return name;
}
