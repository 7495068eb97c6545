/**
 * Per-account attempt counters in D1 (never KV: parallel guesses would all read the same count).
 * An attempt is reserved before the secret is checked, by one upsert whose CASE arms decide
 * everything from the row's old values, so 30 parallel guesses are 30 counted attempts. Past
 * `max` attempts in 15 minutes the key is locked for 30 s, doubling per lock up to 1 h. A success
 * clears the key.
 */
import type { Clock } from "../../lib/clock";
import { AuthError } from "../errors";
import { type EventRecorder, noEvents } from "../events/events";
import type { AttemptPolicy, AttemptStore, LockState } from "./attempts.store";

export interface AttemptCounter {
  /** Counts one attempt; TOO_MANY_ATTEMPTS with retryAfter while the key is locked. */
  reserve(key: string): Promise<void>;
  clear(key: string): Promise<void>;
  /** The counting rules, for a store that reserves inside a batch of its own (the login read). */
  readonly policy: AttemptPolicy;
  /**
   * What `reserve` does with the locked-until time such a batch returned: TOO_MANY_ATTEMPTS while
   * locked. With `lock` (the batch's lock state), a lock this attempt started is recorded as a lockout.
   */
  assertUnlocked(
    lockedUntil: number,
    now: number,
    lock?: { state: LockState; key: string; userId: string | null },
  ): void;
}

const WINDOW_MS = 15 * 60_000;

/** The user a counter key names, when it names one by id ("totp:<uuid>", "passcode:<uuid>", ...). */
const userOfKey = (key: string) =>
  /:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(key)?.[1] ?? null;
const BASE_DELAY_MS = 30_000;
const MAX_DELAY_MS = 3_600_000;

export function createAttemptCounter(deps: {
  store: AttemptStore;
  clock: Clock;
  max: number;
  events?: EventRecorder;
}): AttemptCounter {
  const events = deps.events ?? noEvents;
  const policy = { windowMs: WINDOW_MS, max: deps.max, baseDelayMs: BASE_DELAY_MS, maxDelayMs: MAX_DELAY_MS };
  const assertUnlocked: AttemptCounter["assertUnlocked"] = (lockedUntil, now, lock) => {
    if (lock?.state.lockStarted)
      events.emit({
        type: "account.locked",
        userId: lock.userId,
        // The counter's key names the account ("login:<address>", "totp:<user id>"): hashed when no user is known.
        subject: lock.key,
        until: lock.state.lockedUntil,
      });
    if (lockedUntil > now) {
      throw new AuthError("TOO_MANY_ATTEMPTS", { retryAfter: Math.ceil((lockedUntil - now) / 1000) });
    }
  };
  return {
    async reserve(key) {
      const now = deps.clock.now();
      const state = await deps.store.reserve(key, now, policy);
      assertUnlocked(state.lockedUntil, now, { state, key, userId: userOfKey(key) });
    },
    clear: (key) => deps.store.clear(key),
    policy,
    assertUnlocked,
  };
}
