/**
 * D1 statements of the passcode service. A try is counted by one conditional UPDATE (`tries < max`)
 * and a code spent by another, so parallel guesses can never be evaluated more than `max` times and
 * a code signs in once. Send counters are one upsert per window, all in one batch.
 */
import { and, eq, gte, isNull, lt, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { attemptCounters, emails, passcodes, users } from "../../db/schema";

export type NewPasscode = Omit<typeof passcodes.$inferInsert, "tries" | "usedAt">;
/** What a counted try returns: the stored MAC and whom the code is for. */
export type CountedTry = Pick<
  typeof passcodes.$inferSelect,
  "tries" | "codeMac" | "expiresAt" | "userId" | "emailId"
>;
/** The state of the address and account a spent code was sent for (null when gone). */
export interface SpentPasscode {
  address: string | null;
  verified: boolean | null;
  active: boolean | null;
}

export interface PasscodeStore {
  /**
   * Counts one send in each window (key, length): a window older than its length starts over at 1.
   * Returns each counter after the count, in the order given.
   */
  countSends(
    windows: { key: string; windowMs: number }[],
    now: number,
  ): Promise<{ count: number; windowStart: number }[]>;
  /** The user's address `emailId` (or, without one, the primary address), unless the user is disabled. */
  findTarget(userId: string, emailId?: string): Promise<{ id: string; address: string } | null>;
  add(passcode: NewPasscode): Promise<void>;
  /** Counts a try while the code is unspent and below `maxTries`; null when that guard failed. */
  countTry(id: string, maxTries: number): Promise<CountedTry | null>;
  /** Whether the code is unspent but has used up its `maxTries`. */
  isExhausted(id: string, maxTries: number): Promise<boolean>;
  /** Spends the code once; null when it was already spent. */
  spend(id: string, now: number): Promise<SpentPasscode | null>;
}

export function createPasscodeStore(db: Db): PasscodeStore {
  const p = passcodes;
  const a = attemptCounters;
  return {
    async countSends(windows, now) {
      const [first, ...rest] = windows.map(({ key, windowMs }) => {
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
      if (!first) return [];
      // An upsert with RETURNING always yields its row.
      return (await db.batch([first, ...rest])).map((rows) => rows[0]!);
    },

    async findTarget(userId, emailId) {
      const row = await db
        .select({ id: emails.id, address: emails.address })
        .from(emails)
        .innerJoin(users, eq(users.id, emails.userId))
        .where(
          and(
            eq(emails.userId, userId),
            emailId ? eq(emails.id, emailId) : eq(emails.isPrimary, true),
            eq(users.disabled, false),
          ),
        )
        .get();
      return row ?? null;
    },

    async add(passcode) {
      await db.insert(p).values({ ...passcode, tries: 0 });
    },

    async countTry(id, maxTries) {
      const row = await db
        .update(p)
        .set({ tries: sql`${p.tries} + 1` })
        .where(and(eq(p.id, id), isNull(p.usedAt), lt(p.tries, maxTries)))
        .returning({
          tries: p.tries,
          codeMac: p.codeMac,
          expiresAt: p.expiresAt,
          userId: p.userId,
          emailId: p.emailId,
        })
        .get();
      return row ?? null;
    },

    async isExhausted(id, maxTries) {
      const row = await db
        .select({ one: sql`1` })
        .from(p)
        .where(and(eq(p.id, id), isNull(p.usedAt), gte(p.tries, maxTries)))
        .get();
      return row !== undefined;
    },

    async spend(id, now) {
      const row = await db
        .update(p)
        .set({ usedAt: now })
        .where(and(eq(p.id, id), isNull(p.usedAt)))
        // The address and account as they are now: the service activates only when that changes something.
        .returning({
          address: sql<
            string | null
          >`${db.select({ address: emails.address }).from(emails).where(eq(emails.id, p.emailId))}`,
          verified: sql<boolean | null>`${db
            .select({ verified: emails.verified })
            .from(emails)
            .where(eq(emails.id, p.emailId))}`.mapWith(emails.verified),
          active: sql<boolean | null>`${db
            .select({ active: users.active })
            .from(users)
            .where(eq(users.id, p.userId))}`.mapWith(users.active),
        })
        .get();
      return row ?? null;
    },
  };
}
