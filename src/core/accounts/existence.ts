/**
 * Whether an address has an account is told only when ACCOUNT_EXISTENCE_HINTS is on. With hints
 * off (the default), every answer about an address that has an account looks like the answer for
 * one that has none:
 *
 * - "Does an account use this address?" (vault GET /exist-email) is always false.
 * - A sign-up with a taken address answers as a sign-up with a free one, after the same password
 *   hash, and the address's owner is mailed instead ("someone tried to sign up with your
 *   address"). The answer carries a decoy: a user with a stable pseudo id (HMAC of the address,
 *   under a label of its own: never an id an account can have) and, where a new account would be
 *   signed in at once, tokens of a session that does not exist, which every route refuses and no
 *   refresh renews. Nothing of the existing account is disclosed or handed out.
 * - Adding or changing to an address held by another account answers as for a free address;
 *   the holder is mailed, and nothing changes.
 */

import type { Clock } from "../../lib/clock";
import { randomToken } from "../../lib/crypto";
import type { Config } from "../config";
import { AuthError } from "../errors";
import type { Mailer } from "../mail/mailer";
import type { MailTemplates } from "../mail/templates";
import type { IssuedSession, SessionContext } from "../sessions/sessions.service";
import type { StepUpService } from "../sessions/step-up";
import type { TokenService } from "../tokens/tokens.service";
import { normalizeEmail } from "../users/email-address";
import type { AddEmailResult, EmailService } from "../users/emails.service";
import type { User, UserService } from "../users/users.service";
import { describeClient } from "./notices";

export type TakenAttempt = "sign_up" | "email_change";

export interface ExistenceService {
  /** True when answers may tell that an address has an account (ACCOUNT_EXISTENCE_HINTS). */
  readonly hints: boolean;
  emailExists(email: unknown): Promise<boolean>;
  /** The account holding `email` when answers must hide it (hints off), else null. */
  hiddenOwner(email: string): Promise<User | null>;
  /**
   * Mails the holder of `email` that someone tried to use it; never fails the request.
   * `recipientCounted`: the recipient's mail window was counted already (Mailer.send).
   */
  tellOwner(
    email: string,
    attempt: TakenAttempt,
    ctx?: SessionContext,
    opts?: { recipientCounted?: boolean },
  ): Promise<void>;
  /** A user as a new sign-up with these fields would have been, with a stable pseudo id. */
  decoyUser(email: string, fields: Partial<User>): Promise<User>;
  /** Tokens as a new session would have, of a session that does not exist (see module comment). */
  decoySession(user: User, accessTtl?: number): Promise<IssuedSession>;
  /**
   * Adds an address to a user (EmailService.add); with hints off, an address another account holds
   * answers as added (a stable pseudo id, nothing stored) and its holder is mailed. A new address
   * is a new way to sign in, like an email change: it needs a recent sign-in of `sessionId`
   * (step-up.ts).
   */
  addEmail(
    userId: string,
    address: unknown,
    opts: { max: number; verified?: boolean; ctx?: SessionContext; sessionId: string },
  ): Promise<AddEmailResult>;
}

export function createExistenceService(deps: {
  config: Config;
  clock: Clock;
  users: UserService;
  emails: EmailService;
  tokens: TokenService;
  mailer: Mailer;
  /** Mail in the language of the request. */
  templates: MailTemplates;
  stepUp: StepUpService;
}): ExistenceService {
  const { config, clock, users, emails, tokens, mailer, templates } = deps;
  const hints = config.features.existenceHints;

  const service: ExistenceService = {
    hints,

    async emailExists(raw) {
      if (!hints) return false;
      let email: string;
      try {
        email = normalizeEmail(raw);
      } catch {
        return false;
      }
      return (await users.findByEmail(email)) !== null;
    },

    async hiddenOwner(email) {
      if (hints) return null;
      return users.findByEmail(email);
    },

    async tellOwner(email, attempt, ctx, opts) {
      const when = new Date(clock.now()).toISOString();
      try {
        await mailer.send(
          templates.addressTaken(email, attempt, { when, client: describeClient(ctx) }),
          opts,
        );
      } catch (e) {
        console.error("address-taken notice not sent", e);
      }
    },

    async decoyUser(email, fields) {
      const now = clock.now();
      return {
        emailVerified: false,
        displayName: email,
        avatarUrl: null,
        locale: null,
        metadata: {},
        username: null,
        defaultRole: config.roles.defaultRole,
        allowedRoles: config.roles.defaultAllowed,
        active: false,
        ...fields,
        // Not the "user" pseudo id POST /user answers: a just-in-time sign-up (passcodes.service.ts)
        // makes that one a real account's id, and a decoy's signed token must never name a real user.
        id: await emails.pseudoId("decoy-user", email),
        email,
        passwordHash: null,
        passwordVersion: 0,
        disabled: false,
        totpEnabled: false,
        createdAt: now,
        updatedAt: now,
      };
    },

    async decoySession(user, accessTtl) {
      const sessionId = crypto.randomUUID();
      // The same claims as a real session's, custom ones (JWT_CUSTOM_FIELDS) included.
      const access = await tokens.issue(
        {
          userId: user.id,
          sessionId,
          defaultRole: user.defaultRole,
          allowedRoles: user.allowedRoles,
          profile: user,
        },
        accessTtl,
      );
      return {
        sessionId,
        userId: user.id,
        accessToken: access.token,
        expiresIn: access.expiresIn,
        refreshToken: randomToken(),
      };
    },

    async addEmail(userId, raw, { max, verified = false, ctx, sessionId }) {
      await deps.stepUp.require(userId, sessionId);
      try {
        return await emails.add(userId, raw, { max, verified });
      } catch (e) {
        if (hints || !(e instanceof AuthError) || e.code !== "EMAIL_IN_USE") throw e;
        const address = normalizeEmail(raw);
        // An address the caller already holds is no secret to them.
        const mine = (await emails.list(userId)).some((m) => m.address === address);
        if (mine) throw e;
        const count = (await emails.list(userId)).length;
        if (count >= max) return { kind: "limit_reached" };
        await service.tellOwner(address, "email_change", ctx);
        return {
          kind: "added",
          email: {
            id: await emails.pseudoId(`email:${userId}`, address),
            userId,
            address,
            verified,
            primary: false,
            createdAt: clock.now(),
          },
        };
      }
    },
  };
  return service;
}
