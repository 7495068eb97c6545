/**
 * TOTP recovery codes: 10 single-use codes of 10 base32 characters (50 bits each), shown once as
 * `XXXXX-XXXXX` and stored only as HMAC-SHA-256(key, user id:code), so a database copy does not
 * hand out live codes. A new set needs a current TOTP code and voids the old one. A recovery code
 * has a shape no TOTP code has (10 letters/digits against 6 digits), so the two never mix up.
 * Spending one at sign-in happens in the MFA ticket's batch (accounts.service completeMfa).
 */
import type { Clock } from "../../lib/clock";
import { hmacSha256 } from "../../lib/crypto";
import { fromBase64Url, toHex } from "../../lib/encoding";
import type { AttemptPolicy, LockState } from "../rate-limit/attempts.store";
import type { TotpService } from "../totp/totp.service";
import type { RecoveryCodeStore } from "./recovery-codes.store";

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export interface RecoveryCodeService {
  /** The code in its stored form (upper case, no separators), or null when it is not shaped like one. */
  normalize(code: string): string | null;
  /** The stored MAC of a normalized code of `userId`. */
  mac(userId: string, normalized: string): Promise<string>;
  /** A new set for a user with TOTP on, after a current TOTP code; the old set is void. */
  regenerate(userId: string, totpCode: string): Promise<string[]>;
  /** How many unused codes the user has. */
  remaining(userId: string): Promise<number>;
  /**
   * A sign-in try with a (normalized) code in one round trip: one attempt counted on `key` under
   * `policy` (rate-limit/attempts), and whether the user holds the code unused, with its MAC.
   */
  attempt(
    userId: string,
    normalized: string,
    key: string,
    policy: AttemptPolicy,
  ): Promise<{ lock: LockState; now: number; unused: boolean; mac: string }>;
}

function newCode(): string {
  // 256 is a multiple of 32: each byte gives one uniform base32 character.
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  const chars = [...bytes].map((b) => ALPHABET[b % 32]).join("");
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}

export function createRecoveryCodeService(deps: {
  store: RecoveryCodeStore;
  clock: Clock;
  totp: TotpService;
  /** HMAC key (base64url). */
  secret: string;
}): RecoveryCodeService {
  const { store, clock, totp } = deps;
  const key = fromBase64Url(deps.secret);
  const mac = async (userId: string, normalized: string) =>
    toHex(await hmacSha256(key, `${userId}:${normalized}`));

  const service: RecoveryCodeService = {
    normalize(code) {
      if (typeof code !== "string" || code.length > 32) return null;
      const c = code.replace(/[\s-]/g, "").toUpperCase();
      return /^[A-Z2-7]{10}$/.test(c) ? c : null;
    },
    mac,
    async regenerate(userId, totpCode) {
      // A fresh second factor: the code's step is claimed, so it cannot be replayed for another set.
      await totp.verify(userId, totpCode);
      const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
      const macs = await Promise.all(codes.map((c) => mac(userId, service.normalize(c)!)));
      await store.replace(userId, macs, clock.now());
      return codes;
    },
    remaining: (userId) => store.remaining(userId),
    async attempt(userId, normalized, key, policy) {
      const now = clock.now();
      const codeMac = await mac(userId, normalized);
      const { lock, unused } = await store.attempt(userId, codeMac, { key, now, policy });
      return { lock, now, unused, mac: codeMac };
    },
  };
  return service;
}
