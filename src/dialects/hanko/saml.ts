/**
 * api/hanko-0.12-openapi.txt, Enterprise Features: GET `/saml/provider`, GET `/saml/metadata`,
 * GET `/saml/auth`, POST `/saml/callback` (the ACS). The core SAML service builds requests,
 * verifies responses and finds the user; this file hands the session over as the third-party flow
 * does (redirect to `redirect_to` with a one-time `hanko_token`, exchanged at POST `/token`) and
 * redirects errors with `error` and `error_description`. The request is bound to the browser that
 * started it by a cookie holding core's browser key (see BROWSER_COOKIE). With no SAML_PROVIDERS, every `/saml/*`
 * route answers 404, as Hanko does with SAML off. The 0.12 SDK builds `/saml/auth` from the API's
 * origin, so these routes live at the origin root whatever HANKO_PREFIX says.
 */
import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { AuthError } from "../../core/errors";
import { OAuthError } from "../../core/oauth/oauth.service";
import { SAML_REQUEST_TTL_MS } from "../../core/saml/saml.service";
import { MAX_RESPONSE_CHARS } from "../../core/saml/verify";
import { handoverUrl } from "../shared/handover";
import { readBody } from "../shared/http";
import { countRequest } from "../shared/kit";
import type { AppEnv } from "../shared/types";
import { hankoError } from "./errors";
import { redirectError } from "./thirdparty";

export const saml = new Hono<AppEnv>();

/** thirdparty.ts redirectError with SAML_DEFAULT_REDIRECT_URL as the fallback. */
const samlError = (c: Context<AppEnv>, err: unknown, to: string | null, status: 303 | 307) =>
  redirectError(c, err, to, { status, fallback: c.var.config.saml.defaultRedirect });

/**
 * The browser key of the login this browser started (core/saml/saml.service.ts), scoped to the ACS
 * path. The IdP posts the callback cross-site, and only a SameSite=None cookie comes with a
 * cross-site POST; None requires Secure (Chromium treats http://localhost as secure, so
 * development keeps the flag). HttpOnly, and it lives no longer than the request it belongs to.
 */
const BROWSER_COOKIE = "hanko_saml_state";
const browserCookie = (c: Context<AppEnv>) =>
  ({
    httpOnly: true,
    secure: true,
    sameSite: "None",
    path: `${new URL(c.var.config.publicUrl).pathname.replace(/\/+$/, "")}/saml/callback`,
  }) as const;

// SAML off: the routes do not exist.
saml.use("/saml/*", async (c, next) => {
  if (c.var.config.saml.providers.length === 0) return hankoError(c, 404);
  await next();
});

/** The `domain` query parameter, or a 400. */
function domainParam(c: Context<AppEnv>): string {
  const domain = (c.req.query("domain") ?? "").trim().toLowerCase();
  if (!domain || domain.length > 253 || !/^[a-z0-9.-]+$/.test(domain))
    throw new AuthError("INVALID_REQUEST", { detail: "domain is required." });
  return domain;
}

saml.get("/saml/provider", (c) => {
  const p = c.var.services.saml.provider(domainParam(c));
  if (!p) return hankoError(c, 404);
  return c.json({
    enabled: true,
    name: p.name,
    domain: p.domain,
    ...(p.metadataUrl ? { metadata_url: p.metadataUrl } : {}),
    skip_email_verification: p.skipEmailVerification,
    attribute_map: p.attributeMap,
  });
});

saml.get("/saml/metadata", async (c) => {
  const { services } = c.var;
  const p = services.saml.provider(domainParam(c));
  if (!p) return hankoError(c, 404);
  if (c.req.query("cert_only") === "true") {
    c.header("content-disposition", `attachment; filename="${p.domain}-service-provider.pem"`);
    return c.body(await services.saml.certificate(), 200, { "content-type": "application/x-pem-file" });
  }
  c.header("content-disposition", `attachment; filename="${p.domain}-metadata.xml"`);
  return c.body(await services.saml.metadata(), 200, { "content-type": "application/samlmetadata+xml" });
});

/** `redirect_to`: a plain URL as the 0.12 SDK sends it, or base64url as the document says. */
function redirectParam(raw: string): string {
  if (raw === "" || URL.canParse(raw)) return raw;
  try {
    const decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(atob(raw.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0)),
    );
    return URL.canParse(decoded) ? decoded : raw;
  } catch {
    return raw;
  }
}

saml.get("/saml/auth", async (c) => {
  const { services } = c.var;
  const redirectTo = redirectParam(c.req.query("redirect_to") ?? "");
  const domain = (c.req.query("domain") ?? "").trim().toLowerCase();
  const provider = services.saml.provider(domain);
  const errorTo = services.saml.isAllowedRedirect(redirectTo, provider) ? redirectTo : null;
  try {
    await countRequest(c, "login");
    if (!redirectTo) throw new OAuthError("OAUTH_INVALID_REQUEST", { detail: "redirect_to is required." });
    const { url, browserKey } = await services.saml.start(domain, redirectTo);
    setCookie(c, BROWSER_COOKIE, browserKey, { ...browserCookie(c), maxAge: SAML_REQUEST_TTL_MS / 1000 });
    return c.redirect(url, 307);
  } catch (e) {
    return samlError(c, e, errorTo, 307);
  }
});

/** The ACS: the IdP's form post (HTTP-POST binding). Cross-site by nature: no Origin check, nothing but the signed response counts. */
saml.post("/saml/callback", async (c) => {
  const { services } = c.var;
  // Read once and cleared whatever the outcome: a request is finished (or refused) once.
  const browserKey = getCookie(c, BROWSER_COOKIE) ?? null;
  if (browserKey !== null) deleteCookie(c, BROWSER_COOKIE, browserCookie(c));
  try {
    await countRequest(c, "login");
    const form = await readBody(c, 2 * MAX_RESPONSE_CHARS);
    const text = (k: string) => (typeof form[k] === "string" ? (form[k] as string) : null);
    const result = await services.saml.callback({
      samlResponse: text("SAMLResponse"),
      relayState: text("RelayState"),
      browserKey,
    });
    const target = result.redirectAfter ?? c.var.config.redirects.success;
    // RFC 8176 has no value for a federated login: "saml", as third-party logins record "oauth".
    return c.redirect(await handoverUrl(c, target, result.user.id, ["saml"]), 302);
  } catch (e) {
    return samlError(c, e, e instanceof OAuthError ? e.redirectAfter : null, 303);
  }
});
