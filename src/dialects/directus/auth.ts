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
import { readBody, sessionContext, validate } from "../shared/http";
import { limit, limitHashing } from "../shared/kit";
import type { AppEnv } from "../shared/types";
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

auth.post("/login", limitHashing("login"), async (c) => {
  const { services } = c.var;
  const body = validate(s.loginBody, await readBody(c));
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

auth.post("/refresh", sameOrigin, limit("refresh"), async (c) => {
  const { services } = c.var;
  const { mode, token } = tokenOf(c, validate(s.tokenBody, await readBody(c)));
  const session = await services.sessions.refresh(token);
  return c.json(tokensBody(c, session, mode));
});

auth.post("/logout", async (c) => {
  const { services } = c.var;
  assertSameOrigin(c);
  const { token } = tokenOf(c, validate(s.tokenBody, await readBody(c)));
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
auth.post("/password/request", limit("mail"), async (c) => {
  const { services, config } = c.var;
  const body = validate(s.passwordRequestBody, await readBody(c));
  let base = config.directus.passwordResetUrl;
  if (body.reset_url !== undefined) {
    if (!allowedResetUrl(body.reset_url, config.directus.passwordResetUrlAllowList))
      throw new AuthError("INVALID_REQUEST", {
        detail: `URL "${body.reset_url.slice(0, 200)}" can't be used to reset passwords`,
      });
    base = body.reset_url;
  }
  await services.accounts.requestPasswordReset(body.email, (token) => {
    const url = new URL(base);
    url.searchParams.set("token", token);
    return url.toString();
  });
  return c.body(null, 204);
});

auth.post("/password/reset", limitHashing("verify"), async (c) => {
  const { services } = c.var;
  const body = validate(s.passwordResetBody, await readBody(c));
  await services.accounts.resetPassword(body.token, body.password, sessionContext(c));
  return c.body(null, 204);
});
