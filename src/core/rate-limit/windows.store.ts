/**
 * Where the per-key request windows that must hold across isolates for longer than the Rate
 * Limiting binding's 60 s period are kept (table rate_windows): one row per key holds the start of
 * its current window and the count in it.
 */
import { eq, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { rateWindows } from "../../db/schema";

export interface RateWindowStore {
  /**
   * Counts one hit of `key` in the window starting at `windowStart` (ms) and returns the count in
   * that window, this hit included: one upsert, so parallel hits from any isolate are each counted.
   * A row of an older window starts over at 1; a hit stamped with an older window than the row's
   * (clock skew between isolates) counts in the row's window.
   */
  hit(key: string, windowStart: number): Promise<number>;
}

/** One window counted in D1, as another store's batch needs it. */
export interface CountedWindow {
  /** The key; SQL when a store knows it only in SQL (recipientKeyed). */
  key: string | SQL;
  /** The start of the current window (ms). */
  windowStart: number;
  /** The most hits the window admits. */
  max: number;
}

/**
 * The current window of mail to one address, before the address is known (ip-limiter
 * `recipientWindow`): its key is `keyPrefix` followed by the address.
 */
export interface RecipientWindow {
  keyPrefix: string;
  windowStart: number;
  max: number;
}

/** The recipient window of `address`, given as a string or, in a store's batch, as SQL. */
export const recipientKeyed = (w: RecipientWindow, address: string | SQL): CountedWindow => ({
  key: typeof address === "string" ? `${w.keyPrefix}${address}` : sql`${w.keyPrefix} || ${address}`,
  windowStart: w.windowStart,
  max: w.max,
});

const onHit = {
  target: rateWindows.key,
  set: {
    count: sql`CASE WHEN ${rateWindows.windowStart} < excluded.window_start THEN 1 ELSE ${rateWindows.count} + 1 END`,
    windowStart: sql`MAX(${rateWindows.windowStart}, excluded.window_start)`,
  },
};

/**
 * `hit` as a statement for another D1 store's batch, counted only where `guard` holds (a
 * condition on other tables, e.g. that the address has a holder).
 */
export const hitStatement = (db: Db, w: CountedWindow, guard: SQL) =>
  db
    .insert(rateWindows)
    .select(sql`SELECT ${w.key}, ${w.windowStart}, 1 WHERE ${guard}`)
    .onConflictDoUpdate(onHit)
    .returning({ count: rateWindows.count });

/** True while the window's count (the batch's own hit included) is within its limit. */
export const withinWindow = (db: Db, w: CountedWindow): SQL =>
  sql`coalesce((${db.select({ count: rateWindows.count }).from(rateWindows).where(eq(rateWindows.key, w.key))}), 0) <= ${w.max}`;

export function createRateWindowStore(db: Db): RateWindowStore {
  return {
    async hit(key, windowStart) {
      const [row] = await db
        .insert(rateWindows)
        .values({ key, windowStart, count: 1 })
        .onConflictDoUpdate(onHit)
        .returning({ count: rateWindows.count });
      return row!.count;
    },
  };
}
