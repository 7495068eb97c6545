/**
 * `GET /.well-known/webauthn`: the origins that may use this RP id (WebAuthn Level 3, "Related
 * Origin Requests", https://w3c.github.io/webauthn/#sctn-related-origins), from
 * WEBAUTHN_RELATED_ORIGINS. Browsers fetch it themselves (no CORS). Unset: nothing is answered here
 * and the request goes on to whoever owns the path (Hanko's 404 where Hanko is mounted).
 */
import { Hono } from "hono";
import type { AppEnv } from "../shared/types";

export const wellKnown = new Hono<AppEnv>();

wellKnown.get("/.well-known/webauthn", async (c, next) => {
  const origins = c.var.config.webauthn.relatedOrigins;
  if (origins.length === 0) return next();
  c.header("Cache-Control", "public, max-age=3600");
  return c.json({ origins });
});
