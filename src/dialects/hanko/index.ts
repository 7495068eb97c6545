/**
 * The Hanko 0.12 dialect (api/hanko-0.12-openapi.txt), at the origin root by default, or under
 * HANKO_PREFIX so an SPA can own the root of a shared origin. Every path it owns gets CORS
 * with credentials for CORS_ORIGINS, and the `{code, message}` error body, 404 included. SAML is
 * on with SAML_PROVIDERS; without it `/saml/*` answers 404 as Hanko does with SAML off.
 */
import { Hono } from "hono";
import { cors } from "../shared/cors";
import { defineDialect } from "../shared/kit";
import { perPrefix } from "../shared/prefixed";
import type { AppEnv } from "../shared/types";
import { emails } from "./emails";
import { hankoError, renderHankoError } from "./errors";
import { passcode } from "./passcode";
import { password } from "./password";
import { saml } from "./saml";
import { rootThirdpartyAuth, thirdparty } from "./thirdparty";
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

/** The paths the dialect owns under HANKO_PREFIX: with a prefix, the prefix and all below it. */
export function hankoPaths(prefix: string): string[] {
  return prefix ? [prefix, ...ROOT_PATHS] : HANKO_PATHS;
}

/**
 * Kept at the origin root under a prefix, because the 0.12 SDK builds these from the origin alone:
 * `/thirdparty/auth` as a redirect under the prefix (thirdparty.ts rootThirdpartyAuth), and the SAML
 * routes themselves (saml.ts; the ACS URL is PUBLIC_URL/saml/callback).
 */
const ROOT_PATHS = ["/thirdparty/auth", "/saml"];

const dialect = defineDialect({ onError: renderHankoError, notFound: (c) => hankoError(c, 404) });

const withCors = cors({
  origins: (c) => c.var.config.cors.origins,
  exposeHeaders: ["X-Auth-Token", "X-Session-Lifetime", "Retry-After"],
  credentials: true,
});

/**
 * The dialect mounted under `prefix` (HANKO_PREFIX; "" for the origin root). The mount table is
 * built before any env is known, so app.ts builds one per prefix on first use (memoised here).
 */
export const hankoApp = perPrefix((prefix) => {
  const app = new Hono<AppEnv>();
  const paths = hankoPaths(prefix);
  // `${path}/*` matches the path itself too, so each request passes the CORS middleware once.
  for (const path of paths) app.use(path === "/" ? "/" : `${path}/*`, withCors);
  // The status page is the prefix itself (`/` without one).
  dialect.mount(app, prefix || "/", users, password, emails, passcode, webauthn, thirdparty);
  dialect.mount(app, "/", saml);
  if (prefix) dialect.mount(app, "/", rootThirdpartyAuth);
  for (const path of paths) {
    if (path === "/") continue;
    app.all(path, dialect.notFound);
    app.all(`${path}/*`, dialect.notFound);
  }
  return app;
});

/** The dialect at the origin root (HANKO_PREFIX unset). */
export const hanko = hankoApp("");
