/**
 * Directus OAuth on the core OAuth service: the provider lists (`GET /auth/oauth` of the document,
 * `GET /auth` that SDK 26's readProviders reads), the start routes of both eras
 * (`/auth/oauth/{provider}` in the document, `/auth/login/{provider}` since Directus 10) and their
 * callbacks. `redirect` may be, as Directus allows it, a relative path (resolved against the
 * dialect's public URL) or any URL on this deployment's public origin; any other URL must be one of
 * OAUTH_ALLOWED_REDIRECTS exactly. As Directus does, a login
 * with `redirect` ends with the refresh token in the directus_refresh_token cookie and a redirect
 * (errors: `redirect?reason=CODE`); without it the callback answers the tokens as JSON. The state
 * is also bound to the browser by a cookie, so a callback URL cannot be replayed in a victim's
 * browser to sign it into the attacker's account.
 */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { AuthError } from "../../core/errors";
import { OAuthError } from "../../core/oauth/oauth.service";
import { sessionContext } from "../shared/http";
import { limit } from "../shared/kit";
import { safeHead } from "../shared/links";
import { oauthBrowserState } from "../shared/oauth-state";
import { op } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import { DIRECTUS_ERRORS, directusError } from "./errors";
import { providerListResponse, providersResponse, tokensResponse } from "./openapi";
import { tokensBody } from "./present";

export const oauth = new Hono<AppEnv>();

const browserState = oauthBrowserState("directus_oauth_state", (c) => `${c.var.config.directus.prefix}/auth`);

const driverOf = (kind: string) => (kind === "github" ? "oauth2" : "openid");
const label = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

/** The document's era: `{"data": ["github", ...]}`. */
oauth.get(
  "/oauth",
  op({
    summary: "The OAuth providers' names",
    responses: { 200: { description: "The names", body: providersResponse } },
  }),
  (c) => c.json({ data: c.var.services.oauth.providers() }),
);

/** SDK 26 readProviders(): `{"data": [{name, driver, icon, label}], "disableDefault": false}`. */
oauth.get(
  "/",
  op({
    summary: "The OAuth providers (SDK 26 readProviders)",
    responses: { 200: { description: "The providers", body: providerListResponse } },
  }),
  (c) => {
    const { config } = c.var;
    const data = config.oauth.providers.map((p) => ({
      name: p.name,
      driver: driverOf(p.kind),
      icon: null,
      label: label(p.name),
    }));
    return c.json({ data, disableDefault: !config.features.passwords });
  },
);

function renderOAuthError(c: Context<AppEnv>, e: OAuthError, redirect: string | null) {
  const [status, code, message] = DIRECTUS_ERRORS[e.code];
  // compat(directus): a failed login with `redirect` goes back there with ?reason=<code>.
  if (redirect) {
    const url = new URL(redirect);
    url.search = "";
    url.searchParams.set("reason", code);
    return c.redirect(url.toString(), 302);
  }
  if (e.code === "OAUTH_INVALID_REDIRECT" || e.code === "OAUTH_INVALID_REQUEST") {
    const reason = e.detail?.replace(/\.$/, "") ?? "Invalid request";
    return directusError(c, status, code, `Invalid payload. ${reason}.`, reason);
  }
  return directusError(c, status as ContentfulStatusCode, code, message);
}

/** The dialect's public URL: PUBLIC_URL (with its path, if the Worker is served under one) + prefix. */
const dialectUrl = (c: Context<AppEnv>) => `${c.var.config.publicUrl}${c.var.config.directus.prefix}`;

/**
 * compat(directus): a relative `redirect` (`/admin`) is a path of Directus's own public URL
 * (isLoginRedirectAllowed in directus/directus api/src/auth/utils). Only a plain absolute path is
 * taken: anything a browser or URL parser could read as another host is refused (`//host`,
 * backslashes, encoded slashes or backslashes, whitespace and control characters, schemes).
 * Absolute URLs are returned as given and decided by isAllowedRedirect.
 */
function resolveRedirect(c: Context<AppEnv>, redirect: string): string | null {
  if (URL.canParse(redirect)) {
    const own = new URL(c.var.config.publicUrl).origin;
    // On the own origin the parsed form is used, so the browser goes exactly where it was checked.
    return new URL(redirect).origin === own ? new URL(redirect).href : redirect;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (!/^\/(?![/\\])[^\\\u0000-\u0020\u007f]*$/.test(redirect) || /%(2f|5c)/i.test(redirect)) return null;
  const resolved = new URL(`${dialectUrl(c)}${redirect}`);
  return resolved.origin === new URL(c.var.config.publicUrl).origin ? resolved.href : null;
}

async function start(c: Context<AppEnv>, era: "oauth" | "login") {
  const { services, config } = c.var;
  const provider = c.req.param("provider")!;
  const asked = c.req.query("redirect") || null;
  const ownOrigin = new URL(config.publicUrl).origin;
  const redirect = asked === null ? null : resolveRedirect(c, asked);
  if (asked !== null && (redirect === null || !services.oauth.isAllowedRedirect(redirect, ownOrigin))) {
    const reason = `URL "${asked.slice(0, 200)}" can't be used to redirect after login`;
    return directusError(c, 400, "INVALID_PAYLOAD", `Invalid payload. ${reason}.`, reason);
  }
  try {
    const url = await browserState.start(c, provider, {
      callbackUrl: `${dialectUrl(c)}/auth/${era}/${encodeURIComponent(provider)}/callback`,
      redirectAfter: redirect,
      ownOrigin,
    });
    return c.redirect(url, 302);
  } catch (e) {
    if (e instanceof OAuthError) return renderOAuthError(c, e, null);
    throw e;
  }
}

async function callback(c: Context<AppEnv>) {
  const { services } = c.var;
  let redirect: string | null = null;
  try {
    const result = await browserState.callback(c, c.req.query());
    redirect = result.redirectAfter;
    if (result.provider !== c.req.param("provider"))
      throw new OAuthError("OAUTH_INVALID_STATE", { detail: "The callback does not match the provider." });
    if (result.user.disabled) throw new AuthError("ACCOUNT_DISABLED");
    const session = await services.sessions.create(result.user, ["oauth"], sessionContext(c));
    if (!redirect) return c.json(tokensBody(c, session, "json"));
    tokensBody(c, session, "cookie");
    return c.redirect(redirect, 302);
  } catch (e) {
    if (e instanceof OAuthError) return renderOAuthError(c, e, e.redirectAfter ?? redirect);
    throw e;
  }
}

const startOp = (era: string) =>
  op({
    summary: `Start an OAuth login (${era})`,
    query: z.object({
      redirect: z.string().optional().describe("where to go afterwards; see OAUTH_ALLOWED_REDIRECTS"),
    }),
    responses: { 302: "To the provider", 400: "A redirect that is not allowed", 403: "Unknown provider" },
  });
const callbackOp = op({
  summary: "The provider's callback",
  responses: {
    200: { description: "The tokens (json mode) when the login had no `redirect`", body: tokensResponse },
    302: "To `redirect` with the refresh token in the directus_refresh_token cookie, or `?reason=` on failure",
    401: "Invalid state or denied",
  },
});

oauth.get("/oauth/:provider", startOp("the document's path"), limit("login"), (c) => start(c, "oauth"));
oauth.get("/login/:provider", startOp("Directus 10+ path"), limit("login"), (c) => start(c, "login"));
// The callbacks spend the OAuth state and hand out a session: HEAD never reaches them.
oauth.get("/oauth/:provider/callback", callbackOp, safeHead, limit("verify"), callback);
oauth.get("/login/:provider/callback", callbackOp, safeHead, limit("verify"), callback);
