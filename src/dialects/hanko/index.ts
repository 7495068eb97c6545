/**
 * The Hanko 0.12 dialect (api/hanko-0.12-openapi.txt), at the origin root because the 0.12 SDK
 * builds third-party URLs with `new URL('/thirdparty/auth', api)`. Every path it owns gets CORS
 * with credentials for CORS_ORIGINS, and the `{code, message}` error body, 404 included. SAML is
 * on with SAML_PROVIDERS; without it `/saml/*` answers 404 as Hanko does with SAML off.
 */
import { Hono } from "hono";
import { cors } from "../shared/cors";
import { defineDialect } from "../shared/kit";
import type { AppEnv } from "../shared/types";
import { emails } from "./emails";
import { hankoError, renderHankoError } from "./errors";
import { passcode } from "./passcode";
import { password } from "./password";
import { saml } from "./saml";
import { thirdparty } from "./thirdparty";
import { users } from "./users";
import { webauthn } from "./webauthn";

/** The prefixes this dialect owns ("/" exactly; the others with everything below them). */
export const HANKO_PATHS = [
  "/",
  "/me",
  "/logout",
  "/user",
  "/users",
  "/emails",
  "/passcode",
  "/password",
  "/webauthn",
  "/thirdparty",
  "/token",
  "/saml",
  "/.well-known",
];

const dialect = defineDialect({ onError: renderHankoError, notFound: (c) => hankoError(c, 404) });

export const hanko = new Hono<AppEnv>();

const withCors = cors({
  origins: (c) => c.var.config.cors.origins,
  exposeHeaders: ["X-Auth-Token", "X-Session-Lifetime", "Retry-After"],
  credentials: true,
});
// `${path}/*` matches the path itself too, so each request passes the CORS middleware once.
for (const path of HANKO_PATHS) hanko.use(path === "/" ? "/" : `${path}/*`, withCors);

dialect.mount(hanko, "/", users, password, emails, passcode, webauthn, thirdparty, saml);

for (const path of HANKO_PATHS) {
  if (path === "/") continue;
  hanko.all(path, dialect.notFound);
  hanko.all(`${path}/*`, dialect.notFound);
}
