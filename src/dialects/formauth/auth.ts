/**
 * api/formauth.txt, Auth: register, login, two-factor, refresh, logout, plus the confirmation link
 * the registration mail carries. Both tokens are JWTs, as in the document: the access token is the
 * core's, the refresh JWT wraps a core refresh token, so rotation and reuse detection are the core's.
 */
import { type Context, Hono } from "hono";
import { AuthError, isAuthError } from "../../core/errors";
import type { IssuedSession } from "../../core/sessions/sessions.service";
import { requirePrincipal, sessionContext, validate } from "../shared/http";
import { invalidTicketRedirect, limit, limitHashing } from "../shared/kit";
import { confirmPage } from "../shared/links";
import { op } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import { PENDING_CONFIRMATION } from "./errors";
import * as o from "./openapi";
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

const register = op({
  summary: "Register an account",
  description:
    "A confirmation link is mailed (`PENDING_CONFIRMATION`); with AUTO_ACTIVATE_NEW_USERS the answer is the token pair at once.",
  body: s.registerBody,
  responses: {
    200: {
      description: "PENDING_CONFIRMATION, or the token pair with AUTO_ACTIVATE_NEW_USERS",
      body: o.codeResponse.or(o.loginResponse),
    },
    400: "Invalid body or weak password",
    403: "Registration is disabled",
    409: "A taken username (or, with ACCOUNT_EXISTENCE_HINTS, a taken address)",
    429: "Too many registrations",
  },
});

auth.post("/register", register, limitHashing("register"), async (c) => {
  const { services, config } = c.var;
  const body = await register.body(c);
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
const confirmLink = op({
  summary: "The page the confirmation link opens: its button posts the token to POST /api/auth/confirm",
  query: s.confirmQuery,
  responses: { 200: { description: "An HTML page", contentType: "text/html" }, 400: "No token" },
});

auth.get("/confirm", confirmLink, (c) => {
  const { token } = confirmLink.query(c);
  return confirmPage(c, {
    title: "Confirm your email address",
    text: "Press the button to complete your registration.",
    button: "Confirm",
    action: `${c.var.config.publicUrl}/api/auth/confirm`,
    field: "token",
    secret: token,
  });
});

const confirm = op({
  summary: "Confirm the address (the confirmation page's button)",
  body: s.confirmQuery,
  responses: {
    303: "To REDIRECT_URL_SUCCESS; an invalid token goes to REDIRECT_URL_ERROR when set",
    401: "Invalid or expired token",
  },
});

auth.post("/confirm", confirm, limit("verify"), async (c) => {
  const { services, config } = c.var;
  const { token } = await confirm.body(c);
  return invalidTicketRedirect(c, 303, async () => {
    await services.accounts.confirmEmail(token);
    return c.redirect(config.redirects.success, 303);
  });
});

const login = op({
  summary: "Sign in with email (or username) and password",
  body: s.loginBody,
  responses: {
    200: { description: "The token pair; with two-factor on, the two-factor token", body: o.loginResponse },
    400: "Invalid body",
    401: "Wrong credentials",
    403: "PENDING_CONFIRMATION: the address is not confirmed yet",
    429: "Too many attempts",
  },
});

auth.post("/login", login, limitHashing("login"), async (c) => {
  const { services } = c.var;
  const { email, password } = await login.body(c);
  const ctx = sessionContext(c);
  const result = await services.accounts.loginWithPassword(
    email.includes("@") ? { email, password, ctx } : { username: validate(s.username, email), password, ctx },
  );
  // With two-factor on, access_token carries the two-factor token and no session exists yet.
  if (result.kind === "mfa_required")
    return c.json({ access_token: result.ticket, refresh_token: null, twoFactor: true });
  return c.json({ ...(await tokenPair(c, result.session)), twoFactor: false });
});

const twoFactor = op({
  summary: "Second step of a two-factor login: the token from /login and a TOTP code",
  body: s.twoFactorBody,
  responses: {
    200: { description: "The token pair", body: o.loginResponse },
    400: "Invalid body",
    401: "Invalid token or code",
    429: "Too many attempts",
  },
});

auth.post("/two-factor", twoFactor, limit("verify"), async (c) => {
  const { services } = c.var;
  const { token, code } = await twoFactor.body(c);
  const { session } = await services.accounts.completeMfa({ ticket: token, code, ctx: sessionContext(c) });
  return c.json({ ...(await tokenPair(c, session)), twoFactor: true });
});

const refresh = op({
  summary: "Rotate the refresh token",
  body: s.refreshBody,
  responses: {
    200: { description: "A new token pair", body: o.tokenPairResponse },
    400: "Invalid body",
    401: "Invalid, expired or reused refresh token",
    429: "Too many refreshes",
  },
});

auth.post("/refresh", refresh, limit("refresh"), async (c) => {
  const { services } = c.var;
  const { refresh_token } = await refresh.body(c);
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

auth.post(
  "/logout",
  op({
    summary: "Sign out: ends the access token's session",
    auth: ["bearer"],
    responses: {
      200: { description: "LOGGED_OUT", body: o.codeResponse },
      401: "Not signed in, or a bad token",
    },
  }),
  async (c) => {
    const principal = await requirePrincipal(c);
    await c.var.services.sessions.revoke(principal.sessionId);
    return c.json({ code: "LOGGED_OUT", error: "You are now logged out." });
  },
);
