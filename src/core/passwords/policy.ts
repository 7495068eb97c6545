/**
 * Rules a new password must meet (NIST SP 800-63B §3.1.1.2): a length range, not on the list of
 * the most common passwords, and optionally not known to the breached-password range API. That API
 * only ever sees the first 5 hex digits of the password's SHA-1 (k-anonymity); when it cannot be
 * reached the password is allowed and a line is logged, so an outage never blocks sign-ups.
 */
import { toHex, utf8 } from "../../lib/encoding";
import { AuthError } from "../errors";
import { isCommonPassword } from "./blocklist";

export interface PasswordRules {
  minLength: number;
  maxLength: number;
}

export interface BreachCheckConfig {
  enabled: boolean;
  /** Base URL; the 5-hex prefix is appended. */
  rangeUrl: string;
  timeoutMs: number;
}

export const COMMON_PASSWORD_DETAIL =
  "This password is too common and easy to guess. Choose a less common one.";
export const BREACHED_PASSWORD_DETAIL =
  "This password has appeared in a data breach. Choose a different one.";

/** Length and blocklist rules, synchronously: at least `min` characters, at most 256 / 1024 bytes. */
export function checkPasswordPolicy(password: string, policy: PasswordRules): void {
  const chars = [...password.normalize("NFKC")].length;
  if (chars < policy.minLength) {
    throw new AuthError("PASSWORD_POLICY", {
      detail: `Password must be at least ${policy.minLength} characters long.`,
    });
  }
  if (chars > policy.maxLength || new TextEncoder().encode(password).length > 1024) {
    throw new AuthError("PASSWORD_POLICY", {
      detail: `Password must be at most ${policy.maxLength} characters long.`,
    });
  }
  if (isCommonPassword(password)) throw new AuthError("PASSWORD_POLICY", { detail: COMMON_PASSWORD_DETAIL });
}

export interface PasswordPolicy {
  /** Throws PASSWORD_POLICY (with a detail for the user) when the password may not be set. */
  check(password: string): Promise<void>;
}

export function createPasswordPolicy(deps: {
  rules: PasswordRules;
  breach: BreachCheckConfig;
  fetch: typeof fetch;
  log: (message: string) => void;
}): PasswordPolicy {
  const { rules, breach } = deps;

  /** True when the range API lists the password, false when not or when it cannot answer. */
  async function breached(password: string): Promise<boolean> {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", utf8(password.normalize("NFKC"))));
    const hex = toHex(digest).toUpperCase();
    const prefix = hex.slice(0, 5);
    const suffix = hex.slice(5);
    try {
      const res = await deps.fetch(`${breach.rangeUrl}${prefix}`, {
        // Padding hides from an observer how many suffixes the prefix has.
        headers: { "Add-Padding": "true", "User-Agent": "latchkey" },
        signal: AbortSignal.timeout(breach.timeoutMs),
      });
      if (!res.ok) {
        await res.body?.cancel();
        deps.log(`password breach check: range API answered ${res.status}; password allowed`);
        return false;
      }
      for (const line of (await res.text()).split("\n")) {
        const [s, count] = line.trim().split(":");
        // Padding entries have a count of 0.
        if (s?.toUpperCase() === suffix && Number(count) > 0) return true;
      }
      return false;
    } catch (e) {
      deps.log(`password breach check: range API unreachable (${(e as Error).name}); password allowed`);
      return false;
    }
  }

  return {
    async check(password) {
      checkPasswordPolicy(password, rules);
      if (breach.enabled && (await breached(password)))
        throw new AuthError("PASSWORD_POLICY", { detail: BREACHED_PASSWORD_DETAIL });
    },
  };
}
