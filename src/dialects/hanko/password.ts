/** api/hanko-0.12-openapi.txt, Password: POST `/password/login`, PUT `/password`. */
import { Hono } from "hono";
import { AuthError } from "../../core/errors";
import { sameOrigin } from "../shared/csrf";
import { changeOrigin, readBody, sessionContext, validate } from "../shared/http";
import { limitHashing } from "../shared/kit";
import type { AppEnv } from "../shared/types";
import * as s from "./schemas";
import { principal, sendSession } from "./session";

export const password = new Hono<AppEnv>();

password.post("/password/login", sameOrigin, limitHashing("login"), async (c) => {
  const { services } = c.var;
  const body = validate(s.passwordBody, await readBody(c));
  const { session } = await services.accountsById.loginWithPassword({
    userId: body.user_id,
    password: body.password,
    ctx: sessionContext(c),
  });
  await sendSession(c, session);
  return c.body(null, 200);
});

/** 201 when the user had no password, 200 when it replaced one; only for oneself. */
password.put("/password", async (c) => {
  const me = await principal(c);
  const body = validate(s.passwordBody, await readBody(c));
  if (body.user_id !== me.userId) throw new AuthError("FORBIDDEN");
  const { created } = await c.var.services.accountsById.setPassword(
    me.userId,
    body.password,
    changeOrigin(c, me),
  );
  return c.body(null, created ? 201 : 200);
});
