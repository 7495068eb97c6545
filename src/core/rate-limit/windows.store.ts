/**
 * Where the per-key request windows that must hold across isolates for longer than the Rate
 * Limiting binding's 60 s period are kept (table rate_windows): one row per key holds the start of
 * its current window and the count in it.
 */
import { sql } from "drizzle-orm";
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

export function createRateWindowStore(db: Db): RateWindowStore {
  return {
    async hit(key, windowStart) {
      const [row] = await db
        .insert(rateWindows)
        .values({ key, windowStart, count: 1 })
        .onConflictDoUpdate({
          target: rateWindows.key,
          set: {
            count: sql`CASE WHEN ${rateWindows.windowStart} < excluded.window_start THEN 1 ELSE ${rateWindows.count} + 1 END`,
            windowStart: sql`MAX(${rateWindows.windowStart}, excluded.window_start)`,
          },
        })
        .returning({ count: rateWindows.count });
      return row!.count;
    },
  };
}
