/**
 * The Workers Rate Limiting bindings (`[[ratelimits]]` in wrangler.toml) that carry the per-IP
 * windows across isolates, one per limit name. Kept free of imports: the configuration check
 * (src/config.ts, also bundled by scripts/config-check.mjs) names them.
 */
export const RATE_LIMIT_BINDINGS = {
  login: "RL_LOGIN",
  register: "RL_REGISTER",
  refresh: "RL_REFRESH",
  verify: "RL_VERIFY",
  existence: "RL_EXISTENCE",
} as const;

export type RateLimitBindingName = (typeof RATE_LIMIT_BINDINGS)[keyof typeof RATE_LIMIT_BINDINGS];

/** What the limiter uses of a binding (workerd's RateLimit). */
export interface RateLimitBinding {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}
