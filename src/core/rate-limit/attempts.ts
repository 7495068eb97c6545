/**
 * Per-account attempt counters in D1 (never KV: parallel guesses would all read the same count).
 * An attempt is reserved before the secret is checked, by one upsert whose CASE arms decide
 * everything from the row's old values, so 30 parallel guesses are 30 counted attempts. Past
 * `max` attempts in 15 minutes the key is locked for 30 s, doubling per lock up to 1 h. A success
 * clears the key.
 */
import type { Clock } from "../../lib/clock";
import { AuthError } from "../errors";

export interface AttemptCounter {
  /** Counts one attempt; TOO_MANY_ATTEMPTS with retryAfter while the key is locked. */
  reserve(key: string): Promise<void>;
  clear(key: string): Promise<void>;
}

const WINDOW_MS = 15 * 60_000;
const BASE_DELAY_MS = 30_000;
const MAX_DELAY_MS = 3_600_000;

const RESERVE = `
INSERT INTO attempt_counters (key, count, window_start, locked_until, locks) VALUES (?1, 1, ?2, 0, 0)
ON CONFLICT(key) DO UPDATE SET
  count = CASE
    WHEN locked_until > ?2 THEN count
    WHEN window_start <= ?2 - ?3 THEN 1
    WHEN count + 1 > ?4 THEN 0
    ELSE count + 1 END,
  window_start = CASE
    WHEN locked_until > ?2 THEN window_start
    WHEN window_start <= ?2 - ?3 THEN ?2
    WHEN count + 1 > ?4 THEN ?2
    ELSE window_start END,
  locked_until = CASE
    WHEN locked_until > ?2 THEN locked_until
    WHEN window_start > ?2 - ?3 AND count + 1 > ?4 THEN ?2 + MIN(?5 << MIN(locks, 10), ?6)
    ELSE locked_until END,
  locks = CASE
    WHEN locked_until <= ?2 AND window_start > ?2 - ?3 AND count + 1 > ?4 THEN locks + 1
    ELSE locks END
RETURNING locked_until`;

export function createAttemptCounter(deps: { d1: D1Database; clock: Clock; max: number }): AttemptCounter {
  return {
    async reserve(key) {
      const now = deps.clock.now();
      const row = await deps.d1
        .prepare(RESERVE)
        .bind(key, now, WINDOW_MS, deps.max, BASE_DELAY_MS, MAX_DELAY_MS)
        .first<{ locked_until: number }>();
      const lockedUntil = row?.locked_until ?? 0;
      if (lockedUntil > now) {
        throw new AuthError("TOO_MANY_ATTEMPTS", { retryAfter: Math.ceil((lockedUntil - now) / 1000) });
      }
    },
    async clear(key) {
      await deps.d1.prepare("DELETE FROM attempt_counters WHERE key = ?").bind(key).run();
    },
  };
}
