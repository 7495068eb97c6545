/** Domain -> Directus JSON, and the two cookies Directus clients rely on. */
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import type { IssuedSession } from "../../core/sessions/sessions.service";
import type { User } from "../../core/users/users.service";
import { isHttps } from "../shared/http";
import type { AppEnv } from "../shared/types";
import type { Mode } from "./schemas";

export const REFRESH_COOKIE = "directus_refresh_token";
export const SESSION_COOKIE = "directus_session_token";

// Lax, not Strict: after an OAuth callback (a top-level navigation) the app's first refresh must
// carry the cookie. Cross-site use is refused by assertSameOrigin instead.
const cookieOptions = (c: Context<AppEnv>) =>
  ({ httpOnly: true, secure: isHttps(c), sameSite: "Lax", path: c.var.config.directus.prefix }) as const;

function setTokenCookie(c: Context<AppEnv>, name: string, token: string) {
  setCookie(c, name, token, { ...cookieOptions(c), maxAge: c.var.config.sessions.absoluteTtl });
}

export function clearTokenCookies(c: Context<AppEnv>) {
  deleteCookie(c, REFRESH_COOKIE, cookieOptions(c));
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c));
}

/**
 * The login and refresh answer. `json`: both tokens in the body. `cookie`: the refresh token in the
 * HttpOnly `directus_refresh_token` cookie. `session`: the session token in the HttpOnly
 * `directus_session_token` cookie and no token in the body.
 * compat(directus): `expires` is milliseconds (the SDK computes `expires_at = now + expires`); the
 * document's 900 would make it refresh before every request.
 */
export function tokensBody(c: Context<AppEnv>, session: IssuedSession, mode: Mode) {
  const expires = session.expiresIn * 1000;
  if (mode === "session") {
    setTokenCookie(c, SESSION_COOKIE, session.refreshToken);
    return { data: { expires } };
  }
  if (mode === "cookie") {
    setTokenCookie(c, REFRESH_COOKIE, session.refreshToken);
    return { data: { access_token: session.accessToken, expires } };
  }
  return { data: { access_token: session.accessToken, expires, refresh_token: session.refreshToken } };
}

/** A user as Directus's `directus_users` item (the fields an auth-only server can answer). */
export function presentMe(u: User) {
  return {
    id: u.id,
    first_name: u.displayName,
    last_name: null,
    email: u.email,
    password: "**********",
    location: null,
    title: null,
    description: null,
    tags: null,
    avatar: u.avatarUrl,
    language: u.locale,
    tfa_secret: u.totpEnabled ? "**********" : null,
    status: u.disabled ? "suspended" : u.active ? "active" : "unverified",
    role: u.defaultRole,
    token: null,
    provider: "default",
    external_identifier: null,
    email_notifications: true,
  };
}

/** `?fields=a,b` (or `fields[]=`): the listed top-level fields; `*` or none: all of them. */
export function pickFields<T extends Record<string, unknown>>(item: T, fields: string[]): Partial<T> {
  const wanted = fields
    .flatMap((f) => f.split(","))
    .map((f) => f.trim())
    .filter(Boolean);
  if (wanted.length === 0 || wanted.includes("*")) return item;
  return Object.fromEntries(Object.entries(item).filter(([k]) => wanted.includes(k))) as Partial<T>;
}
