/**
 * The current user (`GET /users/me`) and the TOTP set-up Directus clients call
 * (`POST /users/me/tfa/generate|enable|disable`). A request is authenticated by the bearer access
 * token, or by the session cookie of `mode: "session"` (then cross-site requests are refused).
 */
import { type Context, Hono } from "hono";
import { getCookie } from "hono/cookie";
import { AuthError } from "../../core/errors";
import { assertSameOrigin } from "../shared/csrf";
import { bearerToken, readBody, requirePrincipal, sessionContext, validate } from "../shared/http";
import type { AppEnv } from "../shared/types";
import { pickFields, presentMe, SESSION_COOKIE } from "./present";
import * as s from "./schemas";

export const users = new Hono<AppEnv>();

async function principal(c: Context<AppEnv>): Promise<{ userId: string; sessionId: string }> {
  if (bearerToken(c)) return requirePrincipal(c);
  const sessionToken = getCookie(c, SESSION_COOKIE);
  if (!sessionToken) return requirePrincipal(c);
  assertSameOrigin(c);
  return c.var.services.sessions.resolve(sessionToken);
}

users.get("/me", async (c) => {
  const { userId } = await principal(c);
  const user = await c.var.services.accounts.currentUser(userId);
  const fields = [...(c.req.queries("fields") ?? []), ...(c.req.queries("fields[]") ?? [])];
  return c.json({ data: pickFields(presentMe(user), fields) });
});

const tfa = new Hono<AppEnv>();
tfa.use("*", async (c, next) => {
  if (!c.var.config.features.mfa) throw new AuthError("FEATURE_DISABLED");
  await next();
});

// compat(directus): generating a secret asks for the password again.
tfa.post("/generate", async (c) => {
  const { services } = c.var;
  const { userId } = await principal(c);
  const { password } = validate(s.tfaGenerateBody, await readBody(c));
  await services.reauth.confirmPassword(userId, password);
  const user = await services.accounts.currentUser(userId);
  const setup = await services.totp.generate(userId, user.email ?? userId);
  return c.json({ data: { secret: setup.secret, otpauth_url: setup.uri } });
});

// The secret generated above is kept server-side; the one the client echoes is not trusted: the
// code must match the pending secret.
tfa.post("/enable", async (c) => {
  const { userId, sessionId } = await principal(c);
  const { otp } = validate(s.tfaEnableBody, await readBody(c));
  await c.var.services.accounts.enableTotp(userId, otp, { sessionId, ctx: sessionContext(c) });
  return c.body(null, 204);
});

tfa.post("/disable", async (c) => {
  const { userId, sessionId } = await principal(c);
  const { otp } = validate(s.tfaDisableBody, await readBody(c));
  await c.var.services.accounts.disableTotp(userId, otp, { sessionId, ctx: sessionContext(c) });
  return c.body(null, 204);
});

users.route("/me/tfa", tfa);
