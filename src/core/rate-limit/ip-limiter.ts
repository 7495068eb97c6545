/**
 * Per-IP request windows. KV carries the count between isolates and locations (approximate: KV has
 * no atomic increment and is eventually consistent, so a few requests too many may pass there,
 * which is acceptable for flood control; security state never lives here). Within one isolate an
 * in-memory count is exact, so a burst of parallel requests cannot slip through the KV
 * read-modify-write gap.
 */
import type { Clock } from "../../lib/clock";
import { AuthError } from "../errors";

/** [max requests, window seconds] pairs, all of which must hold. */
export type Limit = readonly (readonly [number, number])[];

export const IP_LIMITS = {
  login: [
    [20, 60],
    [100, 3600],
  ],
  register: [[10, 300]],
  /** Password reset, magic link and passcode mails. */
  mail: [[10, 3600]],
  refresh: [[150, 300]],
  /** Tickets, MFA codes, one-time token exchanges. */
  verify: [[30, 300]],
  existence: [[10, 60]],
  /** Mail to one address, whoever asks (keyed by the recipient, not an IP). */
  recipient: [[10, 3600]],
} as const satisfies Record<string, Limit>;

export type LimitName = keyof typeof IP_LIMITS;

export interface IpLimiter {
  /**
   * Counts one request; RATE_LIMITED with retryAfter when any window is full. The in-isolate count
   * is decided synchronously: a refusal there is thrown before this returns, before any await. The
   * promise returned then checks and updates the shared count.
   */
  hit(name: LimitName, ip: string): Promise<void>;
}

const memory = new Map<string, number>();
const MEMORY_CAP = 50_000;

export function createIpLimiter(deps: {
  kv: KVNamespace;
  clock: Clock;
  enabled: boolean;
  waitUntil: (p: Promise<unknown>) => void;
}): IpLimiter {
  return {
    hit(name, ip) {
      if (!deps.enabled) return Promise.resolve();
      const now = Math.floor(deps.clock.now() / 1000);
      if (memory.size > MEMORY_CAP) memory.clear();
      const windows = IP_LIMITS[name].map(([max, seconds]) => {
        const index = Math.floor(now / seconds);
        return {
          max,
          seconds,
          key: `rl:${name}:${seconds}:${index}:${ip}`,
          resetIn: (index + 1) * seconds - now,
        };
      });
      // Exact within this isolate: synchronous check-and-increment before any await. Each request
      // keeps its own position: by the time KV answers, later requests of a burst (admitted or not)
      // have raised the shared count, and comparing against that would refuse the whole burst.
      const positions: number[] = [];
      for (const w of windows) {
        const n = (memory.get(w.key) ?? 0) + 1;
        memory.set(w.key, n);
        if (n > w.max) throw new AuthError("RATE_LIMITED", { retryAfter: w.resetIn });
        positions.push(n);
      }
      return (async () => {
        const stored = await Promise.all(windows.map((w) => deps.kv.get(w.key)));
        windows.forEach((w, i) => {
          const n = Math.max(Number(stored[i] ?? 0) + 1, positions[i]!);
          if (n > w.max) throw new AuthError("RATE_LIMITED", { retryAfter: w.resetIn });
          deps.waitUntil(deps.kv.put(w.key, String(n), { expirationTtl: Math.max(60, w.resetIn + 1) }));
        });
      })();
    },
  };
}
