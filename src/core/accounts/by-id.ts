/**
 * Account operations addressed by user id rather than by email, for clients that look the user up
 * first and then authenticate against the id (passwordless sign-up, password login by id, setting
 * a password from a session). The password rules are those of the account service.
 */
import type { Config } from "../config";
import { AuthError } from "../errors";
import { type EventRecorder, noEvents } from "../events/events";
import type { PasswordHasher } from "../passwords/hasher";
import type { PasswordPolicy } from "../passwords/policy";
import type { IssuedSession, SessionContext, SessionService } from "../sessions/sessions.service";
import type { StepUpService } from "../sessions/step-up";
import { normalizeEmail } from "../users/email-address";
import type { EmailService } from "../users/emails.service";
import type { User, UserService } from "../users/users.service";
import type { AccountService, ChangeOrigin } from "./accounts.service";
import type { ExistenceService } from "./existence";
import type { SecurityNotices } from "./notices";

export interface AccountByIdService {
  /**
   * Creates an account with only an email address. Without email verification it is active and
   * gets a session at once (its access token living `accessTtl` seconds when given); with it, it
   * stays inactive until a passcode proves the mailbox. With existence hints off, a taken address
   * answers alike (existence.ts): with verification, the ids `EmailService.lookup` gives the
   * address, so a passcode sign-in that follows reaches the owner's mailbox only; without, a
   * decoy session.
   */
  registerPasswordless(
    email: unknown,
    opts?: { ctx?: SessionContext; accessTtl?: number },
  ): Promise<{ userId: string; emailId: string; session: IssuedSession | null }>;
  /** Password login of a known user id. An unknown id costs a hash and fails like a wrong password. */
  loginWithPassword(input: {
    userId: string;
    password: string;
    ctx?: SessionContext;
  }): Promise<{ user: User; session: IssuedSession }>;
  /**
   * Makes one of the user's addresses the primary one (EmailService.setPrimary). A change of the
   * primary address is an email change: it needs a recent sign-in of `from.sessionId` (step-up.ts),
   * every other session ends and both addresses are told.
   */
  setPrimaryEmail(
    userId: string,
    emailId: string,
    opts: { requireVerified: boolean },
    from: ChangeOrigin,
  ): Promise<void>;
  /**
   * Sets the user's password; `created` tells whether there was none before. Needs a recent sign-in
   * of `from.sessionId` (step-up.ts; no current password is asked). Ends the user's other sessions
   * and mails a notice.
   */
  setPassword(userId: string, password: string, from: ChangeOrigin): Promise<{ created: boolean }>;
}

export function createAccountByIdService(deps: {
  config: Config;
  users: UserService;
  passwords: PasswordHasher;
  sessions: SessionService;
  accounts: AccountService;
  emails: EmailService;
  notices: SecurityNotices;
  existence: ExistenceService;
  passwordPolicy: PasswordPolicy;
  stepUp: StepUpService;
  events?: EventRecorder;
}): AccountByIdService {
  const { config, users, passwords, sessions, accounts, emails, notices, existence } = deps;
  const events = deps.events ?? noEvents;
  return {
    async registerPasswordless(rawEmail, { ctx, accessTtl } = {}) {
      if (!config.features.signup) throw new AuthError("SIGNUP_DISABLED");
      const email = normalizeEmail(rawEmail);
      const active = !config.features.verifyEmails;
      // An address held only as an unverified secondary address is no hold (users.store
      // addressHeld): no owner to hide, and the creating batch frees it.
      const decoy = async () => {
        await existence.tellOwner(email, "sign_up", ctx);
        if (!active) {
          const found = (await emails.lookup(email, { hints: false }))!;
          return { userId: found.userId, emailId: found.emailId, session: null };
        }
        const user = await existence.decoyUser(email, { active: true });
        return {
          userId: user.id,
          emailId: await emails.pseudoId("email", email),
          session: await existence.decoySession(user, accessTtl),
        };
      };
      if (await existence.hiddenOwner(email)) return decoy();
      // One round trip: the release, the account, its address (under an id made here, so it need
      // not be read back) and, when it is active at once, its first session.
      const id = crypto.randomUUID();
      const emailId = crypto.randomUUID();
      const draft = active ? await sessions.draft(id, ["email"], ctx) : undefined;
      let user: User;
      try {
        user = await users.create(
          {
            id,
            emailId,
            email,
            passwordHash: null,
            displayName: email,
            defaultRole: config.roles.defaultRole,
            allowedRoles: config.roles.defaultAllowed,
            active,
          },
          draft,
        );
      } catch (e) {
        if (e instanceof AuthError && e.code === "ACCOUNT_EXISTS" && (await existence.hiddenOwner(email)))
          return decoy();
        throw e;
      }
      events.emit({ type: "user.created", userId: user.id, method: "passwordless" });
      // The access token is minted with the session (no second read of the user for it).
      const session = draft ? await sessions.issueFor(user, draft, 0, accessTtl) : null;
      return { userId: user.id, emailId, session };
    },

    async loginWithPassword({ userId, password, ctx }) {
      if (!config.features.passwords) throw new AuthError("FEATURE_DISABLED");
      const user = /^[0-9a-f-]{36}$/i.test(userId) ? await users.findById(userId.toLowerCase()) : null;
      if (!user?.email) {
        await passwords.burn(typeof password === "string" ? password : "");
        events.emit({
          type: "sign_in.failed",
          userId: null,
          subject: `id:${userId}`,
          reason: "unknown_account",
        });
        // As Hanko 0.12: 401 whether or not the id exists (the 0.12 SDK maps only 401 to a wrong password).
        throw new AuthError("INVALID_CREDENTIALS");
      }
      const result = await accounts.loginWithPassword({ email: user.email, password, ctx });
      // A second factor set up elsewhere cannot be completed by id-based clients: refuse, never skip it.
      if (result.kind === "mfa_required")
        throw new AuthError("FORBIDDEN", { detail: "This account needs a second factor." });
      return { user: result.user, session: result.session };
    },

    async setPrimaryEmail(userId, emailId, opts, from) {
      const before = (await emails.list(userId)).find((e) => e.primary);
      if (before?.id !== emailId) await deps.stepUp.require(userId, from.sessionId);
      await emails.setPrimary(userId, emailId, opts);
      const after = (await emails.list(userId)).find((e) => e.primary);
      if (!after || after.id === before?.id) return;
      events.emit({ type: "email.changed", userId, email: after.address });
      await notices.changed({
        userId,
        event: "email_changed",
        to: [before?.address, after.address],
        ctx: from.ctx,
        endOtherSessions: true,
        keepSessionId: from.sessionId,
        data: { new_email: after.address },
      });
    },

    async setPassword(userId, password, from) {
      if (!config.features.passwords) throw new AuthError("FEATURE_DISABLED");
      const user = await users.findById(userId);
      if (!user) throw new AuthError("NOT_FOUND");
      await deps.passwordPolicy.check(password);
      await deps.stepUp.require(userId, from.sessionId);
      await users.setPassword(userId, await passwords.hash(password));
      events.emit({ type: "password.changed", userId, via: "set" });
      await notices.changed({
        userId,
        event: "password_changed",
        to: [user.email],
        ctx: from.ctx,
        endOtherSessions: true,
        keepSessionId: from.sessionId,
      });
      return { created: user.passwordHash === null };
    },
  };
}
