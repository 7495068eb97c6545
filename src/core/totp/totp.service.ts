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
import type { TotpStateRow, TotpStore } from "./totp.store";

export type TotpState = TotpStateRow;

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
  /**
   * Checks a login code against TOTP state already read (null: no such user): counts the attempt
   * and matches the code, without claiming its step. Returns the step, which the caller claims in
   * its own write (totp.store `claimStepStatement`, only if still newer than the last accepted
   * one), and the attempt-counter key to clear with that claim.
   */
  checkWith(userId: string, state: TotpState | null, code: string): Promise<{ step: number; clear: string }>;
}

const PERIOD = 30;

export function createTotpService(deps: {
  store: TotpStore;
  clock: Clock;
  box: SecretBox;
  attempts: AttemptCounter;
  issuer: string;
}): TotpService {
  const { store, clock, box, attempts } = deps;

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
    const r = await store.state(userId);
    if (!r) throw new AuthError("INVALID_TOKEN");
    return r;
  }

  /** Reserves an attempt, matches the code, then claims its step; throws INVALID_OTP on any miss. */
  async function check(
    userId: string,
    sealed: string,
    code: string,
    claim: (step: number) => Promise<boolean>,
  ) {
    const key = `totp:${userId}`;
    await attempts.reserve(key);
    const step = matchStep(await box.open(sealed), code);
    if (step === null) throw new AuthError("INVALID_OTP");
    if (!(await claim(step))) throw new AuthError("INVALID_OTP");
    await attempts.clear(key);
  }

  const service: TotpService = {
    async generate(userId, label) {
      const r = await row(userId);
      if (r.totpEnabled) throw new AuthError("MFA_ALREADY_ENABLED");
      const secret = new Secret({ size: 20 }).base32;
      const uri = new TOTP({
        issuer: deps.issuer,
        label,
        secret: Secret.fromBase32(secret),
        digits: 6,
        period: PERIOD,
      }).toString();
      await store.setPending(userId, await box.seal(secret), clock.now());
      const svg = renderSVG(uri);
      return { secret, uri, qrDataUrl: `data:image/svg+xml;base64,${btoa(svg)}` };
    },

    async enable(userId, c) {
      const r = await row(userId);
      if (r.totpEnabled) throw new AuthError("MFA_ALREADY_ENABLED");
      if (!r.totpPendingSecret) throw new AuthError("MFA_NOT_SET_UP");
      const pending = r.totpPendingSecret;
      await check(userId, pending, c, (step) => store.enable(userId, pending, step, clock.now()));
    },

    async disable(userId, c) {
      const r = await row(userId);
      if (!r.totpEnabled || !r.totpSecret) throw new AuthError("MFA_NOT_ENABLED");
      await check(userId, r.totpSecret, c, (step) => store.disable(userId, step, clock.now()));
    },

    async verify(userId, c) {
      const r = await row(userId);
      if (!r.totpEnabled || !r.totpSecret) throw new AuthError("MFA_NOT_ENABLED");
      await check(userId, r.totpSecret, c, (step) => store.claimStep(userId, step));
    },

    async checkWith(userId, r, c) {
      if (!r) throw new AuthError("INVALID_TOKEN");
      if (!r.totpEnabled || !r.totpSecret) throw new AuthError("MFA_NOT_ENABLED");
      const key = `totp:${userId}`;
      await attempts.reserve(key);
      const step = matchStep(await box.open(r.totpSecret), c);
      if (step === null) throw new AuthError("INVALID_OTP");
      return { step, clear: key };
    },
  };
  return service;
}
