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
