/**
 * Step-up at /v1: a signed-in user proves a credential again, so the sensitive changes that need a
 * recent sign-in (core sessions/step-up.ts) go through in any dialect for STEP_UP_MAX_AGE seconds.
 */
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { Hono } from "hono";
import { z } from "zod";
import { limit } from "../shared/kit";
import { op } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import { requireUser } from "./auth";

export const reauth = new Hono<AppEnv>();

const assertion = z
  .object({
    id: z.string().max(1024),
    rawId: z.string().max(1024),
    type: z.literal("public-key"),
    response: z.looseObject({
      clientDataJSON: z.string().max(4096),
      authenticatorData: z.string().max(4096),
      signature: z.string().max(4096),
      userHandle: z.string().max(1024).optional(),
    }),
  })
  .loose()
  .describe("The PublicKeyCredential of navigator.credentials.get() as JSON (e.g. @simplewebauthn/browser)");

const proofBody = z.union([
  z.strictObject({ password: z.string().min(1).max(4096) }),
  z.strictObject({
    totp: z.string().regex(/^\d{6}$/, "must be a 6-digit TOTP code"),
  }),
  z.strictObject({ webauthn: assertion }),
]);

const reauthenticate = op({
  summary: "Confirm it is me: a fresh authentication for this session (step-up)",
  description:
    "One of `{password}`, `{totp}` (a current TOTP code; recovery codes are not taken here) or `{webauthn}` (an assertion " +
    "answering POST /v1/reauthenticate/passkey/options). Changing the email address or password, turning TOTP off, " +
    "deleting a passkey or the account need a sign-in or re-authentication no older than STEP_UP_MAX_AGE seconds, " +
    "in every API; a stale session gets 403 REAUTHENTICATION_REQUIRED. Refreshing tokens does not renew it. " +
    "Wrong passwords and codes count against the account like failed sign-ins.",
  body: proofBody,
  auth: ["bearer"],
  responses: {
    200: {
      description: "Recorded on this session",
      body: z.object({ auth_at: z.string().describe("ISO 8601: when the proof was recorded") }),
    },
    400: "Not exactly one of password, totp, webauthn",
    401: "No live access token, or a wrong password, code or passkey",
    409: "A TOTP code, but TOTP is not on",
    429: "Too many attempts",
  },
});

reauth.post("/reauthenticate", reauthenticate, limit("login"), async (c) => {
  const { userId, sessionId } = await requireUser(c);
  const body = await reauthenticate.body(c);
  const proof =
    "password" in body
      ? { password: body.password }
      : "totp" in body
        ? { totp: body.totp }
        : { webauthn: body.webauthn as unknown as AuthenticationResponseJSON };
  const { authAt } = await c.var.services.reauth.reauthenticate(userId, sessionId, proof);
  c.header("Cache-Control", "no-store");
  return c.json({ auth_at: new Date(authAt).toISOString() });
});

const passkeyOptions = op({
  summary: "Passkey request options to confirm it is me (step one of a passkey re-authentication)",
  description:
    "Lists the caller's own passkeys; the challenge works once, only for this user, within WEBAUTHN_TIMEOUT. " +
    "Pass the assertion to POST /v1/reauthenticate as `{webauthn}`.",
  auth: ["bearer"],
  responses: {
    200: {
      description: "PublicKeyCredentialRequestOptionsJSON",
      body: z.looseObject({ challenge: z.string() }),
    },
    401: "No live access token",
  },
});

reauth.post("/reauthenticate/passkey/options", passkeyOptions, limit("verify"), async (c) => {
  const { userId } = await requireUser(c);
  c.header("Cache-Control", "no-store");
  return c.json(await c.var.services.reauth.passkeyOptions(userId));
});
