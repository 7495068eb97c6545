/**
 * api/vault.txt: login, register, email verification (and resend), refresh, forgot and reset
 * password, exist-email. `userToken` is the core access token (accepted by every dialect);
 * `vaultToken` is a purpose JWT scoped to the user's default team, null until the address is
 * verified and the team exists.
 */
import { type Context, Hono } from "hono";
import { AuthError, isAuthError } from "../../core/errors";
import {
  bearerChallenge,
  bearerToken,
  clientIp,
  readBody,
  requirePrincipal,
  sessionContext,
  validate,
} from "../shared/http";
import { countRequest, limit, limitHashing } from "../shared/kit";
import { safeHead } from "../shared/links";
import type { AppEnv } from "../shared/types";
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

api.post("/login", limitHashing("login"), async (c) => {
  const { services } = c.var;
  const { email, password } = validate(s.loginBody, await readBody(c));
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
api.post("/register", limitHashing("register"), async (c) => {
  const { services } = c.var;
  const { email, password, name } = validate(s.registerBody, await readBody(c));
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
api.get("/verify-email/:token", safeHead, limit("verify"), async (c) => {
  const { services } = c.var;
  const { token } = validate(s.tokenParam, c.req.param());
  // Activation creates the default team (core/users), so the answer carries a vaultToken.
  const { session } = await services.accounts.activate(token, sessionContext(c));
  return c.json(await tokens(c, session.accessToken, session));
});

api.get("/resend-email-verification", safeHead, async (c) => {
  const { services } = c.var;
  const principal = await requirePrincipal(c);
  await countRequest(c, "mail");
  const { capcha } = validate(s.captchaQuery, c.req.query());
  if (!(await services.captcha.verify(capcha, clientIp(c))))
    throw new AuthError("FORBIDDEN", { detail: "The captcha was not solved." });
  await services.accounts.resendActivation(principal.userId, verifyLink(c));
  return c.json(await tokens(c, bearerToken(c)!, principal));
});

api.get("/refresh", safeHead, limit("refresh"), async (c) => {
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
});

// Works without a token and answers the same whether or not the account exists.
api.post("/forgot-passsword", limit("mail"), async (c) => {
  const { services, config } = c.var;
  const { email } = validate(s.forgotBody, await readBody(c));
  await services.accounts.requestPasswordReset(email, (t) => {
    const url = new URL(config.vault.passwordResetUrl);
    url.searchParams.set("token", t);
    return url.toString();
  });
  return c.json({ status: "ok" });
});

api.post("/reset-passsword", limitHashing("verify"), async (c) => {
  const { services } = c.var;
  const { token, newPassword } = validate(s.resetBody, await readBody(c));
  await services.accounts.resetPassword(token, newPassword, sessionContext(c));
  return c.json({ status: "ok" });
});

api.get("/exist-email/:email", limit("existence"), async (c) => {
  const { services } = c.var;
  return c.json(await services.existence.emailExists(c.req.param("email")));
});
