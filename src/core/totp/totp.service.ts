/**
 * TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s, ±1 step). Secrets are 160 bits, sealed at
 * rest. A code is accepted once: the step it matched is written by one conditional UPDATE that
 * refuses any step at or below the last accepted one, so a replayed or parallel code fails. Every
 * check first reserves an attempt on the account's counter.
 */
import { Secret, TOTP } from "otpauth";
import { renderSVG } from "uqr";
import type { Clock } from "../../lib/clock";
import { AuthError } from "../errors";
import type { AttemptCounter } from "../rate-limit/attempts";
import type { SecretBox } from "./secret-box";

export interface TotpSetup {
  /** Base32 secret, for manual entry. */
  secret: string;
  /** otpauth:// URI. */
  uri: string;
  /** The URI as a QR code, an SVG data URL. */
  qrDataUrl: string;
}

export interface TotpService {
  /** Creates a pending secret (replacing an earlier pending one). MFA_ALREADY_ENABLED if on. */
  generate(userId: string, label: string): Promise<TotpSetup>;
  /** Turns TOTP on with a code of the pending secret. */
  enable(userId: string, code: string): Promise<void>;
  /** Turns TOTP off with a current code. */
  disable(userId: string, code: string): Promise<void>;
  /** Checks a login code; INVALID_OTP or TOO_MANY_ATTEMPTS. */
  verify(userId: string, code: string): Promise<void>;
}

const PERIOD = 30;

export function createTotpService(deps: {
  d1: D1Database;
  clock: Clock;
  box: SecretBox;
  attempts: AttemptCounter;
  issuer: string;
}): TotpService {
  const { d1, clock, box, attempts } = deps;

  /** The time step `code` matches for `secret`, or null. */
  function matchStep(secret: string, code: string): number | null {
    if (!/^\d{6}$/.test(code)) return null;
    const now = clock.now();
    const totp = new TOTP({
      secret: Secret.fromBase32(secret),
      digits: 6,
      period: PERIOD,
      algorithm: "SHA1",
    });
    const delta = totp.validate({ token: code, timestamp: now, window: 1 });
    return delta === null ? null : Math.floor(now / 1000 / PERIOD) + delta;
  }

  async function row(userId: string) {
    const r = await d1
      .prepare("SELECT totp_secret, totp_pending_secret, totp_enabled FROM users WHERE id = ?")
      .bind(userId)
      .first<{ totp_secret: string | null; totp_pending_secret: string | null; totp_enabled: number }>();
    if (!r) throw new AuthError("INVALID_TOKEN");
    return r;
  }

  /** Reserves an attempt, matches the code, then claims its step; throws INVALID_OTP on any miss. */
  async function check(
    userId: string,
    sealed: string,
    code: string,
    claim: (step: number) => D1PreparedStatement,
  ) {
    const key = `totp:${userId}`;
    await attempts.reserve(key);
    const step = matchStep(await box.open(sealed), code);
    if (step === null) throw new AuthError("INVALID_OTP");
    const r = await claim(step).run();
    if (r.meta.changes !== 1) throw new AuthError("INVALID_OTP");
    await attempts.clear(key);
  }

  return {
    async generate(userId, label) {
      const r = await row(userId);
      if (r.totp_enabled) throw new AuthError("MFA_ALREADY_ENABLED");
      const secret = new Secret({ size: 20 }).base32;
      const uri = new TOTP({
        issuer: deps.issuer,
        label,
        secret: Secret.fromBase32(secret),
        digits: 6,
        period: PERIOD,
      }).toString();
      await d1
        .prepare("UPDATE users SET totp_pending_secret = ?, updated_at = ? WHERE id = ?")
        .bind(await box.seal(secret), clock.now(), userId)
        .run();
      const svg = renderSVG(uri);
      return { secret, uri, qrDataUrl: `data:image/svg+xml;base64,${btoa(svg)}` };
    },

    async enable(userId, c) {
      const r = await row(userId);
      if (r.totp_enabled) throw new AuthError("MFA_ALREADY_ENABLED");
      if (!r.totp_pending_secret) throw new AuthError("MFA_NOT_SET_UP");
      const pending = r.totp_pending_secret;
      await check(userId, pending, c, (step) =>
        d1
          .prepare(
            `UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, totp_enabled = 1,
                totp_last_step = ?1, updated_at = ?2 WHERE id = ?3 AND totp_enabled = 0 AND totp_pending_secret = ?4`,
          )
          .bind(step, clock.now(), userId, pending),
      );
    },

    async disable(userId, c) {
      const r = await row(userId);
      if (!r.totp_enabled || !r.totp_secret) throw new AuthError("MFA_NOT_ENABLED");
      await check(userId, r.totp_secret, c, (step) =>
        d1
          .prepare(
            `UPDATE users SET totp_secret = NULL, totp_enabled = 0, totp_last_step = ?1, updated_at = ?2
               WHERE id = ?3 AND totp_enabled = 1 AND (totp_last_step IS NULL OR totp_last_step < ?1)`,
          )
          .bind(step, clock.now(), userId),
      );
    },

    async verify(userId, c) {
      const r = await row(userId);
      if (!r.totp_enabled || !r.totp_secret) throw new AuthError("MFA_NOT_ENABLED");
      await check(userId, r.totp_secret, c, (step) =>
        d1
          .prepare(
            "UPDATE users SET totp_last_step = ?1 WHERE id = ?2 AND totp_enabled = 1 AND (totp_last_step IS NULL OR totp_last_step < ?1)",
          )
          .bind(step, userId),
      );
    },
  };
}
