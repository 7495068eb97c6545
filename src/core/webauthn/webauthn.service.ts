/**
 * Passkeys with @simplewebauthn/server. Challenges are 32 random bytes, stored hashed in D1 with
 * their purpose and user, and spent by one conditional UPDATE before the response is verified, so
 * each works once (a failed verification spends it too). Responses must come from one of the
 * configured origins exactly and name the configured RP id. Stored per credential: COSE public
 * key, sign counter (a non-increasing non-zero counter is refused, and the update is conditional so
 * parallel logins cannot roll it back), transports, AAGUID, attestation format and the backup
 * flags (BE, BS).
 */
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import type { Clock } from "../../lib/clock";
import { sha256Hex } from "../../lib/crypto";
import { fromBase64Url, toBase64Url } from "../../lib/encoding";
import type { SecurityNotices } from "../accounts/notices";
import type { Config } from "../config";
import { AuthError } from "../errors";
import type { IssuedSession, SessionContext, SessionService } from "../sessions/sessions.service";
import type { User, UserService } from "../users/users.service";
import type { Passkey, WebAuthnStore } from "./webauthn.store";

export type { Passkey } from "./webauthn.store";

type Purpose = "registration" | "authentication";

export interface WebAuthnService {
  registrationOptions(userId: string): Promise<PublicKeyCredentialCreationOptionsJSON>;
  /**
   * Verifies an attestation for the user the challenge was issued to; INVALID_REQUEST when it
   * fails. The user gets a notice of the new passkey.
   */
  register(userId: string, response: RegistrationResponseJSON, ctx?: SessionContext): Promise<Passkey>;
  /**
   * Login options. With a known `userId` they list the user's credentials; without one (or for an
   * unknown user when `quiet`) they are for a discoverable credential. An unknown user without
   * `quiet` is INVALID_REQUEST (Hanko: 400 "user not found").
   */
  authenticationOptions(
    userId: string | null,
    opts: { quiet: boolean },
  ): Promise<PublicKeyCredentialRequestOptionsJSON>;
  /** Verifies an assertion and starts a session; INVALID_CREDENTIALS when it fails. */
  authenticate(
    response: AuthenticationResponseJSON,
    ctx?: SessionContext,
  ): Promise<{ user: User; session: IssuedSession; credentialId: string }>;
  list(userId: string): Promise<Passkey[]>;
  /** NOT_FOUND unless the credential is the user's. */
  rename(userId: string, credentialId: string, name: string): Promise<void>;
  remove(userId: string, credentialId: string): Promise<void>;
}

/** The user handle: the 16 bytes of the user's UUID. */
const userHandle = (userId: string) =>
  Uint8Array.from(
    userId
      .replace(/-/g, "")
      .match(/../g)!
      .map((h) => Number.parseInt(h, 16)),
  );

function challengeOf(clientDataJSON: unknown): string | null {
  if (typeof clientDataJSON !== "string" || clientDataJSON.length > 4096) return null;
  try {
    const data = JSON.parse(new TextDecoder().decode(fromBase64Url(clientDataJSON)));
    return typeof data.challenge === "string" && data.challenge.length <= 200 ? data.challenge : null;
  } catch {
    return null;
  }
}

export function createWebAuthnService(deps: {
  store: WebAuthnStore;
  clock: Clock;
  users: UserService;
  sessions: SessionService;
  notices: SecurityNotices;
  webauthn: Config["webauthn"];
}): WebAuthnService {
  const { store, clock, users, sessions, webauthn: cfg } = deps;

  async function storeChallenge(challenge: string, purpose: Purpose, userId: string | null) {
    const now = clock.now();
    await store.addChallenge({
      hash: await sha256Hex(challenge),
      purpose,
      userId,
      createdAt: now,
      expiresAt: now + cfg.timeoutMs,
    });
  }

  /** Spends the challenge named in clientDataJSON; null when unknown, spent, expired or of another purpose. */
  async function spendChallenge(clientDataJSON: unknown, purpose: Purpose) {
    const challenge = challengeOf(clientDataJSON);
    if (!challenge) return null;
    const row = await store.spendChallenge(await sha256Hex(challenge), purpose, clock.now());
    return row ? { challenge, userId: row.userId } : null;
  }

  const service: WebAuthnService = {
    async registrationOptions(userId) {
      const user = await users.findById(userId);
      if (!user) throw new AuthError("INVALID_TOKEN");
      const existing = await service.list(userId);
      const options = await generateRegistrationOptions({
        rpName: cfg.rpName,
        rpID: cfg.rpId,
        userName: user.email ?? user.id,
        userDisplayName: user.email ?? user.id,
        userID: userHandle(user.id),
        timeout: cfg.timeoutMs,
        attestationType: "none",
        excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports })),
        authenticatorSelection: {
          authenticatorAttachment: "platform",
          residentKey: "required",
          requireResidentKey: true,
          userVerification: "required",
        },
        supportedAlgorithmIDs: [-7, -257],
      });
      await storeChallenge(options.challenge, "registration", user.id);
      return options;
    },

    async register(userId, response, ctx) {
      const spent = await spendChallenge(response?.response?.clientDataJSON, "registration");
      if (!spent || spent.userId !== userId)
        throw new AuthError("INVALID_REQUEST", { detail: "Unknown, expired or used challenge." });
      let info: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
      try {
        info = await verifyRegistrationResponse({
          response,
          expectedChallenge: spent.challenge,
          expectedOrigin: cfg.origins,
          expectedRPID: cfg.rpId,
          requireUserVerification: true,
        });
      } catch (e) {
        throw new AuthError("INVALID_REQUEST", { detail: "The credential could not be verified.", cause: e });
      }
      if (!info.verified)
        throw new AuthError("INVALID_REQUEST", { detail: "The credential could not be verified." });
      const r = info.registrationInfo;
      const now = clock.now();
      const transports = (r.credential.transports ?? response.response.transports ?? []).filter((t) =>
        /^[a-z-]{1,20}$/.test(t),
      );
      const passkey = await store.addCredential({
        id: r.credential.id,
        userId,
        publicKey: toBase64Url(r.credential.publicKey),
        signCount: r.credential.counter,
        transports,
        aaguid: r.aaguid,
        attestationType: r.fmt,
        backupEligible: r.credentialDeviceType === "multiDevice",
        backupState: r.credentialBackedUp,
        createdAt: now,
      });
      if (!passkey)
        throw new AuthError("INVALID_REQUEST", { detail: "This credential is already registered." });
      const user = await users.findById(userId);
      await deps.notices.changed({ userId, event: "passkey_added", to: [user?.email], ctx });
      return passkey;
    },

    async authenticationOptions(userId, { quiet }) {
      let owner: string | null = null;
      let allow: Passkey[] = [];
      if (userId !== null) {
        const user = /^[0-9a-f-]{36}$/i.test(userId) ? await users.findById(userId.toLowerCase()) : null;
        if (user) {
          if (!quiet) {
            owner = user.id;
            allow = await service.list(user.id);
          }
        } else if (!quiet) throw new AuthError("INVALID_REQUEST", { detail: "user not found" });
      }
      const options = await generateAuthenticationOptions({
        rpID: cfg.rpId,
        timeout: cfg.timeoutMs,
        userVerification: "required",
        allowCredentials: owner ? allow.map((c) => ({ id: c.id, transports: c.transports })) : undefined,
      });
      await storeChallenge(options.challenge, "authentication", owner);
      return options;
    },

    async authenticate(response, ctx) {
      const fail = (cause?: unknown) => new AuthError("INVALID_CREDENTIALS", { cause });
      const spent = await spendChallenge(response?.response?.clientDataJSON, "authentication");
      if (!spent) throw fail();
      const id = typeof response.id === "string" ? response.id : "";
      const passkey = await store.findCredential(id);
      if (!passkey) throw fail();
      // A challenge issued for one user only accepts that user's credentials.
      if (spent.userId !== null && spent.userId !== passkey.userId) throw fail();
      const handle = response.response.userHandle;
      if (handle && handle !== toBase64Url(userHandle(passkey.userId))) throw fail();
      let info: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
      try {
        info = await verifyAuthenticationResponse({
          response,
          expectedChallenge: spent.challenge,
          expectedOrigin: cfg.origins,
          expectedRPID: cfg.rpId,
          requireUserVerification: true,
          credential: {
            id: passkey.id,
            publicKey: new Uint8Array(fromBase64Url(passkey.publicKey)),
            counter: passkey.signCount,
            transports: passkey.transports as never,
          },
        });
      } catch (e) {
        throw fail(e);
      }
      if (!info.verified) throw fail();
      const { newCounter, credentialBackedUp } = info.authenticationInfo;
      const now = clock.now();
      // Conditional on the counter still being below the new value (or both zero): no rollback by a parallel login.
      const updated = await store.recordUse(passkey.id, newCounter, credentialBackedUp, now);
      if (!updated) throw fail();
      const user = await users.findById(passkey.userId);
      if (!user) throw fail();
      if (user.disabled) throw new AuthError("ACCOUNT_DISABLED");
      return { user, session: await sessions.create(user, ["webauthn"], ctx), credentialId: passkey.id };
    },

    list(userId) {
      return store.listByUser(userId);
    },

    async rename(userId, credentialId, name) {
      if (!(await store.rename(userId, credentialId, name))) throw new AuthError("NOT_FOUND");
    },

    async remove(userId, credentialId) {
      if (!(await store.remove(userId, credentialId))) throw new AuthError("NOT_FOUND");
    },
  };
  return service;
}
