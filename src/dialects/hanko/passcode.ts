/** api/hanko-0.12-openapi.txt, Passcode: POST `/passcode/login/initialize` and `/finalize`. */
import { Hono } from "hono";
import { sameOrigin } from "../shared/csrf";
import { clientIp, readBody, sessionContext, validate } from "../shared/http";
import type { AppEnv } from "../shared/types";
import { presentPasscode } from "./present";
import * as s from "./schemas";
import { sendSession } from "./session";

export const passcode = new Hono<AppEnv>();

passcode.post("/passcode/login/initialize", async (c) => {
  const { services, config } = c.var;
  await services.limiter.hit("mail", clientIp(c));
  const body = validate(s.passcodeInitBody, await readBody(c));
  const issued = await services.passcodes.initialize({
    userId: body.user_id,
    emailId: body.email_id,
    quiet: !config.features.existenceHints,
  });
  return c.json(presentPasscode(issued));
});

passcode.post("/passcode/login/finalize", sameOrigin, async (c) => {
  const { services } = c.var;
  await services.limiter.hit("verify", clientIp(c));
  const body = validate(s.passcodeFinalBody, await readBody(c));
  const { session } = await services.passcodes.finalize({
    id: body.id,
    code: body.code,
    ctx: sessionContext(c),
  });
  await sendSession(c, session);
  return c.json({ id: body.id });
});
