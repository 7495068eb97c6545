/**
 * Per-IP request windows, counted where they cost nothing extra on the request path:
 *
 * - In the isolate, every window is counted exactly: a synchronous check-and-increment before any
 *   await, so a burst of parallel requests to one isolate cannot slip through.
 * - Across isolates and locations, the windows of the frequent routes (login, register, refresh,
 *   verify, existence) go to a Workers Rate Limiting binding (RATE_LIMIT_BINDINGS). It only has 10
 *   and 60 s periods and counts per Cloudflare location, eventually consistent (permissive): a
 *   coarse second line for flood control, never security state.
 * - The hourly windows of mail (per IP, and per recipient address) are counted in D1 by one upsert
 *   (windows.store.ts): those routes write D1 anyway and are rare.
 *
 * Nothing here touches KV: KV writes are billed, limited to about one per second per key, and the
 * free plan allows 1,000 a day.
 */
import type { Clock } from "../../lib/clock";
import { AuthError } from "../errors";
import { RATE_LIMIT_BINDINGS, type RateLimitBinding, type RateLimitBindingName } from "./bindings";
import type { CountedWindow, RateWindowStore, RecipientWindow } from "./windows.store";

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

/** The limits whose windows are counted in D1 across isolates (the binding cannot count an hour). */
const D1_WINDOWS: ReadonlySet<LimitName> = new Set(["mail", "recipient"]);

/** The binding tells no reset time; its period is 60 s. */
const BINDING_RETRY_AFTER = 60;

/**
 * A limit counted in D1 whose count a route's own first batch takes (IpLimiter `deferred`): the
 * store counts each of `windows` (windows.store hitStatement, unguarded), writes nothing while one
 * is past its max (withinWindow), and `check` then refuses with the counts it returned.
 */
export interface DeferredLimit {
  windows: CountedWindow[];
  /** RATE_LIMITED (with retryAfter) when a count, in the order of `windows`, is past its max. */
  check(counts: readonly number[]): void;
}

export interface IpLimiter {
  /**
   * Counts one request; RATE_LIMITED with retryAfter when any window is full. The in-isolate count
   * is decided synchronously: a refusal there is thrown before this returns, before any await. The
   * promise returned then checks the count shared between isolates.
   */
  hit(name: LimitName, ip: string): Promise<void>;
  /**
   * The current hourly window of mail to one address (keyed by it), for a store to count in the
   * batch that decides the mail (instead of `hit("recipient", address)`); null when rate limits
   * are off.
   */
  recipientWindow(): RecipientWindow | null;
  /**
   * `hit` for the mail limit (counted in D1) of a route that counts it in its first batch: the
   * in-isolate count is decided now (a refusal is thrown before this returns); the D1 windows are
   * the store's to count (DeferredLimit).
   */
  deferred(name: "mail", ip: string): DeferredLimit;
}

const memory = new Map<string, number>();
const MEMORY_CAP = 50_000;

export function createIpLimiter(deps: {
  windows: RateWindowStore;
  /** The Rate Limiting bindings; one that is missing (outside production only) leaves its limit in-isolate. */
  bindings: Partial<Record<RateLimitBindingName, RateLimitBinding>>;
  clock: Clock;
  enabled: boolean;
}): IpLimiter {
  return {
    recipientWindow() {
      if (!deps.enabled) return null;
      const now = Math.floor(deps.clock.now() / 1000);
      const [[max, seconds]] = IP_LIMITS.recipient;
      const start = Math.floor(now / seconds) * seconds;
      // The key `hit` counts the same window under, less the address.
      return { keyPrefix: `recipient:${seconds}:`, windowStart: start * 1000, max };
    },
    deferred(name, ip) {
      if (!deps.enabled) return { windows: [], check: () => {} };
      const windows = countInIsolate(name, ip, deps.clock);
      return {
        windows: windows.map((w) => ({
          key: `${name}:${w.seconds}:${ip}`,
          windowStart: w.start * 1000,
          max: w.max,
        })),
        check(counts) {
          windows.forEach((w, i) => {
            if ((counts[i] ?? 0) > w.max) throw new AuthError("RATE_LIMITED", { retryAfter: w.resetIn });
          });
        },
      };
    },
    hit(name, ip) {
      if (!deps.enabled) return Promise.resolve();
      const windows = countInIsolate(name, ip, deps.clock);
      const bindingName = (RATE_LIMIT_BINDINGS as Partial<Record<LimitName, RateLimitBindingName>>)[name];
      const binding = bindingName ? deps.bindings[bindingName] : undefined;
      if (binding) return overBinding(binding, `${name}:${ip}`);
      if (D1_WINDOWS.has(name))
        return (async () => {
          for (const w of windows) {
            const n = await deps.windows.hit(`${name}:${w.seconds}:${ip}`, w.start * 1000);
            if (n > w.max) throw new AuthError("RATE_LIMITED", { retryAfter: w.resetIn });
          }
        })();
      return Promise.resolve();
    },
  };
}

/**
 * Counts one request in each of the limit's windows in this isolate, exactly: a synchronous
 * check-and-increment before any await (RATE_LIMITED thrown when one is full). Returns the windows.
 */
function countInIsolate(name: LimitName, ip: string, clock: Clock) {
  const now = Math.floor(clock.now() / 1000);
  if (memory.size > MEMORY_CAP) memory.clear();
  const windows = IP_LIMITS[name].map(([max, seconds]) => {
    const index = Math.floor(now / seconds);
    return {
      max,
      seconds,
      start: index * seconds,
      key: `rl:${name}:${seconds}:${index}:${ip}`,
      resetIn: (index + 1) * seconds - now,
    };
  });
  for (const w of windows) {
    const n = (memory.get(w.key) ?? 0) + 1;
    memory.set(w.key, n);
    if (n > w.max) throw new AuthError("RATE_LIMITED", { retryAfter: w.resetIn });
  }
  return windows;
}

async function overBinding(binding: RateLimitBinding, key: string): Promise<void> {
  let success: boolean;
  try {
    ({ success } = await binding.limit({ key }));
  } catch (e) {
    // The in-isolate count has admitted the request; an unreachable binding does not fail the route.
    console.warn(`rate limiting binding failed; counted in the isolate only: ${(e as Error).message}`);
    return;
  }
  if (!success) throw new AuthError("RATE_LIMITED", { retryAfter: BINDING_RETRY_AFTER });
}
