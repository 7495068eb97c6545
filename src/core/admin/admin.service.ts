/**
 * What an operator does to users through the admin API: list and search, look at one, create,
 * disable and enable, delete with their files, set roles, end sessions, send a password reset,
 * mark an address verified. Who may call it is the caller's business (the dialect's guard); every
 * write here is one batch or one statement (admin.store).
 */
import type { Clock } from "../../lib/clock";
import { fromBase64Url, toBase64Url, utf8 } from "../../lib/encoding";
import type { AccountService, LinkBuilder } from "../accounts/accounts.service";
import type { Config } from "../config";
import { AuthError } from "../errors";
import type { EventRecorder } from "../events/events";
import type { PasswordHasher } from "../passwords/hasher";
import type { PasswordPolicy } from "../passwords/policy";
import { forgetSessions } from "../sessions/session-cache";
import { normalizeEmail } from "../users/email-address";
import type { User, UserService } from "../users/users.service";
import type { AdminStore, ListCursor, UserDetailRows } from "./admin.store";

export const MAX_PAGE = 100;
export const DEFAULT_PAGE = 50;

export interface UserDetail extends Omit<UserDetailRows, "user"> {
  user: User;
}

export interface UserPage {
  users: User[];
  /** Opaque; null on the last page. */
  nextCursor: string | null;
}

export interface AdminService {
  list(q: {
    cursor?: string;
    limit?: number;
    search?: string;
    disabled?: boolean;
    verified?: boolean;
  }): Promise<UserPage>;
  /** NOT_FOUND when the user does not exist. */
  get(userId: string): Promise<UserDetail>;
  /** ACCOUNT_EXISTS when the address is taken; the password, when given, must meet the policy. */
  create(input: {
    email: unknown;
    password?: string;
    emailVerified?: boolean;
    displayName?: string | null;
    defaultRole?: string;
    allowedRoles?: string[];
  }): Promise<UserDetail>;
  /** Disabling ends every session of the user in the same batch. */
  setDisabled(userId: string, disabled: boolean): Promise<void>;
  /** The user, their sessions, and their files (as account deletion removes them). */
  delete(userId: string): Promise<void>;
  setRoles(userId: string, defaultRole: string, allowedRoles: string[]): Promise<void>;
  /** How many live sessions ended. */
  revokeSessions(userId: string): Promise<number>;
  /** Mails the user a reset link through the password-reset flow. */
  sendPasswordReset(userId: string, link: LinkBuilder): Promise<void>;
  /** Marks `email` (default: the primary address) verified; NOT_FOUND when the user does not hold it. */
  verifyEmail(userId: string, email?: unknown): Promise<void>;
}

/** The cursor is the last row's (created_at, id), opaque to clients. */
const encodeCursor = (c: ListCursor) => toBase64Url(utf8(JSON.stringify([c.createdAt, c.id])));

function decodeCursor(cursor: string): ListCursor {
  try {
    const [createdAt, id] = JSON.parse(new TextDecoder().decode(fromBase64Url(cursor))) as unknown[];
    if (Number.isSafeInteger(createdAt) && typeof id === "string")
      return { createdAt: createdAt as number, id };
  } catch {}
  throw new AuthError("INVALID_REQUEST", { detail: '"cursor" is invalid' });
}

export function createAdminService(deps: {
  config: Config;
  clock: Clock;
  store: AdminStore;
  users: UserService;
  accounts: AccountService;
  passwords: PasswordHasher;
  passwordPolicy: PasswordPolicy;
  /** The files of a deleted account (core/storage). */
  files: { removeOwned(userId: string): Promise<void> };
}): AdminService {
  const { config, clock, store, users, accounts, passwords, passwordPolicy, files } = deps;
  const notFound = () => new AuthError("NOT_FOUND", { detail: "No such user." });

  /** Roles an operator may give: those of ALLOWED_USER_ROLES and the admin role; the default among them. */
  function checkRoles(defaultRole: string, allowedRoles: string[]) {
    const grantable = new Set([...config.roles.allowed, ...(config.admin.role ? [config.admin.role] : [])]);
    const unknown = allowedRoles.find((r) => !grantable.has(r));
    if (unknown !== undefined)
      throw new AuthError("INVALID_REQUEST", {
        detail: `"allowed_roles" holds a role that is not allowed: ${unknown}`,
      });
    if (!allowedRoles.includes(defaultRole))
      throw new AuthError("INVALID_REQUEST", { detail: '"default_role" must be one of "allowed_roles"' });
    return { defaultRole, allowedRoles: [...new Set(allowedRoles)] };
  }

  const service: AdminService = {
    async list({ cursor, limit = DEFAULT_PAGE, search, disabled, verified }) {
      const size = Math.min(Math.max(limit, 1), MAX_PAGE);
      // One row more than asked tells whether a next page exists.
      const rows = await store.list({
        after: cursor ? decodeCursor(cursor) : null,
        limit: size + 1,
        search: search?.trim() || undefined,
        disabled,
        verified,
      });
      const page = rows.slice(0, size);
      const last = page[page.length - 1];
      return {
        users: page,
        nextCursor: rows.length > size && last ? encodeCursor(last) : null,
      };
    },

    async get(userId) {
      const found = await store.detail(userId, clock.now());
      if (!found) throw notFound();
      return found;
    },

    async create(input) {
      const email = normalizeEmail(input.email);
      const roles = checkRoles(
        input.defaultRole ?? config.roles.defaultRole,
        input.allowedRoles ?? config.roles.defaultAllowed,
      );
      let passwordHash: string | null = null;
      if (input.password !== undefined) {
        if (!config.features.passwords) throw new AuthError("FEATURE_DISABLED");
        await passwordPolicy.check(input.password);
        passwordHash = await passwords.hash(input.password);
      }
      const verified = input.emailVerified ?? false;
      // The unique address index decides a race: one create wins, the other is ACCOUNT_EXISTS.
      const user = await users.create({
        email,
        emailVerified: verified,
        passwordHash,
        displayName: input.displayName ?? null,
        ...roles,
        active: verified || config.features.autoActivate,
      });
      return service.get(user.id);
    },

    async setDisabled(userId, disabled) {
      if (!(await store.setDisabled(userId, disabled, clock.now()))) throw notFound();
      if (disabled) forgetSessions();
    },

    async delete(userId) {
      if (!(await users.delete(userId))) throw notFound();
      // The user is gone first, so no file token of theirs works even while removal runs.
      await files.removeOwned(userId);
    },

    async setRoles(userId, defaultRole, allowedRoles) {
      const roles = checkRoles(defaultRole, allowedRoles);
      if (!(await store.setRoles(userId, roles.defaultRole, roles.allowedRoles, clock.now())))
        throw notFound();
    },

    async revokeSessions(userId) {
      const ended = await store.revokeSessions(userId, clock.now());
      if (ended === null) throw notFound();
      forgetSessions();
      return ended;
    },

    async sendPasswordReset(userId, link) {
      const user = await users.findById(userId);
      if (!user) throw notFound();
      if (user.disabled) throw new AuthError("ACCOUNT_DISABLED");
      if (!user.email) throw new AuthError("INVALID_REQUEST", { detail: "The user has no email address." });
      // The reset flow mails only an active account (its ticket lookup checks again in the same statement).
      if (!user.active) throw new AuthError("ACCOUNT_NOT_ACTIVE");
      await accounts.requestPasswordReset(user.email, link);
    },

    async verifyEmail(userId, email) {
      const address = email === undefined ? undefined : normalizeEmail(email);
      if (!(await store.verifyEmail(userId, address, clock.now()))) throw notFound();
    },
  };
  return service;
}

/**
 * The admin service acting for `actor` (a user id, or "service" for the service key): each change
 * that succeeded is recorded as an `admin.action` event (audit log), and what webhooks announce
 * for any account (user.created, user.deleted, session.revoked) is emitted as the account's own
 * routes emit it. Reads are not recorded.
 */
export function actingAs(admin: AdminService, events: EventRecorder, actor: string): AdminService {
  const record = (action: string, userId: string, detail?: Record<string, string | number | boolean>) =>
    events.emit({ type: "admin.action", actor, action, userId, ...(detail ? { detail } : {}) });
  return {
    list: (q) => admin.list(q),
    get: (id) => admin.get(id),
    async create(input) {
      const made = await admin.create(input);
      events.emit({
        type: "user.created",
        userId: made.user.id,
        method: input.password ? "password" : "passwordless",
      });
      record("user.create", made.user.id);
      return made;
    },
    async setDisabled(id, disabled) {
      await admin.setDisabled(id, disabled);
      record(disabled ? "user.disable" : "user.enable", id);
    },
    async delete(id) {
      await admin.delete(id);
      events.emit({ type: "user.deleted", userId: id, by: "admin" });
      record("user.delete", id);
    },
    async setRoles(id, defaultRole, allowedRoles) {
      await admin.setRoles(id, defaultRole, allowedRoles);
      record("user.set_roles", id, { default_role: defaultRole, allowed_roles: allowedRoles.join(",") });
    },
    async revokeSessions(id) {
      const revoked = await admin.revokeSessions(id);
      record("user.revoke_sessions", id, { revoked });
      return revoked;
    },
    async sendPasswordReset(id, link) {
      await admin.sendPasswordReset(id, link);
      record("user.password_reset", id);
    },
    async verifyEmail(id, email) {
      await admin.verifyEmail(id, email);
      record("user.verify_email", id);
    },
  };
}
