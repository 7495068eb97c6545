/**
 * D1 store of per-account attempt counters (never KV: parallel guesses would all read the same
 * count). Reserving is one upsert whose CASE arms decide everything from the row's old values, so
 * 30 parallel guesses are 30 counted attempts.
 */
import { eq, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { attemptCounters } from "../../db/schema";

/** The counting rules, decided by the service. */
export interface AttemptPolicy {
  /** Attempts counted within this many ms of the window's start. */
  windowMs: number;
  /** Attempts allowed per window before a lock. */
  max: number;
  /** First lock's length; it doubles per lock (at most 2^10 times) ... */
  baseDelayMs: number;
  /** ... up to this. */
  maxDelayMs: number;
}

/** A counter after one reserved attempt: locked until (0 or past when not), and whether this attempt locked it. */
export interface LockState {
  lockedUntil: number;
  lockStarted: boolean;
}

/**
 * The lock state from the reserving upsert's row: the attempt that locks the key is the one that
 * restarts its window at `now` with the count at 0 (reserveStatement's over-max arms).
 */
export function lockState(
  row: { lockedUntil: number; windowStart: number; count: number } | undefined,
  now: number,
): LockState {
  if (!row) return { lockedUntil: 0, lockStarted: false };
  return {
    lockedUntil: row.lockedUntil,
    lockStarted: row.lockedUntil > now && row.windowStart === now && row.count === 0,
  };
}

export interface AttemptStore {
  /** Counts one attempt on `key` at `now`; returns the key's lock state. */
  reserve(key: string, now: number, policy: AttemptPolicy): Promise<LockState>;
  clear(key: string): Promise<void>;
}

/**
 * The reserving upsert as a statement another D1 store can put in its own batch (the login reads
 * the account in the same round trip). Returns `locked_until`.
 */
export function reserveStatement(db: Db, key: string, now: number, policy: AttemptPolicy) {
  const { windowMs, max, baseDelayMs, maxDelayMs } = policy;
  const { count, windowStart, lockedUntil, locks } = attemptCounters;
  const windowOver = sql`${windowStart} <= ${now} - ${windowMs}`;
  const windowOpen = sql`${windowStart} > ${now} - ${windowMs}`;
  const overMax = sql`${count} + 1 > ${max}`;
  return db
    .insert(attemptCounters)
    .values({ key, count: 1, windowStart: now, lockedUntil: 0, locks: 0 })
    .onConflictDoUpdate({
      target: attemptCounters.key,
      set: {
        count: sql`CASE
          WHEN ${lockedUntil} > ${now} THEN ${count}
          WHEN ${windowOver} THEN 1
          WHEN ${overMax} THEN 0
          ELSE ${count} + 1 END`,
        windowStart: sql`CASE
          WHEN ${lockedUntil} > ${now} THEN ${windowStart}
          WHEN ${windowOver} THEN ${now}
          WHEN ${overMax} THEN ${now}
          ELSE ${windowStart} END`,
        lockedUntil: sql`CASE
          WHEN ${lockedUntil} > ${now} THEN ${lockedUntil}
          WHEN ${windowOpen} AND ${overMax} THEN ${now} + MIN(${baseDelayMs} << MIN(${locks}, 10), ${maxDelayMs})
          ELSE ${lockedUntil} END`,
        locks: sql`CASE
          WHEN ${lockedUntil} <= ${now} AND ${windowOpen} AND ${overMax} THEN ${locks} + 1
          ELSE ${locks} END`,
      },
    })
    .returning({ lockedUntil, windowStart, count });
}

/** Clearing a key, as a statement another D1 store can put in its own batch (a login's session). */
export const clearStatement = (db: Db, key: string) =>
  db.delete(attemptCounters).where(eq(attemptCounters.key, key));

export function createAttemptStore(db: Db): AttemptStore {
  return {
    async reserve(key, now, policy) {
      const [row] = await reserveStatement(db, key, now, policy);
      return lockState(row, now);
    },

    async clear(key) {
      await clearStatement(db, key);
    },
  };
}
