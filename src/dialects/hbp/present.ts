/** Domain -> HBP JSON, and the cookies of HBP's cookie mode (refresh token, session). */
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import type { IssuedSession } from "../../core/sessions/sessions.service";
import type { User } from "../../core/users/users.service";
import { isHttps } from "../shared/http";
import type { AppEnv } from "../shared/types";
import { clearSessionCookie, setSessionCookie } from "./session";

export const REFRESH_COOKIE = "refresh_token";

export const presentUser = (u: Pick<User, "id" | "displayName" | "email" | "avatarUrl">) => ({
  id: u.id,
  display_name: u.displayName,
  email: u.email,
  avatar_url: u.avatarUrl,
});

export function setRefreshCookie(c: Context<AppEnv>, token: string) {
  setCookie(c, REFRESH_COOKIE, token, {
    httpOnly: true,
    secure: isHttps(c),
    sameSite: "Strict",
    path: "/auth",
    maxAge: c.var.config.sessions.absoluteTtl,
  });
}

/** Ends cookie mode in this browser: the refresh-token cookie and the session cookie. */
export function clearCookies(c: Context<AppEnv>) {
  deleteCookie(c, REFRESH_COOKIE, { path: "/auth", secure: isHttps(c), httpOnly: true, sameSite: "Strict" });
  clearSessionCookie(c);
}

/** Cookie mode: the refresh token for /auth and the session cookie that authenticates later requests. */
export async function setCookies(c: Context<AppEnv>, session: IssuedSession) {
  setRefreshCookie(c, session.refreshToken);
  await setSessionCookie(c, session);
}

/**
 * compat(hbp): `jwt_expires_in` is milliseconds (HBP sends minutes x 60000; nhost-js-sdk schedules
 * its refresh from it). With `cookie` (HBP's default) the refresh token travels only in an HttpOnly
 * cookie and is left out of the body, and the session cookie authenticates later requests.
 */
export async function sessionBody(
  c: Context<AppEnv>,
  user: Parameters<typeof presentUser>[0],
  session: IssuedSession,
  useCookie: boolean,
) {
  const body: Record<string, unknown> = {
    jwt_token: session.accessToken,
    jwt_expires_in: session.expiresIn * 1000,
    user: presentUser(user),
  };
  if (useCookie) await setCookies(c, session);
  else body.refresh_token = session.refreshToken;
  return body;
}

/** Appends a query parameter to a configured URL. */
export function withParam(base: string, name: string, value: string): string {
  const url = new URL(base);
  url.searchParams.set(name, value);
  return url.toString();
}
