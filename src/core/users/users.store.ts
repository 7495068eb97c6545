/**
 * D1 store of users and their primary addresses. Addresses live under a unique index, so two
 * registrations racing for one address leave exactly one account.
 */
import { and, eq, isNull, ne, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { isUniqueViolation } from "../../db/errors";
import { emails, sessions, tickets, users } from "../../db/schema";
import { AuthError } from "../errors";
import {
  type AttemptPolicy,
  type LockState,
  lockState,
  reserveStatement,
} from "../rate-limit/attempts.store";
import {
  type NewRefreshToken,
  type NewSession,
  revokeAllStatement,
  sessionStatements,
} from "../sessions/sessions.store";
import { defaultTeamStatements } from "../teams/teams.store";

type UserColumns = typeof users.$inferSelect;

/** A user with the primary address (null address, unverified, when the user has none). */
export type UserRow = Omit<UserColumns, "totpSecret" | "totpPendingSecret" | "totpLastStep"> & {
  email: string | null;
  emailVerified: boolean;
};

export type NewUserRow = Pick<
  typeof users.$inferInsert,
  | "id"
  | "displayName"
  | "avatarUrl"
  | "locale"
  | "metadata"
  | "username"
  | "defaultRole"
  | "allowedRoles"
  | "passwordHash"
  | "active"
  | "createdAt"
  | "updatedAt"
>;

export type NewPrimaryEmailRow = Pick<typeof emails.$inferInsert, "id" | "address" | "verified">;

/** A new session's rows (sessions.service `draft`). */
export interface NewSessionRows {
  session: NewSession;
  firstToken: NewRefreshToken;
  keep: number;
}

export interface UserStore {
  findById(id: string): Promise<UserRow | null>;
  exists(id: string): Promise<boolean>;
  /** The user holding `address`: as its primary address, or verified (addressHeld). */
  findByEmail(address: string): Promise<UserRow | null>;
  findByUsername(username: string): Promise<UserRow | null>;
  /** The user `id` and the user holding `address` (addressHeld), in one round trip. */
  findWithHolder(id: string, address: string): Promise<{ user: UserRow | null; holder: UserRow | null }>;
  /**
   * A password login's read, in one round trip: counts one attempt on `attempt.key` (the reserving
   * upsert of rate-limit/attempts) and reads the user by address or username.
   */
  findForLogin(
    lookup: { email: string } | { username: string },
    attempt: { key: string; now: number; policy: AttemptPolicy },
  ): Promise<{ lockedUntil: number; lock: LockState; user: UserRow | null }>;
  /**
   * Inserts the user and the primary address, with the default team when `defaultTeam` and the
   * user's first session when `session` (sessions.store `sessionStatements`), in one batch that
   * also reads the new user back; ACCOUNT_EXISTS when the address or the username is taken. The
   * batch first frees the address where it is only an unverified secondary address of some
   * account (releaseUnprovenStatement: no hold, see addressHeld).
   */
  create(
    user: NewUserRow,
    email: NewPrimaryEmailRow,
    opts: { defaultTeam: boolean; session?: NewSessionRows },
  ): Promise<UserRow>;
  /**
   * Marks the user active and `address` (the primary address when undefined) verified, and makes
   * the default team, in one batch.
   */
  activate(userId: string, address: string | undefined, now: number): Promise<void>;
  /** Sets the hash and bumps the password version. */
  setPassword(userId: string, passwordHash: string, now: number): Promise<void>;
  /** Replaces the hash `from` by `to` while `from` is still stored (rehashStatement). */
  rehash(userId: string, from: string, to: string, now: number): Promise<void>;
  /**
   * Replaces the primary address (freeing it first where it is only an unverified secondary
   * address: addressHeld); EMAIL_IN_USE when another account holds it. In the same batch:
   * the user's open tickets of `also.spendTickets` are spent, and with `also.endSessions` every
   * session of the user but `keep` ends.
   */
  changePrimaryEmail(
    userId: string,
    address: string,
    verified: boolean,
    now: number,
    also?: { spendTickets?: string; endSessions?: { keep: string | null } },
  ): Promise<void>;
  /** Whether a user was deleted. */
  delete(userId: string): Promise<boolean>;
}

const userFields = {
  id: users.id,
  email: emails.address,
  // No primary address reads as an unverified one.
  emailVerified: sql<boolean>`coalesce(${emails.verified}, 0)`.mapWith(Boolean),
  displayName: users.displayName,
  avatarUrl: users.avatarUrl,
  locale: users.locale,
  metadata: users.metadata,
  username: users.username,
  defaultRole: users.defaultRole,
  allowedRoles: users.allowedRoles,
  passwordHash: users.passwordHash,
  passwordVersion: users.passwordVersion,
  active: users.active,
  disabled: users.disabled,
  totpEnabled: users.totpEnabled,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
};

/**
 * Setting a password hash, as a statement another D1 store can put in its own batch (a login's
 * rehash, a reset ticket's spend); with `guard`, only where it holds.
 */
export const setPasswordStatement = (
  db: Db,
  userId: string | SQL,
  passwordHash: string,
  now: number,
  guard?: SQL,
) =>
  db
    .update(users)
    .set({ passwordHash, passwordVersion: sql`${users.passwordVersion} + 1`, updatedAt: now })
    .where(and(eq(users.id, userId), guard));

/**
 * A login's rehash: the hash it verified (`from`, a weaker or an imported one) becomes `to`, only
 * while `from` is still stored, so a password changed meanwhile is never overwritten. The password
 * itself is the same, so its version (and the tickets bound to it) stays.
 */
export const rehashStatement = (db: Db, userId: string, from: string, to: string, now: number) =>
  db
    .update(users)
    .set({ passwordHash: to, updatedAt: now })
    .where(and(eq(users.id, userId), eq(users.passwordHash, from)));

/**
 * Who holds an address: the account whose primary address it is, or that verified it. An address
 * an account added as a secondary one and never proved is no hold: anyone could add a victim's
 * address that way and so keep its owner from signing up or changing to it. Every read of "is
 * this address taken" (sign-up, email change) uses this, and every write that gives an account
 * the address as its primary one first frees it (releaseUnprovenStatement) in the same batch. A
 * verified address is never freed.
 */
export const addressHeld = (address: string) =>
  and(eq(emails.address, address), or(eq(emails.isPrimary, true), eq(emails.verified, true)));

/** The user holding `address` (addressHeld), as a condition on users. */
export const heldBy = (db: Db, address: string) =>
  eq(users.id, db.select({ userId: emails.userId }).from(emails).where(addressHeld(address)));

/**
 * Deleting `address` where it is only an unverified secondary address of some account (no hold,
 * see addressHeld), as a statement for the batch that gives the address to an account.
 */
export const releaseUnprovenStatement = (db: Db, address: string) =>
  db
    .delete(emails)
    .where(and(eq(emails.address, address), eq(emails.isPrimary, false), eq(emails.verified, false)));

/** Users with their primary address (UserRow), for another D1 store to filter (userFields' column names are distinct). */
export const usersWithPrimaryQuery = (db: Db) =>
  db
    .select(userFields)
    .from(users)
    .leftJoin(emails, and(eq(emails.userId, users.id), eq(emails.isPrimary, true)));

/** A user with the primary address, as a batch item of another D1 store. */
export const userByIdQuery = (db: Db, id: string | SQL) => usersWithPrimaryQuery(db).where(eq(users.id, id));

/**
 * Activating a user (active, `address` or the primary address verified, the default team), as
 * statements another D1 store can put in its own batch; with `guard` (e.g. "this ticket is spent
 * into this session"), only where it holds.
 */
export function activateStatements(
  db: Db,
  userId: string,
  address: string | undefined,
  now: number,
  guard?: SQL,
) {
  return [
    db
      .update(users)
      .set({ active: true, updatedAt: now })
      .where(and(eq(users.id, userId), guard)),
    db
      .update(emails)
      .set({ verified: true, updatedAt: now })
      .where(
        and(
          eq(emails.userId, userId),
          address ? eq(emails.address, address) : eq(emails.isPrimary, true),
          guard,
        ),
      ),
    // The default team comes with the activation, in the same round trip.
    ...defaultTeamStatements(db, userId, now, null, guard),
  ] as const;
}

export function createUserStore(db: Db): UserStore {
  const selectUser = () =>
    db
      .select(userFields)
      .from(users)
      .leftJoin(emails, and(eq(emails.userId, users.id), eq(emails.isPrimary, true)));

  /** The user holding `address`, primary or not. */
  const byAddress = (address: string) =>
    eq(users.id, db.select({ userId: emails.userId }).from(emails).where(eq(emails.address, address)));

  return {
    findById: async (id) => (await selectUser().where(eq(users.id, id)).get()) ?? null,

    exists: async (id) =>
      (await db.select({ ok: sql`1` }).from(users).where(eq(users.id, id)).get()) !== undefined,

    findByEmail: async (address) => (await selectUser().where(heldBy(db, address)).get()) ?? null,

    findByUsername: async (username) =>
      (await selectUser().where(eq(users.username, username)).get()) ?? null,

    async findWithHolder(id, address) {
      const [user, holder] = await db.batch([
        selectUser().where(eq(users.id, id)),
        selectUser().where(heldBy(db, address)).limit(1),
      ]);
      return { user: user[0] ?? null, holder: holder[0] ?? null };
    },

    async findForLogin(lookup, { key, now, policy }) {
      // (A batch answers rows as objects: userFields' column names are all distinct.)
      const [[counted], found] = await db.batch([
        reserveStatement(db, key, now, policy),
        selectUser()
          .where("email" in lookup ? byAddress(lookup.email) : eq(users.username, lookup.username))
          .limit(1),
      ]);
      const lock = lockState(counted, now);
      return { lockedUntil: lock.lockedUntil, lock, user: found[0] ?? null };
    },

    async create(user, email, opts) {
      try {
        const results = await db.batch([
          db.insert(users).values(user),
          // Before the address is inserted (it is unique): an unproven claim on it yields.
          releaseUnprovenStatement(db, email.address),
          db.insert(emails).values({
            ...email,
            userId: user.id,
            isPrimary: true,
            createdAt: user.createdAt,
            updatedAt: user.updatedAt,
          }),
          ...(opts.defaultTeam ? defaultTeamStatements(db, user.id, user.createdAt) : []),
          ...(opts.session ? sessionStatements(db, opts.session) : []),
          userByIdQuery(db, user.id),
        ]);
        const [row] = results[results.length - 1] as UserRow[];
        return row!;
      } catch (e) {
        if (isUniqueViolation(e, "emails.address")) throw new AuthError("ACCOUNT_EXISTS", { cause: e });
        if (isUniqueViolation(e, "users.username")) throw new AuthError("ACCOUNT_EXISTS", { cause: e });
        throw e;
      }
    },

    async activate(userId, address, now) {
      await db.batch(activateStatements(db, userId, address, now));
    },

    async setPassword(userId, passwordHash, now) {
      await setPasswordStatement(db, userId, passwordHash, now);
    },

    async rehash(userId, from, to, now) {
      await rehashStatement(db, userId, from, to, now);
    },

    async changePrimaryEmail(userId, address, verified, now, also = {}) {
      const { spendTickets, endSessions } = also;
      try {
        await db.batch([
          // First: an unproven claim on the address yields (addressHeld).
          releaseUnprovenStatement(db, address),
          db
            .update(emails)
            .set({ address, verified, updatedAt: now })
            .where(and(eq(emails.userId, userId), eq(emails.isPrimary, true))),
          ...(spendTickets
            ? [
                db
                  .update(tickets)
                  .set({ usedAt: now })
                  .where(
                    and(
                      eq(tickets.userId, userId),
                      eq(tickets.purpose, spendTickets),
                      isNull(tickets.usedAt),
                    ),
                  ),
              ]
            : []),
          ...(endSessions
            ? [
                revokeAllStatement(
                  db,
                  userId,
                  now,
                  endSessions.keep === null ? undefined : ne(sessions.id, endSessions.keep),
                ),
              ]
            : []),
        ]);
      } catch (e) {
        if (isUniqueViolation(e, "emails.address")) throw new AuthError("EMAIL_IN_USE", { cause: e });
        throw e;
      }
    },

    async delete(userId) {
      const r = await db.delete(users).where(eq(users.id, userId)).run();
      return r.meta.changes > 0;
    },
  };
}
