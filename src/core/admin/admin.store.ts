/**
 * D1 store of the admin API: the user list and detail reads, and the writes an operator makes on
 * one user. Each write is one batch (or one statement), so it lands whole or not at all.
 */
import { and, asc, count, eq, exists, gt, inArray, isNull, max, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { emails, sessions, users, webauthnCredentials } from "../../db/schema";
import { revokeAllStatement } from "../sessions/sessions.store";
import { activateStatements, type UserRow, userByIdQuery, usersWithPrimaryQuery } from "../users/users.store";

/** Where a page of the user list starts: after this (created_at, id). */
export interface ListCursor {
  createdAt: number;
  id: string;
}

export interface ListQuery {
  after: ListCursor | null;
  limit: number;
  /** Matches the id exactly, any address by prefix, or the display name by substring. */
  search?: string;
  disabled?: boolean;
  verified?: boolean;
}

export interface UserDetailRows {
  user: UserRow;
  emails: { id: string; address: string; isPrimary: boolean; verified: boolean; createdAt: number }[];
  passkeys: number;
  /** Live sessions: not revoked, not expired. */
  sessions: number;
  /** When the newest session started (a sign-in), null when the user never signed in. */
  lastSignInAt: number | null;
}

export interface AdminStore {
  /** Up to `limit` users ordered by (created_at, id) after the cursor, primary address joined. */
  list(q: ListQuery): Promise<UserRow[]>;
  /** The user and what the detail view counts, in one round trip; null when the user is gone. */
  detail(userId: string, now: number): Promise<UserDetailRows | null>;
  /** Sets the disabled flag; disabling ends every live session in the same batch. False when the user is gone. */
  setDisabled(userId: string, disabled: boolean, now: number): Promise<boolean>;
  setRoles(userId: string, defaultRole: string, allowedRoles: string[], now: number): Promise<boolean>;
  /** Ends every live session of the user; null when the user is gone, else how many ended. */
  revokeSessions(userId: string, now: number): Promise<number | null>;
  /**
   * Marks `address` (the primary address when undefined) of the user verified and the user active
   * (with the default team), only when the user holds that address; false otherwise.
   */
  verifyEmail(userId: string, address: string | undefined, now: number): Promise<boolean>;
}

/** `%` and `_` are literal in what an operator types. */
const escapeLike = (s: string) => s.replace(/[\\%_]/g, (ch) => `\\${ch}`);
const likeEscaped = (col: SQL | typeof users.displayName, pattern: string) =>
  sql`${col} LIKE ${pattern} ESCAPE '\\'`;

export function createAdminStore(db: Db): AdminStore {
  const addressOf = (userId: string, address: string | undefined) =>
    and(eq(emails.userId, userId), address ? eq(emails.address, address) : eq(emails.isPrimary, true));

  return {
    async list({ after, limit, search, disabled, verified }) {
      const where: (SQL | undefined)[] = [];
      if (after)
        where.push(
          or(
            gt(users.createdAt, after.createdAt),
            and(eq(users.createdAt, after.createdAt), gt(users.id, after.id)),
          ),
        );
      if (disabled !== undefined) where.push(eq(users.disabled, disabled));
      if (verified !== undefined) where.push(sql`coalesce(${emails.verified}, 0) = ${verified ? 1 : 0}`);
      if (search) {
        const holders = db
          .select({ userId: emails.userId })
          .from(emails)
          .where(likeEscaped(sql`${emails.address}`, `${escapeLike(search.toLowerCase())}%`));
        where.push(
          or(
            eq(users.id, search),
            inArray(users.id, holders),
            likeEscaped(users.displayName, `%${escapeLike(search)}%`),
          ),
        );
      }
      const rows = await usersWithPrimaryQuery(db)
        .where(and(...where))
        .orderBy(asc(users.createdAt), asc(users.id))
        .limit(limit);
      return rows as UserRow[];
    },

    async detail(userId, now) {
      const [user, addresses, [passkeys], [live], [last]] = await db.batch([
        userByIdQuery(db, userId),
        db
          .select({
            id: emails.id,
            address: emails.address,
            isPrimary: emails.isPrimary,
            verified: emails.verified,
            createdAt: emails.createdAt,
          })
          .from(emails)
          .where(eq(emails.userId, userId))
          .orderBy(asc(emails.createdAt), asc(emails.id)),
        db.select({ n: count() }).from(webauthnCredentials).where(eq(webauthnCredentials.userId, userId)),
        db
          .select({ n: count() })
          .from(sessions)
          .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now))),
        db
          .select({ at: max(sessions.createdAt) })
          .from(sessions)
          .where(eq(sessions.userId, userId)),
      ]);
      if (!user[0]) return null;
      return {
        user: user[0] as UserRow,
        emails: addresses,
        passkeys: passkeys?.n ?? 0,
        sessions: live?.n ?? 0,
        lastSignInAt: last?.at ?? null,
      };
    },

    async setDisabled(userId, disabled, now) {
      const update = db
        .update(users)
        .set({ disabled, updatedAt: now })
        .where(eq(users.id, userId))
        .returning({ id: users.id });
      if (!disabled) return (await update).length > 0;
      const [updated] = await db.batch([update, revokeAllStatement(db, userId, now)]);
      return updated.length > 0;
    },

    async setRoles(userId, defaultRole, allowedRoles, now) {
      const updated = await db
        .update(users)
        .set({ defaultRole, allowedRoles, updatedAt: now })
        .where(eq(users.id, userId))
        .returning({ id: users.id });
      return updated.length > 0;
    },

    async revokeSessions(userId, now) {
      const [found, ended] = await db.batch([
        db.select({ id: users.id }).from(users).where(eq(users.id, userId)),
        revokeAllStatement(db, userId, now).returning({ id: sessions.id }),
      ]);
      return found.length ? ended.length : null;
    },

    async verifyEmail(userId, address, now) {
      // Only where the user holds the address: otherwise nothing is written, the user stays as is.
      const holds = exists(db.select({ ok: sql`1` }).from(emails).where(addressOf(userId, address)));
      const [found] = await db.batch([
        db.select({ id: emails.id }).from(emails).where(addressOf(userId, address)),
        ...activateStatements(db, userId, address, now, holds),
      ]);
      return found.length > 0;
    },
  };
}
