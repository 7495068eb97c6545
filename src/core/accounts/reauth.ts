/**
 * Re-authentication: a signed-in user proves a credential again. `confirmPassword` checks the
 * password alone (Directus asks for it before generating a TOTP secret); `reauthenticate` takes a
 * password, a TOTP code or a passkey assertion and records the proof on the session (`auth_at`,
 * step-up.ts), so the sensitive changes that need a recent sign-in go through for the next
 * STEP_UP_MAX_AGE seconds. Password and TOTP tries are counted per account like a login's, so a
 * stolen access token cannot be used to guess them.
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from "@simplewebauthn/server";
import { AuthError, isAuthError } from "../errors";
import { type EventRecorder, noEvents } from "../events/events";
import type { PasswordHasher } from "../passwords/hasher";
import type { AttemptCounter } from "../rate-limit/attempts";
import type { StepUpService } from "../sessions/step-up";
import type { TotpService } from "../totp/totp.service";
import type { UserService } from "../users/users.service";
import type { WebAuthnService } from "../webauthn/webauthn.service";

/** One proof: the password, a current TOTP code, or a passkey assertion (from `passkeyOptions`). */
export type ReauthProof = { password: string } | { totp: string } | { webauthn: AuthenticationResponseJSON };

export type ReauthMethod = "password" | "totp" | "webauthn";

export interface ReauthService {
  /** INVALID_CREDENTIALS unless `password` is the user's current password. */
  confirmPassword(userId: string, password: string): Promise<void>;
  /**
   * Checks the proof and records it on the caller's own live session; answers when (ms).
   * INVALID_CREDENTIALS (password, passkey) or INVALID_OTP (TOTP) for a wrong proof,
   * MFA_NOT_ENABLED for a TOTP code without TOTP on, TOO_MANY_ATTEMPTS once the account's
   * counter is spent, INVALID_TOKEN when the session is not live.
   */
  reauthenticate(
    userId: string,
    sessionId: string,
    proof: ReauthProof,
  ): Promise<{ authAt: number; method: ReauthMethod }>;
  /** Passkey request options for the user's own credentials, with a single-use challenge bound to them. */
  passkeyOptions(userId: string): Promise<PublicKeyCredentialRequestOptionsJSON>;
}

export function createReauthService(deps: {
  users: UserService;
  passwords: PasswordHasher;
  attempts: AttemptCounter;
  totp: TotpService;
  webauthn: WebAuthnService;
  stepUp: StepUpService;
  events?: EventRecorder;
}): ReauthService {
  const { users, passwords, attempts, totp, webauthn, stepUp } = deps;
  const events = deps.events ?? noEvents;

  const service: ReauthService = {
    async confirmPassword(userId, password) {
      const key = `password:${userId}`;
      await attempts.reserve(key);
      const user = await users.findById(userId);
      if (!user || user.disabled) throw new AuthError("INVALID_TOKEN");
      if (!user.passwordHash || typeof password !== "string" || password.length > 4096) {
        await passwords.burn(typeof password === "string" ? password.slice(0, 4096) : "");
        throw new AuthError("INVALID_CREDENTIALS");
      }
      if (!(await passwords.verify(password, user.passwordHash)).ok)
        throw new AuthError("INVALID_CREDENTIALS");
      await attempts.clear(key);
    },

    async reauthenticate(userId, sessionId, proof) {
      const method: ReauthMethod = "password" in proof ? "password" : "totp" in proof ? "totp" : "webauthn";
      try {
        let authAt: number;
        if ("webauthn" in proof) authAt = await webauthn.reauthenticate(userId, sessionId, proof.webauthn);
        else {
          // The code's step is claimed like any TOTP use: it cannot be replayed here or at sign-in.
          if ("password" in proof) await service.confirmPassword(userId, proof.password);
          else await totp.verify(userId, proof.totp);
          authAt = await stepUp.record(userId, sessionId);
        }
        events.emit({ type: "reauth.succeeded", userId, sessionId, method });
        return { authAt, method };
      } catch (e) {
        if (isAuthError(e))
          events.emit({ type: "reauth.failed", userId, sessionId, method, reason: e.code.toLowerCase() });
        throw e;
      }
    },

    passkeyOptions: (userId) => webauthn.reauthenticationOptions(userId),
  };
  return service;
}
