/**
 * api/hanko-0.12-openapi.txt, Email Management. compat(hanko): statuses follow the 0.12 SDK's
 * mapping rather than the document's generic ones: POST answers the new email object (the SDK
 * parses it), 400 when the address is taken, 409 when the user has the maximum number.
 */
import { Hono } from "hono";
import { changeOrigin, readBody, sessionContext, validate } from "../shared/http";
import type { AppEnv } from "../shared/types";
import { hankoError } from "./errors";
import { presentEmail } from "./present";
import * as s from "./schemas";
import { principal } from "./session";

export const emails = new Hono<AppEnv>();

emails.get("/emails", async (c) => {
  const me = await principal(c);
  return c.json((await c.var.services.emails.list(me.userId)).map(presentEmail));
});

emails.post("/emails", async (c) => {
  const me = await principal(c);
  const body = validate(s.addressBody, await readBody(c));
  const result = await c.var.services.existence.addEmail(me.userId, body.address, {
    max: c.var.config.emails.maxPerUser,
    verified: !c.var.config.features.verifyEmails,
    ctx: sessionContext(c),
    sessionId: me.sessionId,
  });
  if (result.kind === "limit_reached") return hankoError(c, 409);
  return c.json(presentEmail(result.email), 201);
});

emails.post("/emails/:id/set_primary", async (c) => {
  const me = await principal(c);
  const id = validate(s.idParam, c.req.param("id"));
  await c.var.services.accountsById.setPrimaryEmail(
    me.userId,
    id,
    { requireVerified: c.var.config.features.verifyEmails },
    changeOrigin(c, me),
  );
  return c.body(null, 201);
});

emails.delete("/emails/:id", async (c) => {
  const me = await principal(c);
  const id = validate(s.idParam, c.req.param("id"));
  const result = await c.var.services.emails.remove(me.userId, id);
  // The primary address (hence also the last one) stays: 409 as in Hanko.
  if (result.kind === "primary") return hankoError(c, 409);
  return c.body(null, 201);
});
