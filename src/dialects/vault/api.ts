/**
 * api/vault.txt: login, register, email verification (and resend), refresh, forgot and reset
 * password, exist-email. `userToken` is the core access token (accepted by every dialect);
 * `vaultToken` is a purpose JWT scoped to the user's default team, null until the address is
 * verified and the team exists.
 */
import { type Context, Hono } from "hono";
import { AuthError, isAuthError } from "../../core/errors";
import { bearerChallenge, bearerToken, clientIp, requirePrincipal, sessionContext } from "../shared/http";
import { countRequest, deferRequest, limit, limitHashing } from "../shared/kit";
import { safeHead } from "../shared/links";
import { op } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import * as o from "./openapi";
import * as s from "./schemas";

export const api = new Hono<AppEnv>();

async function tokens(c: Context<AppEnv>, userToken: string, session: { userId: string; sessionId: string }) {
  const { services, config } = c.var;
  const team = await services.teams.defaultTeam(session.userId);
  const vaultToken = team
    ? await services.purposeTokens.sign(
        "vault+jwt",
        session.userId,
        { sid: session.sessionId, team: team.id, project: team.projectId },
        config.jwt.accessTtl,
      )
    : null;
  return { userToken, vaultToken };
}

const verifyLink = (c: Context<AppEnv>) => (t: string) =>
  `${c.var.config.vault.verifyEmailUrl}${encodeURIComponent(t)}`;

const login = op({
  summary: "Sign in with email and password",
  description: "Accounts with TOTP on are refused (403): the vault API has no second-factor step.",
  body: s.loginBody,
  responses: {
    200: { description: "The tokens", body: o.tokensResponse },
    400: "Invalid body",
    401: "Wrong email or password",
    403: "The account needs a second factor",
    429: "Too many attempts",
  },
});

api.post("/login", login, limitHashing("login"), async (c) => {
  const { services } = c.var;
  const { email, password } = await login.body(c);
  // compat(vault): the API signs users in before they confirm their address (vaultToken stays null).
  const result = await services.accounts.loginWithPassword({
    email,
    password,
    ctx: sessionContext(c),
    allowUnverified: true,
  });
  // The vault API has no second-factor step: accounts with TOTP on sign in through another dialect.
  if (result.kind === "mfa_required")
    throw new AuthError("FORBIDDEN", { detail: "Two-factor authentication is required." });
  return c.json(await tokens(c, result.session.accessToken, result.session));
});

// compat(vault): registration answers tokens at once; the address is confirmed later by the link.
const register = op({
  summary: "Register: signed in at once, the verification link is mailed",
  body: s.registerBody,
  responses: {
    200: { description: "The tokens (vaultToken null until verified)", body: o.tokensResponse },
    400: "Invalid body or weak password",
    403: "Registration is disabled",
    409: "A taken address (with ACCOUNT_EXISTENCE_HINTS only)",
    429: "Too many registrations",
  },
});

api.post("/register", register, limitHashing("register"), async (c) => {
  const { services } = c.var;
  const { email, password, name } = await register.body(c);
  const result = await services.accounts.register({
    email,
    password,
    displayName: name,
    activationLink: verifyLink(c),
    signInBeforeVerification: true,
    ctx: sessionContext(c),
  });
  if (result.kind !== "session") throw new AuthError("INTERNAL");
  return c.json(await tokens(c, result.session.accessToken, result.session));
});

// compat(vault): api/vault.txt fixes verification as a GET answering tokens; HEAD never reaches it.
const verifyEmail = op({
  summary: "Verify the address (the mailed link): creates the default team",
  params: s.tokenParam,
  responses: {
    200: { description: "The tokens, vaultToken included", body: o.tokensResponse },
    401: "Invalid or expired token",
  },
});

api.get("/verify-email/:token", verifyEmail, safeHead, limit("verify"), async (c) => {
  const { services } = c.var;
  const { token } = verifyEmail.params(c);
  // Activation creates the default team (core/users), so the answer carries a vaultToken.
  const { session } = await services.accounts.activate(token, sessionContext(c));
  return c.json(await tokens(c, session.accessToken, session));
});

const resend = op({
  summary: "Mail the verification link again (a solved Turnstile captcha in `capcha`)",
  query: s.captchaQuery,
  auth: ["bearer"],
  responses: {
    200: { description: "The tokens", body: o.tokensResponse },
    400: "No capcha",
    401: "Not signed in, or a bad token",
    403: "The captcha was not solved",
    429: "Too many mails",
  },
});

api.get("/resend-email-verification", resend, safeHead, async (c) => {
  const { services } = c.var;
  const principal = await requirePrincipal(c);
  await countRequest(c, "mail");
  const { capcha } = resend.query(c);
  if (!(await services.captcha.verify(capcha, clientIp(c))))
    throw new AuthError("FORBIDDEN", { detail: "The captcha was not solved." });
  await services.accounts.resendActivation(principal.userId, verifyLink(c));
  return c.json(await tokens(c, bearerToken(c)!, principal));
});

api.get(
  "/refresh",
  op({
    summary: "New tokens for a live session: send the current userToken",
    auth: ["bearer"],
    responses: {
      200: { description: "A new userToken and vaultToken", body: o.tokensResponse },
      401: "No token, or a bad, expired or revoked one",
      429: "Too many refreshes",
    },
  }),
  safeHead,
  limit("refresh"),
  async (c) => {
    const { services } = c.var;
    const token = bearerToken(c);
    if (!token) {
      bearerChallenge(c, null);
      throw new AuthError("UNAUTHENTICATED");
    }
    const session = await services.sessions.reissue(token).catch((e) => {
      if (isAuthError(e)) bearerChallenge(c, e);
      throw e;
    });
    return c.json(await tokens(c, session.accessToken, session));
  },
);

// Works without a token and answers the same whether or not the account exists.
const forgot = op({
  summary: "Ask for a password-reset mail (same answer whether or not the account exists)",
  body: s.forgotBody,
  responses: {
    200: { description: "ok", body: o.statusResponse },
    400: "Invalid body",
    429: "Too many mails",
  },
});

api.post("/forgot-passsword", forgot, async (c) => {
  const { services, config } = c.var;
  // The per-IP mail window: counted in this isolate now, in D1 by the ticket's batch.
  const mail = deferRequest(c, "mail");
  const { email } = await forgot.body(c);
  await services.accounts.requestPasswordReset(
    email,
    (t) => {
      const url = new URL(config.vault.passwordResetUrl);
      url.searchParams.set("token", t);
      return url.toString();
    },
    mail,
  );
  return c.json({ status: "ok" });
});

const reset = op({
  summary: "Set a new password with the mailed token",
  body: s.resetBody,
  responses: {
    200: { description: "ok; every session of the user ends", body: o.statusResponse },
    400: "Invalid body or weak password",
    401: "Invalid or expired token",
  },
});

api.post("/reset-passsword", reset, limitHashing("verify"), async (c) => {
  const { services } = c.var;
  const { token, newPassword } = await reset.body(c);
  await services.accounts.resetPassword(token, newPassword, sessionContext(c));
  return c.json({ status: "ok" });
});

api.get(
  "/exist-email/:email",
  op({
    summary:
      "Whether an address has an account (false for every address while ACCOUNT_EXISTENCE_HINTS is off)",
    responses: { 200: { description: "true or false", body: o.existsResponse }, 429: "Too many lookups" },
  }),
  limit("existence"),
  async (c) => {
    const { services } = c.var;
    return c.json(await services.existence.emailExists(c.req.param("email")));
  },
);
