/**
 * api/hbp.txt, Authentication: register, login, logout, activation, magic links, tokens, deletion.
 * Port of the API's shape, not of HBP's flaws (shared/notes/security.md §0.6): a magic-link request
 * never puts a session on the requester's response, tickets are typed, login does not reveal
 * whether an account exists unless ACCOUNT_EXISTENCE_HINTS is on.
 */
import { type Context, Hono } from "hono";
import { getCookie } from "hono/cookie";
import { z } from "zod";
import { AuthError } from "../../core/errors";
import type { IssuedSession } from "../../core/sessions/sessions.service";
import { sameOrigin } from "../shared/csrf";
import { sessionContext } from "../shared/http";
import { deferRequest, feature, invalidTicketRedirect, limit, limitHashing } from "../shared/kit";
import { safeHead } from "../shared/links";
import { op } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import * as o from "./openapi";
import { clearCookies, presentUser, REFRESH_COOKIE, sessionBody, setCookies, withParam } from "./present";
import * as s from "./schemas";
import { assertCookieOrigin, hbpPrincipal, requireHbpPrincipal } from "./session";

export const auth = new Hono<AppEnv>();

const links = (publicUrl: string) => ({
  activation: (t: string) => `${publicUrl}/auth/activate?ticket=${encodeURIComponent(t)}`,
  magic: (action: "log-in" | "register") => (t: string) =>
    `${publicUrl}/auth/magic-link?action=${action}&token=${encodeURIComponent(t)}`,
});

// compat(hbp): `cookie` defaults to true when absent (HBP's `useCookie`).
const wantsCookie = (v: boolean | undefined) => v ?? true;
const queryCookie = (v: string | undefined) => (v === undefined ? true : v === "true");

const register = op({
  summary: "Register an account",
  description:
    "With AUTO_ACTIVATE_NEW_USERS the account is signed in at once; otherwise an activation link is mailed and the answer has null tokens.",
  body: s.registerBody,
  responses: {
    200: {
      description: "The session, or null tokens until the address is activated",
      body: o.sessionResponse.or(o.pendingResponse),
    },
    400: "Invalid body, weak password, or (with ACCOUNT_EXISTENCE_HINTS) a taken address",
    403: "Registration is disabled, or a cross-site request",
    429: "Too many registrations from this address",
  },
});

auth.post("/register", register, sameOrigin, limitHashing("register"), async (c) => {
  const { services, config } = c.var;
  const body = await register.body(c);
  // Setting a session cookie from another site would sign the browser in as someone else.
  if (wantsCookie(body.cookie)) assertCookieOrigin(c);
  if (body.password === undefined && !config.features.magicLink) {
    throw new AuthError("INVALID_REQUEST", { detail: '"password" is required' });
  }
  const { display_name, avatar_url, locale, ...metadata } = body.user_data ?? {};
  const opts = body.register_options ?? {};
  const link = links(config.publicUrl);
  const result = await services.accounts.register({
    email: body.email,
    password: body.password,
    displayName: typeof display_name === "string" ? display_name : undefined,
    avatarUrl: typeof avatar_url === "string" ? avatar_url : undefined,
    locale: typeof locale === "string" ? locale : undefined,
    metadata,
    defaultRole: opts.default_role ?? opts.default_roles,
    allowedRoles: opts.allowed_roles,
    activationLink: link.activation,
    magicLink: config.features.magicLink ? link.magic("register") : undefined,
    ctx: sessionContext(c),
  });
  if (result.kind === "session")
    return c.json(await sessionBody(c, result.user, result.session, wantsCookie(body.cookie)));
  return c.json({ jwt_token: null, jwt_expires_in: null, user: presentUser(result.user) });
});

// Admitted before the body is read, so a flood is refused at once; a magic-link request (known
// only from the body) counts in the login window too, and then in the mail one.
const login = op({
  summary: "Sign in with a password, or ask for a magic link",
  description: "Without `password` (MAGIC_LINK_ENABLED) a sign-in link is mailed.",
  body: s.loginBody,
  responses: {
    200: {
      description: "The session; `mfa` and a ticket when TOTP is on; `magicLink` when a link was mailed",
      body: o.sessionResponse.or(o.mfaResponse).or(o.magicLinkResponse),
    },
    400: "Invalid body, or an account not activated yet",
    401: "Wrong email or password",
    403: "A cross-site request",
    429: "Too many attempts",
  },
});

auth.post("/login", login, sameOrigin, limitHashing("login"), async (c) => {
  const { services, config } = c.var;
  const body = await login.body(c);
  if (body.password === undefined) {
    if (!config.features.magicLink)
      throw new AuthError("INVALID_REQUEST", { detail: '"password" is required' });
    // The per-IP mail window: counted in this isolate now, in D1 by the link's batch.
    const mail = deferRequest(c, "mail");
    // The link goes to the mailbox only; the answer is the same whether or not the account exists.
    await services.accounts.requestMagicLink(body.email, links(config.publicUrl).magic("log-in"), mail);
    return c.json({ magicLink: true });
  }
  if (wantsCookie(body.cookie)) assertCookieOrigin(c);
  const result = await services.accounts.loginWithPassword({
    email: body.email,
    password: body.password,
    ctx: sessionContext(c),
  });
  if (result.kind === "mfa_required") return c.json({ mfa: true, ticket: result.ticket });
  return c.json(await sessionBody(c, result.user, result.session, wantsCookie(body.cookie)));
});

// compat(hbp): nhost-js-sdk sends the refresh token as a query parameter and no Authorization header;
// HBP itself read the cookie. Without either, the bearer token or the session cookie names the session.
const logout = op({
  summary: "Sign out",
  description:
    "Ends the session named by `?refresh_token=`, the refresh_token cookie, or the access token; `all: true` ends every session of the user.",
  body: s.logoutBody,
  query: z.object({ refresh_token: z.string().optional() }),
  auth: ["bearer", "cookie"],
  responses: { 204: "Signed out", 401: "No session named", 403: "A cross-site request" },
});

auth.post("/logout", logout, sameOrigin, async (c) => {
  const { services } = c.var;
  const fromQuery = c.req.query("refresh_token");
  const refreshToken = fromQuery || getCookie(c, REFRESH_COOKIE);
  if (refreshToken && !fromQuery) assertCookieOrigin(c);
  const { all } = await logout.body(c);
  let owner: { userId: string; sessionId: string } | null = null;
  if (refreshToken) owner = await services.sessions.peek(refreshToken);
  else owner = await hbpPrincipal(c);
  clearCookies(c);
  if (!owner) {
    if (!refreshToken) throw new AuthError("INVALID_REFRESH_TOKEN");
    return c.body(null, 204);
  }
  if (all) await services.sessions.revokeAll(owner.userId);
  else await services.sessions.revoke(owner.sessionId);
  return c.body(null, 204);
});

/**
 * Activation and magic links: a browser lands here from mail; success and failure are redirects.
 * compat(hbp): api/hbp.txt fixes these as GETs that redirect with the refresh token, so they are
 * spent on GET; HEAD (scanners, previews) never reaches them (safeHead).
 */
function landing(c: Context<AppEnv>, run: () => Promise<{ session: IssuedSession }>) {
  return invalidTicketRedirect(c, 302, async () => {
    const { session } = await run();
    if (queryCookie(c.req.query("cookie"))) await setCookies(c, session);
    return c.redirect(withParam(c.var.config.redirects.success, "refresh_token", session.refreshToken), 302);
  });
}

const activate = op({
  summary: "Activate an account (the link in the activation mail)",
  query: s.ticketQuery,
  responses: {
    302: "To REDIRECT_URL_SUCCESS with `refresh_token`; an invalid ticket goes to REDIRECT_URL_ERROR when set",
    401: "Invalid or expired ticket",
  },
});

auth.get("/activate", activate, safeHead, limit("verify"), async (c) => {
  const { ticket } = activate.query(c);
  return landing(c, () => c.var.services.accounts.activate(ticket, sessionContext(c)));
});

// compat(hbp): the document gates this on ALLOW_USER_SELF_DELETE (a copy slip); MAGIC_LINK_ENABLED is meant.
const magicLink = op({
  summary: "Sign in or register by magic link (the link in the mail)",
  query: s.magicLinkQuery,
  responses: {
    302: "To REDIRECT_URL_SUCCESS with `refresh_token`; an invalid token goes to REDIRECT_URL_ERROR when set",
    401: "Invalid or expired token",
    404: "MAGIC_LINK_ENABLED is off",
  },
});

auth.get("/magic-link", magicLink, safeHead, feature("magicLink"), limit("verify"), async (c) => {
  const { token, action } = magicLink.query(c);
  return landing(c, () => c.var.services.accounts.consumeMagicLink(token, action, sessionContext(c)));
});

auth.post(
  "/delete",
  op({
    summary: "Delete the signed-in account, its sessions and files",
    auth: ["bearer", "cookie"],
    responses: { 204: "Deleted", 401: "Not signed in", 404: "ALLOW_USER_SELF_DELETE is off" },
  }),
  sameOrigin,
  async (c) => {
    if (!c.var.config.features.selfDelete) throw new AuthError("FEATURE_DISABLED");
    const principal = await requireHbpPrincipal(c);
    await c.var.services.accounts.deleteSelf(principal.userId, principal);
    clearCookies(c);
    return c.body(null, 204);
  },
);

// compat(hbp): nhost-js-sdk refreshes with GET and the token in the query; a cookie works too.
auth.get(
  "/token/refresh",
  op({
    summary: "Rotate the refresh token",
    description:
      "The refresh token comes as `?refresh_token=` (then the new one is in the body) or in the refresh_token cookie (then the new one replaces it).",
    query: z.object({ refresh_token: z.string().optional() }),
    responses: {
      200: { description: "A new access token and refresh token", body: o.sessionResponse },
      401: "Invalid, expired or reused refresh token",
      429: "Too many refreshes",
    },
  }),
  safeHead,
  sameOrigin,
  limit("refresh"),
  async (c) => {
    const { services } = c.var;
    const fromQuery = c.req.query("refresh_token");
    const token = fromQuery || getCookie(c, REFRESH_COOKIE);
    if (!token) throw new AuthError("INVALID_REFRESH_TOKEN");
    // The rotation answers the user too (one round trip in all).
    const session = await services.sessions.refresh(token);
    return c.json(await sessionBody(c, session.user, session, !fromQuery));
  },
);

auth.post(
  "/token/revoke",
  op({
    summary: "End every session of the signed-in user",
    auth: ["bearer", "cookie"],
    responses: { 204: "Every session ended", 401: "Not signed in" },
  }),
  sameOrigin,
  async (c) => {
    const principal = await requireHbpPrincipal(c);
    await c.var.services.sessions.revokeAll(principal.userId);
    clearCookies(c);
    return c.body(null, 204);
  },
);

auth.get(
  "/jwks",
  op({
    summary: "The public keys that verify access tokens (JWKS)",
    responses: { 200: { description: "The JSON Web Key Set", body: o.jwksResponse } },
  }),
  async (c) => {
    c.header("Cache-Control", "public, max-age=3600");
    return c.json(await c.var.services.tokens.jwks());
  },
);
