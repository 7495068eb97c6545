/** api/hanko-0.12-openapi.txt, Passcode: POST `/passcode/login/initialize` and `/finalize`. */
import { Hono } from "hono";
import { sameOrigin } from "../shared/csrf";
import { readBody, sessionContext, validate } from "../shared/http";
import { deferRequest, limit } from "../shared/kit";
import type { AppEnv } from "../shared/types";
import { presentPasscode } from "./present";
import * as s from "./schemas";
import { sendToken } from "./session";

export const passcode = new Hono<AppEnv>();

passcode.post("/passcode/login/initialize", async (c) => {
  const { services, config } = c.var;
  const mail = deferRequest(c, "mail");
  const body = validate(s.passcodeInitBody, await readBody(c));
  const issued = await services.passcodes.initialize({
    userId: body.user_id,
    emailId: body.email_id,
    quiet: !config.features.existenceHints,
    limit: mail,
  });
  return c.json(presentPasscode(issued));
});

passcode.post("/passcode/login/finalize", sameOrigin, limit("verify"), async (c) => {
  const { services, config } = c.var;
  const body = validate(s.passcodeFinalBody, await readBody(c));
  const { session } = await services.passcodes.finalize({
    id: body.id,
    code: body.code,
    ctx: sessionContext(c),
    // Minted with the session, so nothing is read after the sign-in's batch.
    accessTtl: config.hankoSessionLifetime,
  });
  sendToken(c, session);
  return c.json({ id: body.id });
});
