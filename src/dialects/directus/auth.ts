/**
 * api/directus-auth.txt, Authentication: login, refresh, logout, password request and reset.
 * compat(directus): these routes never read the Authorization header. The 9.x SDK attaches its
 * (possibly expired) access token to refresh, logout and the password routes, and Directus
 * ignores it there.
 */
import { type Context, Hono } from "hono";
import { getCookie } from "hono/cookie";
import { AuthError } from "../../core/errors";
import { assertSameOrigin, sameOrigin } from "../shared/csrf";
import { sessionContext } from "../shared/http";
import { deferRequest, limit, limitHashing } from "../shared/kit";
import { op } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import * as o from "./openapi";
import { clearTokenCookies, REFRESH_COOKIE, SESSION_COOKIE, tokensBody } from "./present";
import * as s from "./schemas";

export const auth = new Hono<AppEnv>();

/**
 * The refresh token of a refresh or logout request and the mode to answer in.
 * compat(directus): without `mode`, a body `refresh_token` means json (the 9.x SDK sends no mode),
 * otherwise the cookie.
 */
function tokenOf(c: Context<AppEnv>, body: { refresh_token?: string; mode?: s.Mode }) {
  const mode = body.mode ?? (body.refresh_token ? "json" : "cookie");
  const token =
    mode === "json" ? body.refresh_token : getCookie(c, mode === "session" ? SESSION_COOKIE : REFRESH_COOKIE);
  if (!token)
    throw new AuthError("INVALID_REQUEST", {
      detail: "The refresh token is required in either the payload or cookie",
    });
  return { mode, token };
}

const login = op({
  summary: "Sign in with email and password (and `otp` when TOTP is on)",
  description:
    "`mode`: `json` (the default: both tokens in the body), `cookie` (the refresh token in the directus_refresh_token cookie) or `session` (the session in the directus_session_token cookie).",
  body: s.loginBody,
  responses: {
    200: { description: "The tokens, as `mode` asks", body: o.tokensResponse },
    400: "Invalid payload",
    401: "Invalid credentials, or a missing or wrong `otp`",
    403: "A cross-site request in cookie or session mode",
    429: "Too many attempts",
  },
});

auth.post("/login", login, limitHashing("login"), async (c) => {
  const { services } = c.var;
  const body = await login.body(c);
  // compat(directus): the server's default mode is json; the SDK always sends one (default cookie).
  const mode = body.mode ?? "json";
  if (mode !== "json") assertSameOrigin(c);
  const ctx = sessionContext(c);
  const result = await services.accounts.loginWithPassword({
    email: body.email,
    password: body.password,
    ctx,
  });
  let session = result.kind === "session" ? result.session : null;
  if (result.kind === "mfa_required") {
    // Directus takes the one-time password in the same request as the password.
    if (!body.otp) throw new AuthError("INVALID_OTP");
    session = (await services.accounts.completeMfa({ ticket: result.ticket, code: body.otp, ctx })).session;
  }
  return c.json(tokensBody(c, session!, mode));
});

const refresh = op({
  summary: "Rotate the refresh token (body in json mode, else the cookie)",
  body: s.tokenBody,
  auth: ["refresh", "session"],
  responses: {
    200: { description: "New tokens, as `mode` asks", body: o.tokensResponse },
    400: "No refresh token in the payload or cookie",
    401: "Invalid, expired or reused refresh token",
    403: "A cross-site request",
  },
});

auth.post("/refresh", refresh, sameOrigin, limit("refresh"), async (c) => {
  const { services } = c.var;
  const { mode, token } = tokenOf(c, await refresh.body(c));
  const session = await services.sessions.refresh(token);
  return c.json(tokensBody(c, session, mode));
});

const logout = op({
  summary: "Sign out: ends the session of the refresh token (body in json mode, else the cookie)",
  body: s.tokenBody,
  auth: ["refresh", "session"],
  responses: { 204: "Signed out; cookies cleared", 400: "No refresh token", 403: "A cross-site request" },
});

auth.post("/logout", logout, async (c) => {
  const { services } = c.var;
  assertSameOrigin(c);
  const { token } = tokenOf(c, await logout.body(c));
  const owner = await services.sessions.peek(token);
  if (owner) await services.sessions.revoke(owner.sessionId);
  clearTokenCookies(c);
  return c.body(null, 204);
});

/** Exact match against PASSWORD_RESET_URL_ALLOW_LIST (no prefix or pattern matching). */
function allowedResetUrl(url: string, allowList: readonly string[]): boolean {
  if (!URL.canParse(url)) return false;
  const href = new URL(url).href;
  return allowList.some((entry) => URL.canParse(entry) && new URL(entry).href === href);
}

// Always 204 for a well-formed request, so the answer says nothing about which accounts exist.
const passwordRequest = op({
  summary: "Ask for a password-reset mail (204 whether or not the account exists)",
  description:
    "`reset_url` must be listed in PASSWORD_RESET_URL_ALLOW_LIST; the default is DIRECTUS_PASSWORD_RESET_URL.",
  body: s.passwordRequestBody,
  responses: {
    204: "Mailed if the account exists",
    400: "Invalid payload or a reset_url not allowed",
    429: "Too many mails",
  },
});

auth.post("/password/request", passwordRequest, async (c) => {
  const { services, config } = c.var;
  // The per-IP mail window: counted in this isolate now, in D1 by the ticket's batch.
  const mail = deferRequest(c, "mail");
  const body = await passwordRequest.body(c);
  let base = config.directus.passwordResetUrl;
  if (body.reset_url !== undefined) {
    if (!allowedResetUrl(body.reset_url, config.directus.passwordResetUrlAllowList))
      throw new AuthError("INVALID_REQUEST", {
        detail: `URL "${body.reset_url.slice(0, 200)}" can't be used to reset passwords`,
      });
    base = body.reset_url;
  }
  await services.accounts.requestPasswordReset(
    body.email,
    (token) => {
      const url = new URL(base);
      url.searchParams.set("token", token);
      return url.toString();
    },
    mail,
  );
  return c.body(null, 204);
});

const passwordReset = op({
  summary: "Set a new password with the mailed token",
  body: s.passwordResetBody,
  responses: {
    204: "Changed; every session of the user ends",
    400: "Invalid payload or weak password",
    401: "Invalid or expired token",
  },
});

auth.post("/password/reset", passwordReset, limitHashing("verify"), async (c) => {
  const { services } = c.var;
  const body = await passwordReset.body(c);
  await services.accounts.resetPassword(body.token, body.password, sessionContext(c));
  return c.body(null, 204);
});
