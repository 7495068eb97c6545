/**
 * Account flows shared by every dialect: registration, password and magic-link login, the MFA
 * step, activation, password reset and change, email change, self-deletion. Outcomes a client
 * must branch on (a session, a pending activation, an MFA step) are return values; failures are
 * AuthErrors. Links in mail come from builders the caller derives from configured URLs.
 */

import type { Clock } from "../../lib/clock";
import type { Config } from "../config";
import { AuthError, isAuthError } from "../errors";
import { type EventRecorder, noEvents, type SignInFailure } from "../events/events";
import type { Mailer } from "../mail/mailer";
import type { MailTemplates } from "../mail/templates";
import type { PasswordHasher } from "../passwords/hasher";
import type { PasswordPolicy } from "../passwords/policy";
import type { AttemptCounter } from "../rate-limit/attempts";
import type { DeferredLimit } from "../rate-limit/ip-limiter";
import type { RecoveryCodeService } from "../recovery/recovery-codes.service";
import { forgetSessions } from "../sessions/session-cache";
import type { IssuedSession, SessionContext, SessionService } from "../sessions/sessions.service";
import type { StepUpService } from "../sessions/step-up";
import type { TicketPurpose, TicketService } from "../tickets/tickets.service";
import type { SpendExtras } from "../tickets/tickets.store";
import type { TotpService } from "../totp/totp.service";
import { normalizeEmail } from "../users/email-address";
import type { User, UserService } from "../users/users.service";
import type { ExistenceService } from "./existence";
import type { SecurityNotices } from "./notices";

export type LinkBuilder = (token: string) => string;

/** The session making a security change (it stays signed in) and its client (named in the notice). */
export interface ChangeOrigin {
  sessionId: string;
  ctx?: SessionContext;
}

export type LoginResult =
  | { kind: "session"; user: User; session: IssuedSession }
  | { kind: "mfa_required"; user: User; ticket: string };

export type RegisterResult =
  | { kind: "session"; user: User; session: IssuedSession }
  | { kind: "pending"; user: User };

const MINUTE = 60_000;
export const TICKET_TTL = {
  activation: 60 * MINUTE,
  magicLink: 10 * MINUTE,
  passwordReset: 30 * MINUTE,
  emailChange: 60 * MINUTE,
  mfa: 5 * MINUTE,
} as const;
const MFA_TICKET_MAX_ATTEMPTS = 5;

export interface AccountService {
  register(input: {
    email: unknown;
    password?: string;
    username?: string;
    displayName?: string | null;
    avatarUrl?: string | null;
    locale?: string | null;
    metadata?: Record<string, unknown>;
    defaultRole?: string;
    allowedRoles?: string[];
    /** Activation link for password registrations that need one. */
    activationLink: LinkBuilder;
    /** Passwordless registration: the link that signs the new user in. */
    magicLink?: LinkBuilder;
    /**
     * compat(vault): the new user gets a session at once and confirms the address later (the
     * activation link is still mailed, and activates the account). Until then the account can
     * sign in only where `allowUnverified` is passed, so no other dialect skips verification.
     */
    signInBeforeVerification?: boolean;
    ctx?: SessionContext;
  }): Promise<RegisterResult>;
  /** Signs in by email address, or by `username` when given (formauth). */
  loginWithPassword(input: {
    email?: unknown;
    username?: string;
    password: string;
    ctx?: SessionContext;
    /** compat(vault): accounts registered with signInBeforeVerification may sign in unverified. */
    allowUnverified?: boolean;
  }): Promise<LoginResult>;
  completeMfa(input: {
    ticket: string;
    code: string;
    ctx?: SessionContext;
  }): Promise<{ user: User; session: IssuedSession }>;
  activate(ticket: string, ctx?: SessionContext): Promise<{ user: User; session: IssuedSession }>;
  /** Spends an activation ticket and confirms the address, without starting a session. */
  confirmEmail(ticket: string): Promise<User>;
  /** Mails a new activation link (only the newest works); INVALID_REQUEST when already verified. */
  resendActivation(userId: string, link: LinkBuilder): Promise<void>;
  /**
   * Mails a sign-in link when the address belongs to an account; silent otherwise. `limit`: the
   * route's per-IP mail window, counted in the request's round trip.
   */
  requestMagicLink(email: unknown, link: LinkBuilder, limit?: DeferredLimit): Promise<void>;
  consumeMagicLink(
    token: string,
    action: "log-in" | "register",
    ctx?: SessionContext,
  ): Promise<{ user: User; session: IssuedSession }>;
  /**
   * Mails a reset link when the address belongs to an active account; silent otherwise. `limit`:
   * the route's per-IP mail window, counted in the request's round trip.
   */
  requestPasswordReset(email: unknown, link: LinkBuilder, limit?: DeferredLimit): Promise<void>;
  /** Sets the password from a reset ticket and ends every session; the user gets a notice. */
  resetPassword(ticket: string, password: string, ctx?: SessionContext): Promise<void>;
  /**
   * Checks the current password (when one is set: that proof is the step-up), sets the new one,
   * ends the other sessions; the user gets a notice. Without a current password the session must
   * have signed in recently (step-up.ts).
   */
  changePassword(input: {
    userId: string;
    sessionId: string;
    oldPassword: string;
    newPassword: string;
    ctx?: SessionContext;
  }): Promise<void>;
  /**
   * Changes the address at once (no verification); ends the other sessions, notifies both addresses.
   * Like requestEmailChange, needs a recent sign-in of `from.sessionId` (step-up.ts).
   */
  changeEmailDirect(userId: string, newEmail: unknown, from: ChangeOrigin): Promise<void>;
  /**
   * Mails a confirmation link to the new address (with hints off, a taken one's holder is told
   * instead). `limit`: the route's per-IP mail window, counted in the request's round trip.
   */
  requestEmailChange(
    userId: string,
    newEmail: unknown,
    link: LinkBuilder,
    from: ChangeOrigin,
    limit?: DeferredLimit,
  ): Promise<void>;
  /** Confirms a requested change; ends every session but the requesting one, notifies both addresses. */
  confirmEmailChange(ticket: string, ctx?: SessionContext): Promise<void>;
  /** Turns TOTP on (see TotpService.enable), ends the other sessions, notifies the user. */
  enableTotp(userId: string, code: string, from: ChangeOrigin): Promise<void>;
  /**
   * Turns TOTP off (see TotpService.disable), ends the other sessions, notifies the user. The
   * current code it takes is the step-up: no recent sign-in is asked for on top.
   */
  disableTotp(userId: string, code: string, from: ChangeOrigin): Promise<void>;
  /**
   * Deletes the account, its sessions and its files (see StorageService.removeOwned), from a
   * session that signed in recently (step-up.ts).
   */
  deleteSelf(userId: string, from: { sessionId: string }): Promise<void>;
  /** The user behind a principal, or INVALID_TOKEN when it is gone. */
  currentUser(userId: string): Promise<User>;
}

export function createAccountService(deps: {
  config: Config;
  clock: Clock;
  users: UserService;
  passwords: PasswordHasher;
  sessions: SessionService;
  tickets: TicketService;
  mailer: Mailer;
  /** Mail in the language of the request. */
  templates: MailTemplates;
  attempts: AttemptCounter;
  totp: TotpService;
  recoveryCodes: RecoveryCodeService;
  /** The files of a deleted account (core/storage). */
  files: { removeOwned(userId: string): Promise<void> };
  notices: SecurityNotices;
  existence: ExistenceService;
  passwordPolicy: PasswordPolicy;
  stepUp: StepUpService;
  events?: EventRecorder;
}): AccountService {
  const events = deps.events ?? noEvents;
  /** A refused sign-in: the account when one is known, else the identifier tried (hashed by the recorder). */
  const failed = (reason: SignInFailure, userId: string | null, subject?: string | null) =>
    events.emit({ type: "sign_in.failed", userId, subject: subject ?? undefined, reason });
  const {
    config,
    users,
    passwords,
    sessions,
    tickets,
    mailer,
    templates,
    attempts,
    totp,
    recoveryCodes,
    notices,
    existence,
    passwordPolicy,
    stepUp,
  } = deps;

  function usable(user: User | null): User {
    if (!user) throw new AuthError("INVALID_TICKET");
    if (user.disabled) throw new AuthError("ACCOUNT_DISABLED");
    return user;
  }

  async function startSession(user: User, amr: string[], ctx?: SessionContext) {
    return { user, session: await sessions.create(user, amr, ctx) };
  }

  /**
   * Spends the ticket of `userId` into a new session in one round trip (tickets.spendIntoSession):
   * under parallel submissions exactly one makes a session, and a failure leaves the ticket unspent.
   */
  async function spendIntoSession(
    ticket: string,
    purpose: TicketPurpose,
    userId: string,
    amr: string[],
    ctx: SessionContext | undefined,
    extras?: SpendExtras,
  ) {
    const { user, session } = await spendIntoSessionWith(ticket, purpose, userId, amr, ctx, extras);
    return { user, session };
  }

  /** spendIntoSession, answering what the spend's batch read too. */
  async function spendIntoSessionWith(
    ticket: string,
    purpose: TicketPurpose,
    userId: string,
    amr: string[],
    ctx: SessionContext | undefined,
    extras?: SpendExtras,
  ) {
    const draft = await sessions.draft(userId, amr, ctx);
    const spent = await tickets.spendIntoSession(ticket, purpose, draft, extras);
    // A code is checked before its ticket is spent (a replayed code is INVALID_OTP either way).
    if (spent === "step_used") throw new AuthError("INVALID_OTP");
    if (!spent) throw new AuthError("INVALID_TICKET");
    const user = usable(spent.user);
    return { user, session: await sessions.issueFor(user, draft, spent.endedOthers), spent };
  }

  /**
   * The MFA step with a recovery code instead of a TOTP code: counted on the account like a TOTP
   * try (in the round trip that looks the code up), then spent with the ticket in the session's
   * batch (one success under parallel uses), which also counts the codes left; the user is told,
   * with that count. Three round trips with the ticket's attempt, as with a TOTP code.
   */
  async function completeWithRecoveryCode(
    ticket: string,
    grant: { userId: string; totp: { totpEnabled: boolean } | null },
    normalized: string,
    amr: string[],
    ctx: SessionContext | undefined,
  ) {
    const { userId } = grant;
    if (!grant.totp) throw new AuthError("INVALID_TOKEN");
    if (!grant.totp.totpEnabled) throw new AuthError("MFA_NOT_ENABLED");
    const key = `totp:${userId}`;
    const tried = await recoveryCodes.attempt(userId, normalized, key, attempts.policy);
    attempts.assertUnlocked(tried.lock.lockedUntil, tried.now, { state: tried.lock, key, userId });
    if (!tried.unused) {
      failed("invalid_otp", userId);
      throw new AuthError("INVALID_OTP");
    }
    const { spent, ...done } = await spendIntoSessionWith(ticket, "mfa", userId, [...amr, "otp"], ctx, {
      recoveryCodeMac: tried.mac,
      clearAttempts: key,
    });
    const remaining = spent.recoveryCodesLeft ?? 0;
    await notices.changed({
      userId,
      event: "recovery_code_used",
      to: [done.user.email],
      ctx,
      data: { remaining: String(remaining) },
    });
    return done;
  }

  /** The address an activation-like ticket proves (the primary one when it names none). */
  const provenAddress = (data: Record<string, unknown>) =>
    typeof data.email === "string" ? data.email : undefined;

  function checkRoles(defaultRole: string | undefined, allowedRoles: string[] | undefined) {
    const allowed = allowedRoles ?? config.roles.defaultAllowed;
    const role = defaultRole ?? config.roles.defaultRole;
    if (!allowed.includes(role)) {
      throw new AuthError("ROLE_NOT_ALLOWED", { detail: "Default role must be part of allowed roles." });
    }
    if (!allowed.every((r) => config.roles.allowed.includes(r))) {
      throw new AuthError("ROLE_NOT_ALLOWED", { detail: "allowed roles must be a subset of ALLOWED_ROLES" });
    }
    return { defaultRole: role, allowedRoles: [...new Set(allowed)] };
  }

  /** TOTP on or off: every session but the changing one ends, and the user hears of it. */
  async function switchTotp(userId: string, code: string, from: ChangeOrigin, on: boolean) {
    const user = usable(await users.findById(userId));
    await (on ? totp.enable(userId, code) : totp.disable(userId, code));
    events.emit({ type: on ? "mfa.enabled" : "mfa.disabled", userId });
    await notices.changed({
      userId,
      event: on ? "totp_enabled" : "totp_disabled",
      to: [user.email],
      ctx: from.ctx,
      endOtherSessions: true,
      keepSessionId: from.sessionId,
    });
  }

  /**
   * An email change: the new primary address, with the user's reset tickets spent (a ticket dies
   * with an email change) and every session but the changing one ended, in one round trip; then
   * both addresses hear of it.
   */
  async function changeEmail(
    userId: string,
    old: string | null,
    next: string,
    verified: boolean,
    keepSessionId: string | null,
    ctx?: SessionContext,
  ) {
    await users.changePrimaryEmail(userId, next, verified, {
      spendTickets: "password_reset",
      endSessions: { keep: keepSessionId },
    });
    events.emit({ type: "email.changed", userId, email: next });
    await notices.changed({
      userId,
      event: "email_changed",
      to: [old, next],
      ctx,
      data: { new_email: next },
    });
  }

  const service: AccountService = {
    async register(input) {
      if (!config.features.signup) throw new AuthError("SIGNUP_DISABLED");
      const email = normalizeEmail(input.email);
      const roles = checkRoles(input.defaultRole, input.allowedRoles);
      const hasPassword = input.password !== undefined;
      if (hasPassword) {
        if (!config.features.passwords) throw new AuthError("FEATURE_DISABLED");
        await passwordPolicy.check(input.password!);
      } else if (!input.magicLink) {
        throw new AuthError("INVALID_REQUEST", { detail: "A password is required." });
      }
      const passwordHash = hasPassword ? await passwords.hash(input.password!) : null;
      const active = hasPassword && config.features.autoActivate;
      const signedIn =
        (active && !input.signInBeforeVerification) || (hasPassword && !!input.signInBeforeVerification);
      /** A taken address, with hints off: the answer of a new sign-up, the owner is told (existence.ts). */
      const decoy = async (): Promise<RegisterResult> => {
        await existence.tellOwner(email, "sign_up", input.ctx);
        const user = await existence.decoyUser(email, {
          displayName: input.displayName ?? email,
          avatarUrl: input.avatarUrl ?? null,
          locale: input.locale ?? null,
          metadata: input.metadata ?? {},
          username: input.username ?? null,
          ...roles,
          active,
        });
        if (signedIn) return { kind: "session", user, session: await existence.decoySession(user) };
        return { kind: "pending", user };
      };
      if (await existence.hiddenOwner(email)) return decoy();
      // An account that is active at once gets its first session in the batch that creates it.
      const sessionAtOnce = active && !input.signInBeforeVerification;
      const id = crypto.randomUUID();
      const draft = sessionAtOnce ? await sessions.draft(id, ["pwd"], input.ctx) : undefined;
      let user: User;
      try {
        user = await users.create(
          {
            id,
            email,
            passwordHash,
            username: input.username ?? null,
            displayName: input.displayName ?? email,
            avatarUrl: input.avatarUrl ?? null,
            locale: input.locale ?? null,
            metadata: input.metadata,
            ...roles,
            active,
          },
          draft,
        );
      } catch (e) {
        // A parallel sign-up took the address first (a taken username stays an error).
        if (e instanceof AuthError && e.code === "ACCOUNT_EXISTS" && (await existence.hiddenOwner(email)))
          return decoy();
        throw e;
      }
      events.emit({
        type: "user.created",
        userId: user.id,
        method: hasPassword ? "password" : "passwordless",
      });
      if (draft) return { kind: "session", user, session: await sessions.issueFor(user, draft, 0) };

      // The language the new user chose (hbp user_data.locale), when we have it; else the request's.
      const mail = templates.in(input.locale);
      try {
        if (hasPassword) {
          const ticket = await tickets.issue({
            purpose: "activation",
            userId: user.id,
            ttlMs: TICKET_TTL.activation,
            data: { email },
          });
          await mailer.send(
            mail.activation(email, input.activationLink(ticket), ticket, TICKET_TTL.activation / 1000),
          );
        } else {
          const token = await tickets.issue({
            purpose: "magic_register",
            userId: user.id,
            ttlMs: TICKET_TTL.magicLink,
            data: { email },
          });
          await mailer.send(
            mail.magicLink(email, input.magicLink!(token), token, TICKET_TTL.magicLink / 1000),
          );
        }
      } catch (e) {
        // Without its first mail the new account would be stuck (address taken, nothing to
        // activate it with): remove it, so the sign-up can simply be tried again.
        await users.delete(user.id).catch(() => {});
        throw e;
      }
      if (hasPassword && input.signInBeforeVerification)
        return { kind: "session", ...(await startSession(user, ["pwd"], input.ctx)) };
      return { kind: "pending", user };
    },

    async loginWithPassword({ email: rawEmail, username, password, ctx, allowUnverified }) {
      if (!config.features.passwords) throw new AuthError("FEATURE_DISABLED");
      const email = username === undefined ? normalizeEmail(rawEmail) : null;
      if (typeof password !== "string" || password.length > 4096) throw new AuthError("INVALID_CREDENTIALS");
      // Counted per address (or username) before any hashing, whether or not the account exists;
      // the count and the account are read in one round trip.
      const key = email ? `login:${email}` : `login-name:${username}`;
      const found = await users.findForLogin(
        email ? { email } : { username: username! },
        key,
        attempts.policy,
      );
      const user = found.user;
      const subject = email ?? username!;
      try {
        attempts.assertUnlocked(found.lockedUntil, found.now, {
          state: found.lock,
          key,
          userId: user?.id ?? null,
        });
      } catch (e) {
        failed("locked", user?.id ?? null, subject);
        throw e;
      }
      if (!user?.passwordHash) {
        await passwords.burn(password);
        failed(user ? "wrong_password" : "unknown_account", user?.id ?? null, subject);
        throw new AuthError(
          user || !config.features.existenceHints ? "INVALID_CREDENTIALS" : "ACCOUNT_NOT_FOUND",
        );
      }
      const check = await passwords.verify(password, user.passwordHash);
      if (!check.ok) {
        failed("wrong_password", user.id);
        throw new AuthError("INVALID_CREDENTIALS");
      }
      // The right password clears the counter, and a hash made with weaker parameters is replaced:
      // both ride along with the session's write when there is one.
      const rehash = check.needsRehash ? await passwords.hash(password) : undefined;
      const startsSession = !user.disabled && (user.active || allowUnverified) && !user.totpEnabled;
      if (!startsSession) {
        await attempts.clear(key);
        if (rehash) await users.rehash(user.id, user.passwordHash, rehash);
      }
      if (user.disabled) {
        failed("disabled", user.id);
        throw new AuthError("ACCOUNT_DISABLED");
      }
      if (!user.active && !allowUnverified) {
        failed("not_active", user.id);
        throw new AuthError("ACCOUNT_NOT_ACTIVE");
      }
      // A user who turned TOTP on keeps it even if MFA_ENABLED is later switched off (fail closed).
      if (user.totpEnabled) {
        const ticket = await tickets.issue({
          purpose: "mfa",
          userId: user.id,
          ttlMs: TICKET_TTL.mfa,
          data: { amr: ["pwd"] },
        });
        return { kind: "mfa_required", user, ticket };
      }
      const session = await sessions.create(user, ["pwd"], ctx, {
        clearAttempts: key,
        rehash: rehash ? { from: user.passwordHash, to: rehash } : undefined,
      });
      return { kind: "session", user, session };
    },

    async completeMfa({ ticket, code, ctx }) {
      // Three round trips: the ticket's attempt with the user's TOTP state; the code's attempt on
      // the account; then one batch claims the code's step, spends the ticket into the session and
      // clears the account's counter, all or nothing.
      const grant = await tickets.attemptWithTotp(ticket, "mfa", MFA_TICKET_MAX_ATTEMPTS);
      if (!grant) throw new AuthError("INVALID_TICKET");
      const amr = Array.isArray(grant.data.amr) ? (grant.data.amr as string[]) : [];
      const recovery = recoveryCodes.normalize(code);
      if (recovery) return completeWithRecoveryCode(ticket, grant, recovery, amr, ctx);
      let checked: Awaited<ReturnType<TotpService["checkWith"]>>;
      try {
        checked = await totp.checkWith(grant.userId, grant.totp, code);
      } catch (e) {
        if (isAuthError(e)) failed(e.code === "TOO_MANY_ATTEMPTS" ? "locked" : "invalid_otp", grant.userId);
        throw e;
      }
      const { step, clear } = checked;
      // Only one of several parallel correct submissions may turn the ticket into a session.
      return spendIntoSession(ticket, "mfa", grant.userId, [...amr, "otp"], ctx, {
        totpStep: step,
        clearAttempts: clear,
      });
    },

    async activate(ticket, ctx) {
      const grant = await tickets.peek(ticket, "activation");
      if (!grant) throw new AuthError("INVALID_TICKET");
      return spendIntoSession(ticket, "activation", grant.userId, ["email"], ctx, {
        activate: { address: provenAddress(grant.data) },
      });
    },

    async confirmEmail(ticket) {
      const grant = await tickets.consume(ticket, "activation");
      if (!grant) throw new AuthError("INVALID_TICKET");
      await users.activate(grant.userId, typeof grant.data.email === "string" ? grant.data.email : undefined);
      return usable(await users.findById(grant.userId));
    },

    async resendActivation(userId, link) {
      const user = usable(await users.findById(userId));
      if (!user.email)
        throw new AuthError("INVALID_REQUEST", { detail: "The account has no email address." });
      if (user.emailVerified)
        throw new AuthError("INVALID_REQUEST", { detail: "The email address is already verified." });
      const ticket = await tickets.issue({
        purpose: "activation",
        userId,
        ttlMs: TICKET_TTL.activation,
        data: { email: user.email },
        replace: true,
      });
      await mailer.send(templates.activation(user.email, link(ticket), ticket, TICKET_TTL.activation / 1000));
    },

    async requestMagicLink(rawEmail, link, limit) {
      const email = normalizeEmail(rawEmail);
      // Only for an enabled account holding the address. One round trip: the route's mail window,
      // the lookup, the recipient's mail window and the ticket; past either window nothing is
      // issued and no mail goes out.
      const window = mailer.recipientWindow?.() ?? null;
      const { token, routeCounts } = await tickets.issueForHolder(email, {
        purpose: "magic_link",
        ttlMs: TICKET_TTL.magicLink,
        data: { email },
        window,
        routeWindows: limit?.windows,
      });
      limit?.check(routeCounts);
      if (!token) return;
      await mailer.send(templates.magicLink(email, link(token), token, TICKET_TTL.magicLink / 1000), {
        recipientCounted: window !== null,
      });
    },

    async consumeMagicLink(token, action, ctx) {
      const purpose = action === "register" ? "magic_register" : "magic_link";
      const grant = await tickets.peek(token, purpose);
      if (!grant) throw new AuthError("INVALID_TICKET");
      // The link reached the mailbox, which is what activation proves.
      return spendIntoSession(token, purpose, grant.userId, ["email"], ctx, {
        activate: { address: provenAddress(grant.data) },
      });
    },

    async requestPasswordReset(rawEmail, link, limit) {
      if (!config.features.lostPassword) throw new AuthError("FEATURE_DISABLED");
      const email = normalizeEmail(rawEmail);
      // Only for an active, enabled account holding the address, and only the newest reset ticket
      // works; the lookup and the ticket are one round trip. The ticket carries the password
      // version, so any later password change kills it. The route's and the recipient's mail
      // windows are counted in that round trip too: past either, no ticket replaces the open one
      // and no mail goes out.
      const window = mailer.recipientWindow?.() ?? null;
      const { token: ticket, routeCounts } = await tickets.issueForHolder(email, {
        purpose: "password_reset",
        ttlMs: TICKET_TTL.passwordReset,
        data: { email },
        replace: true,
        activeOnly: true,
        withPasswordVersion: true,
        window,
        routeWindows: limit?.windows,
      });
      limit?.check(routeCounts);
      if (!ticket) return;
      await mailer.send(
        templates.passwordReset(email, link(ticket), ticket, TICKET_TTL.passwordReset / 1000),
        { recipientCounted: window !== null },
      );
    },

    async resetPassword(ticket, password, ctx) {
      if (!config.features.lostPassword) throw new AuthError("FEATURE_DISABLED");
      await passwordPolicy.check(password);
      // One round trip: the spend, and with it (when the ticket still matches the account) the new
      // password and the end of every session.
      const spent = await tickets.spendIntoPassword(ticket, "password_reset", await passwords.hash(password));
      if (!spent) throw new AuthError("INVALID_TICKET");
      const user = usable(spent.user);
      // A ticket dies with any later password or email change.
      if (!spent.changed) throw new AuthError("INVALID_TICKET");
      forgetSessions();
      events.emit({ type: "password.changed", userId: user.id, via: "reset" });
      await notices.changed({ userId: user.id, event: "password_reset_done", to: [user.email], ctx });
    },

    async changePassword({ userId, sessionId, oldPassword, newPassword, ctx }) {
      if (!config.features.passwords) throw new AuthError("FEATURE_DISABLED");
      const user = usable(await users.findById(userId));
      await passwordPolicy.check(newPassword);
      // Without a password to prove, the session itself must be a recent sign-in.
      if (!user.passwordHash) await stepUp.require(userId, sessionId);
      if (user.passwordHash) {
        const key = `password:${userId}`;
        await attempts.reserve(key);
        if (!(await passwords.verify(oldPassword ?? "", user.passwordHash)).ok)
          throw new AuthError("INVALID_CREDENTIALS");
        await attempts.clear(key);
      }
      await users.setPassword(userId, await passwords.hash(newPassword));
      await tickets.revokeAll(userId, "password_reset");
      events.emit({ type: "password.changed", userId, via: "change" });
      await sessions.revokeAll(userId, sessionId, "security_change");
      await notices.changed({ userId, event: "password_changed", to: [user.email], ctx });
    },

    async changeEmailDirect(userId, rawEmail, from) {
      const email = normalizeEmail(rawEmail);
      await stepUp.require(userId, from.sessionId);
      const found = await users.findWithHolder(userId, email);
      const user = usable(found.user);
      if (user.email === email) return;
      // With hints off a taken address answers as changed (existence.ts hiddenOwner); its holder is told.
      if (!existence.hints && found.holder) return existence.tellOwner(email, "email_change", from.ctx);
      await changeEmail(userId, user.email, email, false, from.sessionId, from.ctx);
    },

    async requestEmailChange(userId, rawEmail, link, from, limit) {
      const email = normalizeEmail(rawEmail);
      // A recent sign-in first (no round trip of its own after a bearer check: step-up.ts).
      await stepUp.require(userId, from.sessionId);
      // One round trip: the route's mail window, the user and the address's holder, the
      // recipient's window and the ticket (the open one spent). The store writes only where the
      // checks below all pass (it repeats them in SQL), so a refusal leaves nothing behind: a new
      // check must run before this round trip, or join the store's SQL too. The ticket carries
      // the password version and the primary address: any later change of either kills it.
      const recipient = mailer.recipientWindow?.() ?? null;
      const found = await tickets.issueForNewAddress(userId, email, {
        purpose: "email_change",
        ttlMs: TICKET_TTL.emailChange,
        data: { email, sid: from.sessionId },
        windows: limit?.windows ?? [],
        recipient,
        notifyHolder: !existence.hints,
      });
      limit?.check(found.counts);
      usable(found.user);
      const holder = found.holder;
      const counted = { recipientCounted: recipient !== null };
      if (holder && holder.id !== userId && !existence.hints) {
        if (!found.recipientWithin) return;
        return existence.tellOwner(email, "email_change", from.ctx, counted);
      }
      if (holder) throw new AuthError("EMAIL_IN_USE");
      // Past the recipient's window: no ticket and no mail (as the mailer drops mail past it).
      if (!found.token) return;
      await mailer.send(
        templates.emailChange(email, link(found.token), found.token, TICKET_TTL.emailChange / 1000),
        counted,
      );
    },

    async confirmEmailChange(ticket, ctx) {
      const grant = await tickets.consumeWithUser(ticket, "email_change");
      if (!grant) throw new AuthError("INVALID_TICKET");
      const user = usable(grant.user);
      if (grant.data.pv !== user.passwordVersion || grant.data.from !== user.email)
        throw new AuthError("INVALID_TICKET");
      const email = String(grant.data.email);
      const sid = typeof grant.data.sid === "string" ? grant.data.sid : null;
      await changeEmail(user.id, user.email, email, true, sid, ctx);
    },

    enableTotp: (userId, code, from) => switchTotp(userId, code, from, true),

    disableTotp: (userId, code, from) => switchTotp(userId, code, from, false),

    async deleteSelf(userId, from) {
      await stepUp.require(userId, from.sessionId);
      if (!(await users.delete(userId))) throw new AuthError("INVALID_TOKEN");
      events.emit({ type: "user.deleted", userId, by: "self" });
      // The user is gone first, so no file token of theirs works even while removal runs.
      await deps.files.removeOwned(userId);
    },

    async currentUser(userId) {
      const user = await users.findById(userId);
      if (!user || user.disabled) throw new AuthError("INVALID_TOKEN");
      return user;
    },
  };
  return service;
}
