/**
 * A movable clock for tests: requests made with `call(path, { clock })` run through the real Worker
 * built over this clock, so every service (tickets, passcodes, sessions, JWT exp/iat checks, the
 * per-isolate session and verified-token caches, which compare against the `now` they are given)
 * sees the moved time. It starts at the real time, so rows written by calls without a clock line up.
 */
import type { Clock } from "../../src/lib/clock";

export interface TestClock extends Clock {
  /** Moves the clock forward by `seconds` (never backwards: caches assume time only grows). */
  advance(seconds: number): void;
}

export function testClock(start = Date.now()): TestClock {
  let ms = start;
  return {
    now: () => ms,
    advance(seconds) {
      if (!(seconds >= 0)) throw new Error("a test clock only moves forward");
      ms += seconds * 1000;
    },
  };
}

/**
 * A clock one second into the next minute: per-IP windows are aligned to the clock, so a burst sent
 * at this time stays inside one window without waiting for a minute's edge to pass. It runs ahead
 * of the real time by up to a minute: tokens issued through it must be used through it too (their
 * `iat` is in the real future).
 */
export function atMinuteStart(): TestClock {
  return testClock(Math.ceil(Date.now() / 60_000) * 60_000 + 1000);
}
