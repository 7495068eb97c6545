/**
 * Who is calling an HBP route. The bearer access token wins whenever an Authorization header is
 * sent. Without one, HBP's session cookie authenticates: compat(hbp): in cookie mode (`cookie`,
 * HBP's default) HBP authenticated every later request, storage included, by its HttpOnly
 * `permission_variables` cookie, and nhost-js-sdk with `useCookies` sends no Authorization header
 * at all. Here the cookie holds a signed credential bound to the session (not HBP's unsigned claims),
 * checked against D1 on every use, so logout and revocation end it at once. A state-changing request
 * authenticated by it must come from this origin, PUBLIC_URL's or CORS_ORIGINS (assertSameOrigin).
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { AuthError } from "../../core/errors";
import { assertSameOrigin } from "../shared/csrf";
import { authenticateBearer, bearerChallenge, bearerToken, isHttps } from "../shared/http";
import type { AppEnv } from "../shared/types";

export const SESSION_COOKIE = "permission_variables";

export interface HbpPrincipal {
  userId: string;
  sessionId: string;
  roles: string[];
  via: "bearer" | "cookie";
}

const SAFE_METHODS = ["GET", "HEAD", "OPTIONS"];

// SameSite=Strict: a page of another site can neither embed an owner's file nor post with the
// cookie. Path=/ as HBP's cookies: it must reach both /auth and /storage.
const cookieOptions = (c: Context<AppEnv>) =>
  ({ httpOnly: true, secure: isHttps(c), sameSite: "Strict", path: "/" }) as const;

export async function setSessionCookie(c: Context<AppEnv>, session: { sessionId: string; userId: string }) {
  const token = await c.var.services.sessions.cookieToken(session);
  setCookie(c, SESSION_COOKIE, token, { ...cookieOptions(c), maxAge: c.var.config.sessions.absoluteTtl });
}

export function clearSessionCookie(c: Context<AppEnv>) {
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c));
}

/** Refuses a cross-site request that relies on an HBP cookie (session or refresh token). */
export function assertCookieOrigin(c: Context<AppEnv>) {
  if (!SAFE_METHODS.includes(c.req.method)) assertSameOrigin(c, c.var.config.cors.origins);
}

function rolesOf(defaultRole: unknown, allowed: unknown): string[] {
  const roles = Array.isArray(allowed) ? allowed.filter((r): r is string => typeof r === "string") : [];
  if (typeof defaultRole === "string" && !roles.includes(defaultRole)) roles.push(defaultRole);
  return roles;
}

/**
 * The caller, or null when neither a bearer token nor a session cookie is sent. A bad bearer token
 * is a 401; so is an Authorization header of another scheme (`INVALID_TOKEN` on storage routes,
 * "Not logged in" on the auth routes, where it always counted as missing). A session cookie that no longer authenticates (its session ended) is dropped and the
 * request goes on as anonymous, as a browser's would after a sign-out elsewhere.
 */
export async function hbpPrincipal(
  c: Context<AppEnv>,
  otherScheme: "INVALID_TOKEN" | "UNAUTHENTICATED" = "UNAUTHENTICATED",
): Promise<HbpPrincipal | null> {
  if (c.req.header("authorization") !== undefined) {
    const token = bearerToken(c);
    if (!token) {
      const err = new AuthError(otherScheme);
      bearerChallenge(c, err);
      throw err;
    }
    const p = await authenticateBearer(c, token);
    const ns = c.var.config.jwt.claimsNamespace;
    const hasura = ns ? (p.claims[ns] as Record<string, unknown> | undefined) : undefined;
    return {
      userId: p.userId,
      sessionId: p.sessionId,
      roles: rolesOf(hasura?.["x-hasura-default-role"], hasura?.["x-hasura-allowed-roles"]),
      via: "bearer",
    };
  }
  const cookie = getCookie(c, SESSION_COOKIE);
  if (!cookie) return null;
  assertCookieOrigin(c);
  try {
    const p = await c.var.services.sessions.authenticateCookie(cookie);
    return {
      userId: p.userId,
      sessionId: p.sessionId,
      roles: rolesOf(p.defaultRole, p.allowedRoles),
      via: "cookie",
    };
  } catch (e) {
    if (!(e instanceof AuthError) || !["INVALID_TOKEN", "TOKEN_EXPIRED"].includes(e.code)) throw e;
    clearSessionCookie(c);
    return null;
  }
}

/** The caller of a route that needs one: 401 without a bearer token or a live session cookie. */
export async function requireHbpPrincipal(c: Context<AppEnv>): Promise<HbpPrincipal> {
  const p = await hbpPrincipal(c);
  if (!p) {
    const err = new AuthError("UNAUTHENTICATED");
    bearerChallenge(c, err);
    throw err;
  }
  return p;
}
