/**
 * api/hanko-0.12-openapi.txt, Status, .well-known and User Management: `/`, `/.well-known/*`,
 * POST `/user`, POST `/users`, GET `/users/{id}`, GET `/me`, DELETE `/user`, POST `/logout`.
 */
import { Hono } from "hono";
import { AuthError } from "../../core/errors";
import { sameOrigin } from "../shared/csrf";
import { readBody, sessionContext, validate } from "../shared/http";
import { limit } from "../shared/kit";
import type { AppEnv } from "../shared/types";
import { presentConfig, presentUser } from "./present";
import * as s from "./schemas";
import { clearSession, principal, sendToken } from "./session";

export const users = new Hono<AppEnv>();

/** Status page: 200 while D1 answers, 500 when it does not. */
users.get("/", async (c) => {
  if (!(await c.var.services.health.databaseReachable()))
    return c.html("<!doctype html><title>Latchkey</title><p>The database is unreachable.</p>", 500);
  return c.html("<!doctype html><title>Latchkey</title><p>Running.</p>");
});

users.get("/.well-known/jwks.json", async (c) => {
  c.header("Cache-Control", "public, max-age=600");
  return c.json(await c.var.services.tokens.jwks());
});

users.get("/.well-known/config", (c) =>
  c.json(presentConfig(c.var.config, c.var.services.oauth.providers())),
);

/**
 * Lookup by address. With ACCOUNT_EXISTENCE_HINTS off (the default) it never answers 404 and never
 * reports `verified` or a passkey, so it does not tell whether an account exists (see EmailService.lookup);
 * an unknown address answers ids a passcode can then create the account under (just-in-time sign-up).
 */
users.post("/user", limit("existence"), async (c) => {
  const { services, config } = c.var;
  const body = validate(s.emailBody, await readBody(c));
  // Hints off, sign-up on: an unknown address can be signed up by passcode (passcodes.service.ts).
  const found = await services.emails.lookup(body.email, {
    hints: config.features.existenceHints,
    offerSignup: config.features.signup,
  });
  if (!found) throw new AuthError("NOT_FOUND");
  return c.json({
    id: found.userId,
    email_id: found.emailId,
    verified: found.verified,
    has_webauthn_credential: found.hasPasskey,
  });
});

users.post("/users", sameOrigin, limit("register"), async (c) => {
  const { services } = c.var;
  const body = validate(s.emailBody, await readBody(c));
  const { userId, emailId, session } = await services.accountsById.registerPasswordless(body.email, {
    ctx: sessionContext(c),
    accessTtl: c.var.config.hankoSessionLifetime,
  });
  if (session) sendToken(c, session);
  // compat(hanko): `id` is Hanko's deprecated duplicate of `user_id`.
  return c.json({ id: userId, user_id: userId, email_id: emailId });
});

users.get("/users/:id", async (c) => {
  const me = await principal(c);
  const id = validate(s.idParam, c.req.param("id"));
  if (id !== me.userId) throw new AuthError("FORBIDDEN");
  const user = await c.var.services.users.findById(id);
  if (!user) throw new AuthError("NOT_FOUND");
  return c.json(presentUser(user, await c.var.services.webauthn.list(id)));
});

users.get("/me", async (c) => c.json({ id: (await principal(c)).userId }));

users.delete("/user", async (c) => {
  if (!c.var.config.features.selfDelete) throw new AuthError("FEATURE_DISABLED");
  const me = await principal(c);
  await c.var.services.accounts.deleteSelf(me.userId, me);
  clearSession(c);
  return c.body(null, 204);
});

users.post("/logout", async (c) => {
  const me = await principal(c);
  await c.var.services.sessions.revoke(me.sessionId);
  clearSession(c);
  return c.body(null, 204);
});
