/**
 * Passkeys with @simplewebauthn/server. Challenges are 32 random bytes, stored hashed in D1 with
 * their purpose and user, and spent by one conditional UPDATE, so each works once (a failed
 * verification spends it too). A verified response's challenge is spent in the same batch as what
 * it earns (the new session, the new passkey), guarded by the marker the spend writes
 * (`spent_into`): a failed round trip leaves neither a spent challenge without its result nor a
 * result without its spend. Responses must come from one of the
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
import { type EventRecorder, noEvents } from "../events/events";
import type { IssuedSession, SessionContext, SessionService } from "../sessions/sessions.service";
import type { StepUpService } from "../sessions/step-up";
import type { UserService } from "../users/users.service";
import { defaultPasskeyName, normalizePasskeyName } from "./authenticators";
import type { Passkey, Purpose, WebAuthnStore } from "./webauthn.store";

export type { Passkey } from "./webauthn.store";

/**
 * A passkey sign-in refused because no credential with the response's id is registered (an
 * INVALID_CREDENTIALS to every dialect). The hosted page tells the authenticator, which may then
 * hide the credential (WebAuthn Signal API). It is only raised for a response to a live challenge
 * of this server, and says nothing its sender did not know: the id is the sender's own, random,
 * and never shown to anyone but its owner.
 */
export class UnknownCredentialError extends AuthError {
  constructor() {
    super("INVALID_CREDENTIALS");
  }
}

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
  /**
   * Verifies an assertion and starts a session (its access token living `accessTtl` seconds when
   * given); INVALID_CREDENTIALS when it fails. Two round trips, and the second is all or nothing.
   */
  authenticate(
    response: AuthenticationResponseJSON,
    ctx?: SessionContext,
    accessTtl?: number,
  ): Promise<{ userId: string; session: IssuedSession; credentialId: string }>;
  /** Options for a signed-in user to confirm it is them: their own credentials, a challenge bound to them. */
  reauthenticationOptions(userId: string): Promise<PublicKeyCredentialRequestOptionsJSON>;
  /**
   * Verifies an assertion against a challenge from `reauthenticationOptions` for this user (each
   * works once) and records a fresh authentication in their live session `sessionId`; answers its
   * time (ms). INVALID_CREDENTIALS when the assertion fails.
   */
  reauthenticate(userId: string, sessionId: string, response: AuthenticationResponseJSON): Promise<number>;
  list(userId: string): Promise<Passkey[]>;
  /**
   * Renames one of the user's passkeys (the name trimmed, 1 to 64 characters: INVALID_REQUEST
   * otherwise); NOT_FOUND unless the credential is the user's.
   */
  rename(userId: string, credentialId: string, name: string): Promise<Passkey>;
  /**
   * Deletes one of the user's passkeys; NOT_FOUND unless the credential is the user's. Every route
   * that deletes a passkey goes through here, so the rules on deletion hold for all of them: it
   * needs a recent sign-in of `from.sessionId` (step-up.ts; REAUTHENTICATION_REQUIRED otherwise).
   */
  remove(userId: string, credentialId: string, from: { sessionId: string }): Promise<void>;
}

/** The user handle: the 16 bytes of the user's UUID. */
const userHandle = (userId: string) =>
  Uint8Array.from(
    userId
      .replace(/-/g, "")
      .match(/../g)!
      .map((h) => Number.parseInt(h, 16)),
  );

/** The user handle as WebAuthn JSON carries it (base64url), e.g. for the Signal API. */
export const userHandleOf = (userId: string): string => toBase64Url(userHandle(userId));

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
  stepUp: StepUpService;
  events?: EventRecorder;
}): WebAuthnService {
  const { store, clock, users, sessions, webauthn: cfg } = deps;
  const events = deps.events ?? noEvents;

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

  /** The assertion verified against the stored credential; throws what verification throws. */
  const verifyAssertion = async (
    response: AuthenticationResponseJSON,
    challenge: string,
    passkey: Passkey,
  ) => {
    const info = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
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
    if (!info.verified) throw new Error("assertion not verified");
    return info.authenticationInfo;
  };

  const service: WebAuthnService = {
    async registrationOptions(userId) {
      // The challenge is made first, so storing it and reading the user and their passkeys are one
      // round trip (nothing is stored for an unknown user).
      const challenge = crypto.getRandomValues(new Uint8Array(32));
      const now = clock.now();
      const opened = await store.openRegistration({
        hash: await sha256Hex(toBase64Url(challenge)),
        purpose: "registration",
        userId,
        createdAt: now,
        expiresAt: now + cfg.timeoutMs,
      });
      if (!opened.found) throw new AuthError("INVALID_TOKEN");
      const name = opened.email ?? userId;
      return generateRegistrationOptions({
        rpName: cfg.rpName,
        rpID: cfg.rpId,
        userName: name,
        userDisplayName: name,
        userID: userHandle(userId),
        challenge,
        timeout: cfg.timeoutMs,
        attestationType: "none",
        excludeCredentials: opened.passkeys.map((c) => ({ id: c.id, transports: c.transports })),
        authenticatorSelection: {
          authenticatorAttachment: "platform",
          residentKey: "required",
          requireResidentKey: true,
          userVerification: "required",
        },
        supportedAlgorithmIDs: [-7, -257],
      });
    },

    async register(userId, response, ctx) {
      const unknown = () =>
        new AuthError("INVALID_REQUEST", { detail: "Unknown, expired or used challenge." });
      const challenge = challengeOf(response?.response?.clientDataJSON);
      if (!challenge) throw unknown();
      const hash = await sha256Hex(challenge);
      // Verified against the challenge it names, which counts only if it is this user's unspent
      // registration challenge: the batch below spends it and stores the passkey only then.
      let info: Awaited<ReturnType<typeof verifyRegistrationResponse>> | null = null;
      let cause: unknown;
      try {
        info = await verifyRegistrationResponse({
          response,
          expectedChallenge: challenge,
          expectedOrigin: cfg.origins,
          expectedRPID: cfg.rpId,
          requireUserVerification: true,
        });
      } catch (e) {
        cause = e;
      }
      if (!info?.verified) {
        // A failed verification spends the challenge too (when it is this user's).
        const spent = await store.spendChallenge(hash, "registration", clock.now());
        if (!spent || spent.userId !== userId) throw unknown();
        throw new AuthError("INVALID_REQUEST", { detail: "The credential could not be verified.", cause });
      }
      const r = info.registrationInfo;
      const now = clock.now();
      const transports = (r.credential.transports ?? response.response.transports ?? []).filter((t) =>
        /^[a-z-]{1,20}$/.test(t),
      );
      const done = await store.register(hash, {
        id: r.credential.id,
        userId,
        publicKey: toBase64Url(r.credential.publicKey),
        signCount: r.credential.counter,
        transports,
        aaguid: r.aaguid,
        attestationType: r.fmt,
        backupEligible: r.credentialDeviceType === "multiDevice",
        backupState: r.credentialBackedUp,
        // The provider's name (from the AAGUID), which the user can change.
        name: defaultPasskeyName(r.aaguid),
        createdAt: now,
      });
      if (!done.spent) throw unknown();
      if (!done.passkey)
        throw new AuthError("INVALID_REQUEST", { detail: "This credential is already registered." });
      events.emit({ type: "passkey.added", userId, credentialId: done.passkey.id });
      await deps.notices.changed({ userId, event: "passkey_added", to: [done.email], ctx });
      return done.passkey;
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

    async authenticate(response, ctx, accessTtl) {
      const fail = (cause?: unknown) => new AuthError("INVALID_CREDENTIALS", { cause });
      const challenge = challengeOf(response?.response?.clientDataJSON);
      if (!challenge) throw fail();
      const hash = await sha256Hex(challenge);
      const id = typeof response.id === "string" ? response.id : "";
      const { challenge: issued, passkey } = await store.openLogin(hash, id, clock.now());
      if (!issued) throw fail();
      // Any failure from here on spends the challenge, as a success does.
      const refuse = async (cause?: unknown) => {
        await store.spendChallenge(hash, "authentication", clock.now());
        events.emit({ type: "sign_in.failed", userId: passkey?.userId ?? null, reason: "invalid_passkey" });
        return fail(cause);
      };
      if (!passkey) {
        await refuse();
        throw new UnknownCredentialError();
      }
      // A challenge issued for one user only accepts that user's credentials.
      if (issued.userId !== null && issued.userId !== passkey.userId) throw await refuse();
      const handle = response.response.userHandle;
      if (handle && handle !== toBase64Url(userHandle(passkey.userId))) throw await refuse();
      let info: Awaited<ReturnType<typeof verifyAssertion>>;
      try {
        info = await verifyAssertion(response, challenge, passkey);
      } catch (e) {
        throw await refuse(e);
      }
      const { newCounter, credentialBackedUp } = info;
      // One batch: the challenge spent into a new session (while unspent, the counter still below
      // the new value and the user enabled), the use recorded and the session written only then.
      const draft = await sessions.draft(passkey.userId, ["webauthn"], ctx);
      const done = await store.signIn({
        hash,
        now: clock.now(),
        use: {
          id: passkey.id,
          userId: passkey.userId,
          signCount: newCounter,
          backupState: credentialBackedUp,
        },
        session: draft.session,
        firstToken: draft.firstToken,
        keep: draft.keep,
      });
      if (!done.user) throw done.disabled ? new AuthError("ACCOUNT_DISABLED") : fail();
      return {
        userId: passkey.userId,
        session: await sessions.issueFor(done.user, draft, done.endedOthers, accessTtl),
        credentialId: passkey.id,
      };
    },

    async reauthenticationOptions(userId) {
      const allow = await service.list(userId);
      const options = await generateAuthenticationOptions({
        rpID: cfg.rpId,
        timeout: cfg.timeoutMs,
        userVerification: "required",
        allowCredentials: allow.map((c) => ({ id: c.id, transports: c.transports })),
      });
      await storeChallenge(options.challenge, "reauthentication", userId);
      return options;
    },

    async reauthenticate(userId, sessionId, response) {
      const fail = (cause?: unknown) => new AuthError("INVALID_CREDENTIALS", { cause });
      const challenge = challengeOf(response?.response?.clientDataJSON);
      if (!challenge) throw fail();
      const hash = await sha256Hex(challenge);
      const id = typeof response.id === "string" ? response.id : "";
      const { challenge: issued, passkey } = await store.openLogin(hash, id, clock.now(), "reauthentication");
      if (!issued) throw fail();
      const refuse = async (cause?: unknown) => {
        await store.spendChallenge(hash, "reauthentication", clock.now());
        return fail(cause);
      };
      // Only the user's own credential, against a challenge issued to that user.
      if (!passkey || issued.userId !== userId || passkey.userId !== userId) throw await refuse();
      const handle = response.response.userHandle;
      if (handle && handle !== toBase64Url(userHandle(userId))) throw await refuse();
      let info: Awaited<ReturnType<typeof verifyAssertion>>;
      try {
        info = await verifyAssertion(response, challenge, passkey);
      } catch (e) {
        throw await refuse(e);
      }
      const now = clock.now();
      const recorded = await store.reauthenticate({
        hash,
        now,
        use: { id: passkey.id, userId, signCount: info.newCounter, backupState: info.credentialBackedUp },
        sessionId,
      });
      if (!recorded) throw fail();
      return now;
    },

    list(userId) {
      return store.listByUser(userId);
    },

    async rename(userId, credentialId, name) {
      const clean = normalizePasskeyName(name);
      if (clean === null)
        throw new AuthError("INVALID_REQUEST", { detail: "The name must be 1 to 64 characters." });
      const renamed = await store.rename(userId, credentialId, clean);
      if (!renamed) throw new AuthError("NOT_FOUND");
      events.emit({ type: "passkey.renamed", userId, credentialId });
      return renamed;
    },

    async remove(userId, credentialId, from) {
      await deps.stepUp.require(userId, from.sessionId);
      if (!(await store.remove(userId, credentialId))) throw new AuthError("NOT_FOUND");
      events.emit({ type: "passkey.removed", userId, credentialId });
    },
  };
  return service;
}
