/**
 * Users and their email addresses. Addresses are their own rows (one primary per user), stored
 * normalised (see email-address.ts) under a unique index, so two registrations racing for one
 * address leave exactly one account.
 */
import type { Clock } from "../../lib/clock";
import { AuthError } from "../errors";
import { forgetSessions } from "../sessions/session-cache";
import type { TeamService } from "../teams/teams.service";

export interface User {
  id: string;
  email: string | null;
  emailVerified: boolean;
  displayName: string | null;
  avatarUrl: string | null;
  locale: string | null;
  metadata: Record<string, unknown>;
  username: string | null;
  defaultRole: string;
  allowedRoles: string[];
  passwordHash: string | null;
  passwordVersion: number;
  active: boolean;
  disabled: boolean;
  totpEnabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface NewUser {
  email: string;
  emailVerified?: boolean;
  passwordHash: string | null;
  username?: string | null;
  displayName?: string | null;
  avatarUrl?: string | null;
  locale?: string | null;
  metadata?: Record<string, unknown>;
  defaultRole: string;
  allowedRoles: string[];
  active: boolean;
}

export interface UserService {
  findById(id: string): Promise<User | null>;
  /** Whether a user with this id exists (one primary-key read). */
  exists(id: string): Promise<boolean>;
  findByEmail(address: string): Promise<User | null>;
  findByUsername(username: string): Promise<User | null>;
  create(input: NewUser): Promise<User>;
  /**
   * Marks the user active and the address verified (activation links, magic links, passcodes,
   * OAuth), and creates the user's default team (core/teams) once.
   */
  activate(userId: string, address?: string): Promise<void>;
  setPassword(userId: string, passwordHash: string): Promise<void>;
  /** Replaces the primary address; EMAIL_IN_USE when another account holds it. */
  changePrimaryEmail(userId: string, address: string, verified: boolean): Promise<void>;
  delete(userId: string): Promise<boolean>;
}

type Row = {
  id: string;
  address: string | null;
  verified: number | null;
  display_name: string | null;
  avatar_url: string | null;
  locale: string | null;
  metadata: string;
  username: string | null;
  default_role: string;
  allowed_roles: string;
  password_hash: string | null;
  password_version: number;
  active: number;
  disabled: number;
  totp_enabled: number;
  created_at: number;
  updated_at: number;
};

const SELECT = `SELECT u.*, e.address, e.verified FROM users u LEFT JOIN emails e ON e.user_id = u.id AND e.is_primary = 1`;

function toUser(r: Row): User {
  return {
    id: r.id,
    email: r.address,
    emailVerified: r.verified === 1,
    displayName: r.display_name,
    avatarUrl: r.avatar_url,
    locale: r.locale,
    metadata: JSON.parse(r.metadata),
    username: r.username,
    defaultRole: r.default_role,
    allowedRoles: JSON.parse(r.allowed_roles),
    passwordHash: r.password_hash,
    passwordVersion: r.password_version,
    active: r.active === 1,
    disabled: r.disabled === 1,
    totpEnabled: r.totp_enabled === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const isUniqueViolation = (e: unknown, column: string) =>
  e instanceof Error && /UNIQUE constraint failed/.test(e.message) && e.message.includes(column);

export function createUserService(deps: {
  d1: D1Database;
  clock: Clock;
  /** A verified user gets a default team, whichever dialect verified them. */
  teams: Pick<TeamService, "defaultTeamStatements">;
}): UserService {
  const { d1, clock, teams } = deps;
  const one = async (sql: string, ...args: unknown[]) => {
    const row = await d1
      .prepare(sql)
      .bind(...args)
      .first<Row>();
    return row ? toUser(row) : null;
  };

  const service: UserService = {
    findById: (id) => one(`${SELECT} WHERE u.id = ?`, id),
    exists: async (id) =>
      (await d1.prepare("SELECT 1 AS ok FROM users WHERE id = ?").bind(id).first()) !== null,
    findByEmail: (address) =>
      one(`${SELECT} WHERE u.id = (SELECT user_id FROM emails WHERE address = ?)`, address),
    findByUsername: (username) => one(`${SELECT} WHERE u.username = ?`, username),

    async create(input) {
      const now = clock.now();
      const id = crypto.randomUUID();
      try {
        await d1.batch([
          d1
            .prepare(
              `INSERT INTO users (id, display_name, avatar_url, locale, metadata, username, default_role, allowed_roles,
                password_hash, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            )
            .bind(
              id,
              input.displayName ?? null,
              input.avatarUrl ?? null,
              input.locale ?? null,
              JSON.stringify(input.metadata ?? {}),
              input.username ?? null,
              input.defaultRole,
              JSON.stringify(input.allowedRoles),
              input.passwordHash,
              input.active ? 1 : 0,
              now,
              now,
            ),
          d1
            .prepare(
              "INSERT INTO emails (id, user_id, address, is_primary, verified, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?)",
            )
            .bind(crypto.randomUUID(), id, input.email, input.emailVerified ? 1 : 0, now, now),
          // An address verified at sign-up (an OAuth provider's) is an activation too: its team
          // comes in the same batch.
          ...(input.emailVerified ? teams.defaultTeamStatements(id) : []),
        ]);
      } catch (e) {
        if (isUniqueViolation(e, "emails.address")) throw new AuthError("ACCOUNT_EXISTS", { cause: e });
        if (isUniqueViolation(e, "users.username")) throw new AuthError("ACCOUNT_EXISTS", { cause: e });
        throw e;
      }
      return (await service.findById(id))!;
    },

    async activate(userId, address) {
      const now = clock.now();
      await d1.batch([
        d1.prepare("UPDATE users SET active = 1, updated_at = ? WHERE id = ?").bind(now, userId),
        address
          ? d1
              .prepare("UPDATE emails SET verified = 1, updated_at = ? WHERE user_id = ? AND address = ?")
              .bind(now, userId, address)
          : d1
              .prepare("UPDATE emails SET verified = 1, updated_at = ? WHERE user_id = ? AND is_primary = 1")
              .bind(now, userId),
        // The default team comes with the activation, in the same round trip.
        ...teams.defaultTeamStatements(userId),
      ]);
    },

    async setPassword(userId, passwordHash) {
      await d1
        .prepare(
          "UPDATE users SET password_hash = ?, password_version = password_version + 1, updated_at = ? WHERE id = ?",
        )
        .bind(passwordHash, clock.now(), userId)
        .run();
    },

    async changePrimaryEmail(userId, address, verified) {
      try {
        await d1
          .prepare(
            "UPDATE emails SET address = ?, verified = ?, updated_at = ? WHERE user_id = ? AND is_primary = 1",
          )
          .bind(address, verified ? 1 : 0, clock.now(), userId)
          .run();
      } catch (e) {
        if (isUniqueViolation(e, "emails.address")) throw new AuthError("EMAIL_IN_USE", { cause: e });
        throw e;
      }
    },

    async delete(userId) {
      const r = await d1.prepare("DELETE FROM users WHERE id = ?").bind(userId).run();
      forgetSessions();
      return r.meta.changes > 0;
    },
  };
  return service;
}
