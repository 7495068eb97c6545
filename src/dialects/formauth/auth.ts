/**
 * api/formauth.txt, Auth: register, login, two-factor, refresh, logout, plus the confirmation link
 * the registration mail carries. Both tokens are JWTs, as in the document: the access token is the
 * core's, the refresh JWT wraps a core refresh token, so rotation and reuse detection are the core's.
 */
import { type Context, Hono } from "hono";
import { AuthError, isAuthError } from "../../core/errors";
import type { IssuedSession } from "../../core/sessions/sessions.service";
import { readBody, requirePrincipal, sessionContext, validate } from "../shared/http";
import { invalidTicketRedirect, limit, limitHashing } from "../shared/kit";
import { confirmPage } from "../shared/links";
import type { AppEnv } from "../shared/types";
import { PENDING_CONFIRMATION } from "./errors";
import * as s from "./schemas";

export const auth = new Hono<AppEnv>();

/** The document's token pair: the refresh JWT lives as long as the refresh token it wraps. */
async function tokenPair(c: Context<AppEnv>, session: IssuedSession) {
  const { services, config } = c.var;
  const refresh = await services.purposeTokens.sign(
    "rt+jwt",
    session.userId,
    { sid: session.sessionId, rt: session.refreshToken },
    config.sessions.refreshIdleTtl,
  );
  return { access_token: session.accessToken, refresh_token: refresh };
}

auth.post("/register", limitHashing("register"), async (c) => {
  const { services, config } = c.var;
  const body = validate(s.registerBody, await readBody(c));
  const result = await services.accounts.register({
    email: body.email,
    password: body.password,
    username: body.username,
    displayName: body.username,
    activationLink: (t) => `${config.publicUrl}/api/auth/confirm?token=${encodeURIComponent(t)}`,
    ctx: sessionContext(c),
  });
  if (result.kind === "session") return c.json({ ...(await tokenPair(c, result.session)), twoFactor: false });
  return c.json({ code: "PENDING_CONFIRMATION", error: PENDING_CONFIRMATION });
});

/**
 * The link in the confirmation mail (api/formauth.txt names none, so it is ours to shape): GET
 * (and HEAD) only shows a page whose button posts the token back; the POST confirms and sends the
 * browser to the configured page. A mail scanner opening the link spends nothing.
 */
auth.get("/confirm", (c) => {
  const { token } = validate(s.confirmQuery, c.req.query());
  return confirmPage(c, {
    title: "Confirm your email address",
    text: "Press the button to complete your registration.",
    button: "Confirm",
    action: `${c.var.config.publicUrl}/api/auth/confirm`,
    field: "token",
    secret: token,
  });
});

auth.post("/confirm", limit("verify"), async (c) => {
  const { services, config } = c.var;
  const { token } = validate(s.confirmQuery, await readBody(c));
  return invalidTicketRedirect(c, 303, async () => {
    await services.accounts.confirmEmail(token);
    return c.redirect(config.redirects.success, 303);
  });
});

auth.post("/login", limitHashing("login"), async (c) => {
  const { services } = c.var;
  const { email, password } = validate(s.loginBody, await readBody(c));
  const ctx = sessionContext(c);
  const result = await services.accounts.loginWithPassword(
    email.includes("@") ? { email, password, ctx } : { username: validate(s.username, email), password, ctx },
  );
  // With two-factor on, access_token carries the two-factor token and no session exists yet.
  if (result.kind === "mfa_required")
    return c.json({ access_token: result.ticket, refresh_token: null, twoFactor: true });
  return c.json({ ...(await tokenPair(c, result.session)), twoFactor: false });
});

auth.post("/two-factor", limit("verify"), async (c) => {
  const { services } = c.var;
  const { token, code } = validate(s.twoFactorBody, await readBody(c));
  const { session } = await services.accounts.completeMfa({ ticket: token, code, ctx: sessionContext(c) });
  return c.json({ ...(await tokenPair(c, session)), twoFactor: true });
});

auth.post("/refresh", limit("refresh"), async (c) => {
  const { services } = c.var;
  const { refresh_token } = validate(s.refreshBody, await readBody(c));
  let wrapped: unknown;
  try {
    wrapped = (await services.purposeTokens.verify("rt+jwt", refresh_token)).rt;
  } catch (e) {
    if (isAuthError(e)) throw new AuthError("INVALID_REFRESH_TOKEN", { cause: e });
    throw e;
  }
  if (typeof wrapped !== "string") throw new AuthError("INVALID_REFRESH_TOKEN");
  return c.json(await tokenPair(c, await services.sessions.refresh(wrapped)));
});

auth.post("/logout", async (c) => {
  const principal = await requirePrincipal(c);
  await c.var.services.sessions.revoke(principal.sessionId);
  return c.json({ code: "LOGGED_OUT", error: "You are now logged out." });
});
