/**
 * api/hanko-0.12-openapi.txt, Third Party and Token: GET `/thirdparty/auth`, GET|POST
 * `/thirdparty/callback`, POST `/token`. The core OAuth service does state, PKCE and linking; this
 * file adds what Hanko does on top: the state is also bound to the browser by a cookie (so nobody
 * can make a victim finish a login the attacker started), success redirects to `redirect_to` with
 * `hanko_token`, a one-time value (60 s, shared/handover.ts) exchanged at POST `/token` for a
 * session with the methods of the login it hands over, and errors
 * redirect with `error` and `error_description` using Hanko's codes.
 */
import { type Context, Hono } from "hono";
import { AuthError, type OAuthErrorCode } from "../../core/errors";
import { OAuthError } from "../../core/oauth/oauth.service";
import { sameOrigin } from "../shared/csrf";
import { handoverUrl, redeemHandover } from "../shared/handover";
import { readBody, sessionContext, validate } from "../shared/http";
import { countRequest, limit } from "../shared/kit";
import { safeHead } from "../shared/links";
import { logError } from "../shared/log";
import { oauthBrowserState } from "../shared/oauth-state";
import type { AppEnv } from "../shared/types";
import { hankoError } from "./errors";
import * as s from "./schemas";
import { sendSession } from "./session";

export const thirdparty = new Hono<AppEnv>();

const browserState = oauthBrowserState(
  "hanko_thirdparty_state",
  (c) => `${c.var.config.hankoPrefix}/thirdparty`,
);
/** Hanko's third-party error codes (backend/thirdparty/errors.go), which its SAML handler reuses. */
export const HANKO_CODES: Record<OAuthErrorCode, string> = {
  OAUTH_INVALID_REQUEST: "invalid_request",
  OAUTH_UNKNOWN_PROVIDER: "invalid_request",
  OAUTH_INVALID_REDIRECT: "invalid_request",
  OAUTH_INVALID_STATE: "invalid_request",
  OAUTH_ACCESS_DENIED: "access_denied",
  OAUTH_PROVIDER_ERROR: "server_error",
  OAUTH_UNVERIFIED_EMAIL: "unverified_email",
  OAUTH_USER_CONFLICT: "user_conflict",
  OAUTH_SIGNUP_DISABLED: "signup_disabled",
  OAUTH_ACCOUNT_DISABLED: "access_denied",
};

/**
 * Sends the browser to `to` (else `fallback`, the configured error URL) with Hanko's `error` and
 * `error_description`, or answers JSON when there is nowhere safe to go. Third-party and SAML
 * errors; `status` 307 from GET as documented, 303 after the SAML form post (a 307 would post the
 * SAMLResponse on to the application).
 */
export function redirectError(
  c: Context<AppEnv>,
  err: unknown,
  to: string | null,
  opts: { status: 303 | 307; fallback: string },
) {
  const code: OAuthErrorCode = err instanceof OAuthError ? err.code : "OAUTH_INVALID_REQUEST";
  if (!(err instanceof AuthError)) logError(c, err);
  else if (err.cause) console.warn("login refused:", err.detail);
  const target = to ?? (opts.fallback || null);
  const description =
    err instanceof AuthError && err.detail ? err.detail : "The login could not be completed.";
  if (!target) return hankoError(c, code === "OAUTH_PROVIDER_ERROR" ? 500 : 400, description);
  const url = new URL(target);
  url.searchParams.set("error", HANKO_CODES[code]);
  url.searchParams.set("error_description", description);
  return c.redirect(url.toString(), opts.status);
}

/** redirectError for the third-party routes: 307, OAUTH_ERROR_REDIRECT_URL as the fallback. */
const oauthError = (c: Context<AppEnv>, err: unknown, to: string | null) =>
  redirectError(c, err, to, { status: 307, fallback: c.var.config.oauth.errorRedirect });

/** PUBLIC_URL (with its path, if the Worker is served under one) + HANKO_PREFIX + the route. */
const callbackUrl = (c: Context<AppEnv>) =>
  `${c.var.config.publicUrl}${c.var.config.hankoPrefix}/thirdparty/callback`;

thirdparty.get("/thirdparty/auth", async (c) => {
  const { services } = c.var;
  // compat(hanko): the 0.12 SDK sends `redirect_to` as a plain URL (the document says base64url).
  const redirectTo = c.req.query("redirect_to") ?? "";
  const errorTo = services.oauth.isAllowedRedirect(redirectTo) ? redirectTo : null;
  try {
    await countRequest(c, "login");
    const provider = c.req.query("provider") ?? "";
    if (!redirectTo) throw new OAuthError("OAUTH_INVALID_REQUEST", { detail: "redirect_to is required." });
    const url = await browserState.start(c, provider, {
      callbackUrl: callbackUrl(c),
      redirectAfter: redirectTo,
    });
    return c.redirect(url, 307);
  } catch (e) {
    return oauthError(c, e, errorTo);
  }
});

async function finish(c: Context<AppEnv>, params: Record<string, string | undefined>) {
  try {
    const result = await browserState.callback(c, params);
    const target = result.redirectAfter ?? c.var.config.redirects.success;
    return c.redirect(await handoverUrl(c, target, result.user.id, ["oauth"]), 307);
  } catch (e) {
    return oauthError(c, e, e instanceof OAuthError ? e.redirectAfter : null);
  }
}

// The callback spends the OAuth state and mints a `/token` value: HEAD never reaches it.
thirdparty.get("/thirdparty/callback", safeHead, (c) => finish(c, c.req.query()));

/**
 * Providers using response_mode=form_post (Apple) post the callback cross-site, and a SameSite=Lax
 * state cookie does not come with a cross-site POST: as Hanko does, turn it into a GET (303), a
 * top-level navigation that carries the cookie.
 */
thirdparty.post("/thirdparty/callback", async (c) => {
  const form = await readBody(c);
  const params = new URLSearchParams();
  for (const k of ["state", "code", "error", "error_description"])
    if (typeof form[k] === "string") params.set(k, form[k] as string);
  return c.redirect(`${callbackUrl(c)}?${params}`, 303);
});

thirdparty.post("/token", sameOrigin, limit("verify"), async (c) => {
  const { services } = c.var;
  const body = validate(s.tokenBody, await readBody(c));
  const grant = await redeemHandover(c, body.value);
  if (!grant) throw new AuthError("NOT_FOUND");
  const user = await services.accounts.currentUser(grant.userId);
  // The methods and time of the login handed over (third-party, SAML, a hosted page), not this
  // exchange's.
  const session = await services.sessions.create(user, grant.amr, {
    ...sessionContext(c),
    authAt: grant.authAt,
  });
  await sendSession(c, session);
  return c.json({ user_id: user.id });
});

/**
 * compat(hanko): the 0.12 SDK builds `new URL('/thirdparty/auth', api)`, which drops the path of
 * its API URL. Under HANKO_PREFIX this root route is all the dialect keeps at the origin root: it
 * sends the browser on to the prefixed route, query unchanged, and does nothing else.
 */
export const rootThirdpartyAuth = new Hono<AppEnv>();
rootThirdpartyAuth.get("/thirdparty/auth", (c) => {
  const query = new URL(c.req.url).search;
  return c.redirect(`${c.var.config.hankoPrefix}/thirdparty/auth${query}`, 307);
});
