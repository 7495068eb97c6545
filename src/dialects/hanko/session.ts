/**
 * Hanko session transport. A session JWT travels in the `hanko` cookie and/or `Authorization:
 * Bearer`; after a login the Worker sends both `X-Auth-Token` and an HttpOnly `hanko` cookie, and
 * always `X-Session-Lifetime` (seconds), which the 0.12 SDK needs to consider the session created
 * (shared/notes/real-clients.md §1). Sessions are core sessions: a token from any dialect works.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { IssuedSession } from "../../core/sessions/sessions.service";
import { assertSameOrigin } from "../shared/csrf";
import { authenticateBearer, bearerToken, isHttps } from "../shared/http";
import type { AppEnv } from "../shared/types";

export const SESSION_COOKIE = "hanko";

/**
 * The authenticated caller. A request authenticated by the cookie must pass the cross-site rule
 * (shared/csrf.ts); a bearer token cannot be sent by another site, so it needs no such check.
 */
export async function principal(c: Context<AppEnv>) {
  const bearer = bearerToken(c);
  const cookie = getCookie(c, SESSION_COOKIE);
  if (bearer || !cookie || cookie.length > 8192) return authenticateBearer(c, bearer);
  assertSameOrigin(c);
  // Safe methods may rely on a liveness check a few seconds old (core/sessions/session-cache.ts).
  return c.var.services.sessions.authenticate(cookie, { read: ["GET", "HEAD"].includes(c.req.method) });
}

/**
 * compat(hanko): X-Auth-Token + X-Session-Lifetime + the `hanko` cookie on every login answer. The
 * 0.12 SDK never refreshes, so the token handed over lives HANKO_SESSION_LIFETIME (default 1 h),
 * not the short access-token lifetime of the refreshing dialects.
 */
export async function sendSession(c: Context<AppEnv>, session: IssuedSession) {
  sendToken(
    c,
    await c.var.services.sessions.accessToken(session.sessionId, c.var.config.hankoSessionLifetime),
  );
}

/** The headers and cookie of sendSession for a token already minted with the hanko lifetime. */
export function sendToken(
  c: Context<AppEnv>,
  { accessToken, expiresIn }: { accessToken: string; expiresIn: number },
) {
  c.header("X-Auth-Token", accessToken);
  c.header("X-Session-Lifetime", String(expiresIn));
  setCookie(c, SESSION_COOKIE, accessToken, {
    httpOnly: true,
    secure: isHttps(c),
    sameSite: "Lax",
    path: "/",
    maxAge: expiresIn,
  });
}

export function clearSession(c: Context<AppEnv>) {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: isHttps(c), httpOnly: true, sameSite: "Lax" });
}
