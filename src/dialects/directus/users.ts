/**
 * The current user (`GET /users/me`) and the TOTP set-up Directus clients call
 * (`POST /users/me/tfa/generate|enable|disable`). A request is authenticated by the bearer access
 * token, or by the session cookie of `mode: "session"` (then cross-site requests are refused).
 */
import { type Context, Hono } from "hono";
import { getCookie } from "hono/cookie";
import { z } from "zod";
import { AuthError } from "../../core/errors";
import { assertSameOrigin } from "../shared/csrf";
import { bearerToken, requirePrincipal, sessionContext } from "../shared/http";
import { op } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import * as o from "./openapi";
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

users.get(
  "/me",
  op({
    summary: "The signed-in user as a directus_users item",
    query: z.object({ fields: z.string().optional().describe("comma list of fields; `*` or none: all") }),
    auth: ["bearer", "session"],
    responses: { 200: { description: "The user", body: o.meResponse }, 401: "Not signed in, or a bad token" },
  }),
  async (c) => {
    const { userId } = await principal(c);
    const user = await c.var.services.accounts.currentUser(userId);
    const fields = [...(c.req.queries("fields") ?? []), ...(c.req.queries("fields[]") ?? [])];
    return c.json({ data: pickFields(presentMe(user), fields) });
  },
);

const tfa = new Hono<AppEnv>();
tfa.use("*", async (c, next) => {
  if (!c.var.config.features.mfa) throw new AuthError("FEATURE_DISABLED");
  await next();
});

// compat(directus): generating a secret asks for the password again.
const generate = op({
  summary: "Generate a TOTP secret (the password is asked again)",
  body: s.tfaGenerateBody,
  auth: ["bearer", "session"],
  responses: {
    200: { description: "The secret and its otpauth URL", body: o.tfaSecretResponse },
    400: "Invalid payload",
    401: "Not signed in, or a wrong password",
    404: "MFA_ENABLED is off",
  },
});

tfa.post("/generate", generate, async (c) => {
  const { services } = c.var;
  const { userId } = await principal(c);
  const { password } = await generate.body(c);
  await services.reauth.confirmPassword(userId, password);
  const user = await services.accounts.currentUser(userId);
  const setup = await services.totp.generate(userId, user.email ?? userId);
  return c.json({ data: { secret: setup.secret, otpauth_url: setup.uri } });
});

// The secret generated above is kept server-side; the one the client echoes is not trusted: the
// code must match the pending secret.
const enable = op({
  summary: "Enable TOTP with a code from the generated secret",
  body: s.tfaEnableBody,
  auth: ["bearer", "session"],
  responses: {
    204: "Enabled",
    400: "Invalid payload",
    401: "Not signed in, or a wrong code",
    404: "MFA_ENABLED is off",
  },
});

tfa.post("/enable", enable, async (c) => {
  const { userId, sessionId } = await principal(c);
  const { otp } = await enable.body(c);
  await c.var.services.accounts.enableTotp(userId, otp, { sessionId, ctx: sessionContext(c) });
  return c.body(null, 204);
});

const disable = op({
  summary: "Disable TOTP with a current code",
  body: s.tfaDisableBody,
  auth: ["bearer", "session"],
  responses: {
    204: "Disabled",
    400: "Invalid payload",
    401: "Not signed in, or a wrong code",
    404: "MFA_ENABLED is off",
  },
});

tfa.post("/disable", disable, async (c) => {
  const { userId, sessionId } = await principal(c);
  const { otp } = await disable.body(c);
  await c.var.services.accounts.disableTotp(userId, otp, { sessionId, ctx: sessionContext(c) });
  return c.body(null, 204);
});

users.route("/me/tfa", tfa);
