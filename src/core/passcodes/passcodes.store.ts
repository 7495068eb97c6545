/**
 * D1 statements of the passcode service. A try is counted by one conditional UPDATE (`tries < max`)
 * and a code spent by another, so parallel guesses can never be evaluated more than `max` times and
 * a code signs in once. The spend writes the new session's id into the code (`spent_into`), and the
 * session, its token, the cleared counter and the activation are written in the same batch only
 * where that marker stands: a code is never spent without its session, nor a session made without
 * its code. Send counters are one upsert per window, all in one batch.
 */
import { and, eq, exists, gt, gte, isNull, lt, lte, notExists, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { attemptCounters, emails, passcodes, users } from "../../db/schema";
import { type AttemptPolicy, reserveStatement } from "../rate-limit/attempts.store";
import {
  type NewRefreshToken,
  type NewSession,
  type SessionUserRow,
  sessionStatements,
  sessionUserQuery,
} from "../sessions/sessions.store";
import { activateStatements } from "../users/users.store";

export type NewPasscode = Omit<typeof passcodes.$inferInsert, "tries" | "usedAt" | "spentInto">;
/**
 * What a counted try returns: the stored MAC, whom the code is for, and whether its address is
 * verified and the account active already (then a sign-in activates nothing).
 */
export type CountedTry = Pick<
  typeof passcodes.$inferSelect,
  "tries" | "codeMac" | "expiresAt" | "userId" | "emailId"
> & { address: string | null; settled: boolean };

/** A sign-in with a code whose MAC matched: the session to write, and what to count and clear. */
export interface PasscodeSignIn {
  id: string;
  userId: string;
  now: number;
  /** The account's attempt counter, counted (and cleared on success) in the same batch. */
  attempt: { key: string; policy: AttemptPolicy };
  /** The address to verify and the account to activate (with its default team); null when already so. */
  activate: { address: string } | null;
  session: NewSession;
  firstToken: NewRefreshToken;
  keep: number;
}

/** What the sign-in batch did: the counter's lock, and the session's user when the code was spent into it. */
export interface PasscodeSignInResult {
  lockedUntil: number;
  /** Whether the account is disabled (null when it is gone). */
  disabled: boolean | null;
  user: SessionUserRow | null;
  /** Sessions the cap on live sessions ended. */
  endedOthers: number;
}

export interface PasscodeStore {
  /**
   * A send, in one round trip: counts it in each window (key, length, max; a window older than its
   * length starts over at 1), and, when every window is within its max and the user has the
   * address `emailId` (or, without one, a primary address) and is not disabled, stores the passcode
   * for that address. Returns each counter after the count, in the order given, and the address
   * (null when there is none; then nothing was stored).
   */
  issue(input: {
    windows: { key: string; windowMs: number; max: number }[];
    now: number;
    userId: string;
    emailId?: string;
    passcode: Omit<NewPasscode, "userId" | "emailId">;
  }): Promise<{
    counters: { count: number; windowStart: number }[];
    target: { id: string; address: string } | null;
  }>;
  /**
   * Counts a try while the code is unspent and below `maxTries` (one conditional UPDATE); `row` is
   * null when that guard failed, and `exhausted` then tells whether the code is unspent but has used
   * up its tries. One round trip.
   */
  countTry(id: string, maxTries: number): Promise<{ row: CountedTry | null; exhausted: boolean }>;
  /**
   * One round trip, all or nothing: counts the account's attempt; spends the code into the new
   * session unless it is spent already, the account is locked or disabled; and only where it did,
   * writes the session, clears the counter and activates. Then reads the session's user.
   */
  signIn(input: PasscodeSignIn): Promise<PasscodeSignInResult>;
}

export function createPasscodeStore(db: Db): PasscodeStore {
  const p = passcodes;
  const a = attemptCounters;
  return {
    async issue({ windows, now, userId, emailId, passcode }) {
      const counts = windows.map(({ key, windowMs }) => {
        const expired = sql`${a.windowStart} <= ${now - windowMs}`;
        return db
          .insert(a)
          .values({ key, count: 1, windowStart: now })
          .onConflictDoUpdate({
            target: a.key,
            set: {
              count: sql`CASE WHEN ${expired} THEN 1 ELSE ${a.count} + 1 END`,
              windowStart: sql`CASE WHEN ${expired} THEN ${now} ELSE ${a.windowStart} END`,
            },
          })
          .returning({ count: a.count, windowStart: a.windowStart });
      });
      const target = and(
        eq(emails.userId, userId),
        emailId ? eq(emails.id, emailId) : eq(emails.isPrimary, true),
        eq(users.disabled, false),
      );
      // The counters just counted, each within its max (a full window sends nothing).
      const withinLimits = windows.map(({ key, max }) =>
        exists(
          db
            .select({ one: sql`1` })
            .from(a)
            .where(and(eq(a.key, key), lte(a.count, max))),
        ),
      );
      const value = <T>(v: T, name: string) => sql<T>`${v}`.as(name);
      const results = await db.batch([
        ...(counts as [(typeof counts)[number]]),
        db.insert(p).select(
          db
            .select({
              id: value(passcode.id, "id"),
              userId: emails.userId,
              emailId: emails.id,
              codeMac: value(passcode.codeMac, "code_mac"),
              tries: value(0, "tries"),
              createdAt: value(passcode.createdAt, "created_at"),
              expiresAt: value(passcode.expiresAt, "expires_at"),
              usedAt: value(null, "used_at"),
              spentInto: value(null, "spent_into"),
            })
            .from(emails)
            .innerJoin(users, eq(users.id, emails.userId))
            .where(and(target, ...withinLimits)),
        ),
        db
          .select({ id: emails.id, address: emails.address })
          .from(emails)
          .innerJoin(users, eq(users.id, emails.userId))
          .where(target),
      ]);
      const found = results[results.length - 1] as { id: string; address: string }[];
      return {
        // An upsert with RETURNING always yields its row.
        counters: results
          .slice(0, windows.length)
          .map((rows) => (rows as { count: number; windowStart: number }[])[0]!),
        target: found[0] ?? null,
      };
    },

    async countTry(id, maxTries) {
      const [counted, after] = await db.batch([
        db
          .update(p)
          .set({ tries: sql`${p.tries} + 1` })
          .where(and(eq(p.id, id), isNull(p.usedAt), lt(p.tries, maxTries)))
          .returning({
            tries: p.tries,
            codeMac: p.codeMac,
            expiresAt: p.expiresAt,
            userId: p.userId,
            emailId: p.emailId,
            // The address and account as they are now: a sign-in activates only when that changes something.
            address: sql<
              string | null
            >`(${db.select({ address: emails.address }).from(emails).where(eq(emails.id, p.emailId))})`,
            settled: sql<boolean>`coalesce((${db
              .select({ settled: sql`${emails.verified} AND ${users.active}` })
              .from(emails)
              .innerJoin(users, eq(users.id, emails.userId))
              .where(eq(emails.id, p.emailId))}), 0)`.mapWith(Boolean),
          }),
        db
          .select({ one: sql<number>`1` })
          .from(p)
          .where(and(eq(p.id, id), isNull(p.usedAt), gte(p.tries, maxTries))),
      ]);
      return { row: counted[0] ?? null, exhausted: after.length > 0 };
    },

    async signIn({ id, userId, now, attempt, activate, session, firstToken, keep }) {
      const locked = db
        .select({ one: sql`1` })
        .from(a)
        .where(and(eq(a.key, attempt.key), gt(a.lockedUntil, now)));
      const enabled = db
        .select({ one: sql`1` })
        .from(users)
        .where(and(eq(users.id, userId), eq(users.disabled, false)));
      // Everything after the spend holds only where the spend wrote this session's id.
      const spentHere = exists(
        db
          .select({ one: sql`1` })
          .from(p)
          .where(and(eq(p.id, id), eq(p.spentInto, session.id))),
      );
      const [[counted], , state, ...rest] = await db.batch([
        reserveStatement(db, attempt.key, now, attempt.policy),
        db
          .update(p)
          .set({ usedAt: now, spentInto: session.id })
          .where(and(eq(p.id, id), isNull(p.usedAt), notExists(locked), exists(enabled))),
        db.select({ disabled: users.disabled }).from(users).where(eq(users.id, userId)),
        ...sessionStatements(db, { session, firstToken, keep, guard: spentHere }),
        db.delete(a).where(and(eq(a.key, attempt.key), spentHere)),
        ...(activate ? activateStatements(db, userId, activate.address, now, spentHere) : []),
        sessionUserQuery(db, session.id),
      ]);
      const capped = rest[2] as { meta: { changes: number } };
      const found = rest[rest.length - 1] as SessionUserRow[];
      return {
        lockedUntil: counted?.lockedUntil ?? 0,
        disabled: (state as { disabled: boolean }[])[0]?.disabled ?? null,
        user: found[0] ?? null,
        endedOthers: capped.meta.changes,
      };
    },
  };
}
