/**
 * api/hanko-0.12-openapi.txt, WebAuthn. compat(hanko): options are wrapped as `{publicKey: {...}}`
 * for both ceremonies (webauthn-json in the 0.12 SDK refuses them otherwise), `clientDataJSON` is
 * accepted as well as the document's `clientDataJson`, and credential ids in paths are the
 * base64url credential ids, not UUIDs.
 */
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { Hono } from "hono";
import { sameOrigin } from "../shared/csrf";
import { readBody, sessionContext, validate } from "../shared/http";
import { limit } from "../shared/kit";
import type { AppEnv } from "../shared/types";
import { presentCredential } from "./present";
import * as s from "./schemas";
import { principal, sendToken } from "./session";

export const webauthn = new Hono<AppEnv>();

const credentialId = (raw: string) => validate(s.credentialIdParam, raw);

webauthn.post("/webauthn/registration/initialize", async (c) => {
  const me = await principal(c);
  return c.json({ publicKey: await c.var.services.webauthn.registrationOptions(me.userId) });
});

webauthn.post("/webauthn/registration/finalize", async (c) => {
  const me = await principal(c);
  const body = validate(s.attestationBody, await readBody(c));
  const passkey = await c.var.services.webauthn.register(
    me.userId,
    body as unknown as RegistrationResponseJSON,
    sessionContext(c),
  );
  return c.json({ credential_id: passkey.id, user_id: passkey.userId });
});

webauthn.post("/webauthn/login/initialize", limit("login"), async (c) => {
  const { services, config } = c.var;
  const body = validate(s.webauthnLoginInitBody, await readBody(c));
  const options = await services.webauthn.authenticationOptions(body.user_id ?? null, {
    quiet: !config.features.existenceHints,
  });
  return c.json({ publicKey: options });
});

webauthn.post("/webauthn/login/finalize", sameOrigin, limit("verify"), async (c) => {
  const { services, config } = c.var;
  const body = validate(s.assertionBody, await readBody(c));
  const result = await services.webauthn.authenticate(
    body as unknown as AuthenticationResponseJSON,
    sessionContext(c),
    // Minted with the session, so nothing is read after the sign-in's batch.
    config.hankoSessionLifetime,
  );
  sendToken(c, result.session);
  return c.json({ credential_id: result.credentialId, user_id: result.userId });
});

webauthn.get("/webauthn/credentials", async (c) => {
  const me = await principal(c);
  return c.json((await c.var.services.webauthn.list(me.userId)).map(presentCredential));
});

webauthn.patch("/webauthn/credentials/:id", async (c) => {
  const me = await principal(c);
  const id = credentialId(c.req.param("id"));
  const body = validate(s.credentialNameBody, await readBody(c));
  await c.var.services.webauthn.rename(me.userId, id, body.name);
  return c.body(null, 200);
});

webauthn.delete("/webauthn/credentials/:id", async (c) => {
  const me = await principal(c);
  const id = credentialId(c.req.param("id"));
  await c.var.services.webauthn.remove(me.userId, id, me);
  // The document says 201; the SDK accepts any 2xx.
  return c.body(null, 201);
});
