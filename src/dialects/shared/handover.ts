/**
 * The browser hand-over (Hanko's `hanko_token`, api/hanko-0.12-openapi.txt "Third Party" and
 * "Token"): after a login that happened in the browser (a third-party or SAML login, a hosted
 * page), the browser goes to the application with a one-time value, a `session_exchange` ticket
 * living 60 s, which the application exchanges at POST `/token` for a session of its own. The
 * ticket carries the methods of that login, so the new session's amr says how the user really
 * authenticated, and, for a login that happened before the hand-over (a hosted page's session),
 * when: the new session inherits that time, so a hand-over never counts as a fresh sign-in for
 * step-up.
 */
import type { Context } from "hono";
import type { AppEnv } from "./types";

export const HANDOVER_TTL_MS = 60_000;

/**
 * `target` with a new one-time `hanko_token` for `userId`, signed in with `amr`; `authAt` when the
 * user proved a credential, if not just now.
 */
export async function handoverUrl(
  c: Context<AppEnv>,
  target: string,
  userId: string,
  amr: string[],
  authAt?: number,
): Promise<string> {
  const value = await c.var.services.tickets.issue({
    purpose: "session_exchange",
    userId,
    ttlMs: HANDOVER_TTL_MS,
    data: authAt === undefined ? { amr } : { amr, auth_at: authAt },
  });
  const url = new URL(target);
  url.searchParams.set("hanko_token", value);
  return url.toString();
}

/**
 * Spends a hand-over value: its user, the methods of the login it hands over and when it proved a
 * credential (undefined: at the hand-over itself), or null.
 */
export async function redeemHandover(
  c: Context<AppEnv>,
  value: string,
): Promise<{ userId: string; amr: string[]; authAt?: number } | null> {
  const grant = await c.var.services.tickets.consume(value, "session_exchange");
  if (!grant) return null;
  const amr = Array.isArray(grant.data.amr)
    ? grant.data.amr.filter((m): m is string => typeof m === "string")
    : [];
  const authAt = typeof grant.data.auth_at === "number" ? grant.data.auth_at : undefined;
  return { userId: grant.userId, amr, authAt };
}
