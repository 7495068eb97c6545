/**
 * Per-account attempt counters in D1 (never KV: parallel guesses would all read the same count).
 * An attempt is reserved before the secret is checked, by one upsert whose CASE arms decide
 * everything from the row's old values, so 30 parallel guesses are 30 counted attempts. Past
 * `max` attempts in 15 minutes the key is locked for 30 s, doubling per lock up to 1 h. A success
 * clears the key.
 */
import type { Clock } from "../../lib/clock";
import { AuthError } from "../errors";
import type { AttemptPolicy, AttemptStore } from "./attempts.store";

export interface AttemptCounter {
  /** Counts one attempt; TOO_MANY_ATTEMPTS with retryAfter while the key is locked. */
  reserve(key: string): Promise<void>;
  clear(key: string): Promise<void>;
  /** The counting rules, for a store that reserves inside a batch of its own (the login read). */
  readonly policy: AttemptPolicy;
  /** What `reserve` does with the locked-until time such a batch returned: TOO_MANY_ATTEMPTS while locked. */
  assertUnlocked(lockedUntil: number, now: number): void;
}

const WINDOW_MS = 15 * 60_000;
const BASE_DELAY_MS = 30_000;
const MAX_DELAY_MS = 3_600_000;

export function createAttemptCounter(deps: {
  store: AttemptStore;
  clock: Clock;
  max: number;
}): AttemptCounter {
  const policy = { windowMs: WINDOW_MS, max: deps.max, baseDelayMs: BASE_DELAY_MS, maxDelayMs: MAX_DELAY_MS };
  const assertUnlocked = (lockedUntil: number, now: number) => {
    if (lockedUntil > now) {
      throw new AuthError("TOO_MANY_ATTEMPTS", { retryAfter: Math.ceil((lockedUntil - now) / 1000) });
    }
  };
  return {
    async reserve(key) {
      const now = deps.clock.now();
      assertUnlocked(await deps.store.reserve(key, now, policy), now);
    },
    clear: (key) => deps.store.clear(key),
    policy,
    assertUnlocked,
  };
}
