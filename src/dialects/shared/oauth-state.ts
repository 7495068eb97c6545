/**
 * The OAuth state bound to the browser that started the login. Core (core/oauth) keeps the state,
 * PKCE and the redirect; a cookie holding the state as well means a callback URL cannot be replayed
 * in a victim's browser to finish a login the attacker started (and sign the victim into the
 * attacker's account). The cookie is SameSite=Lax, so it comes with the provider's top-level
 * redirect back, and is scoped to the dialect's callback path.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { OAuthError } from "../../core/oauth/oauth.service";
import { isHttps } from "./http";
import type { AppEnv } from "./types";

type OAuth = AppEnv["Variables"]["services"]["oauth"];
type StartOptions = Parameters<OAuth["start"]>[1];
type CallbackResult = Awaited<ReturnType<OAuth["callback"]>>;

/** The query (or form) parameters a provider sends back to the callback. */
export interface CallbackParams {
  state?: string;
  code?: string;
  error?: string;
  error_description?: string;
}

export interface OAuthBrowserState {
  /** Asks core for the provider's authorization URL and binds its state to this browser. */
  start(c: Context<AppEnv>, provider: string, opts: StartOptions): Promise<string>;
  /**
   * Reads and clears the cookie, then completes the login in core only when the callback's state
   * is the one this browser started (invalid_state otherwise).
   */
  callback(c: Context<AppEnv>, params: CallbackParams): Promise<CallbackResult>;
}

/** `path`: the cookie's path, covering the dialect's callback route. */
export function oauthBrowserState(cookie: string, path: (c: Context<AppEnv>) => string): OAuthBrowserState {
  const attributes = (c: Context<AppEnv>) =>
    ({ httpOnly: true, secure: isHttps(c), sameSite: "Lax", path: path(c) }) as const;
  return {
    async start(c, provider, opts) {
      const { url } = await c.var.services.oauth.start(provider, opts);
      setCookie(c, cookie, new URL(url).searchParams.get("state")!, { ...attributes(c), maxAge: 600 });
      return url;
    },

    async callback(c, params) {
      const state = params.state ?? "";
      const bound = getCookie(c, cookie);
      deleteCookie(c, cookie, attributes(c));
      if (!state || bound !== state)
        throw new OAuthError("OAUTH_INVALID_STATE", { detail: "The login was not started in this browser." });
      return c.var.services.oauth.callback({
        state,
        code: params.code,
        error: params.error,
        errorDescription: params.error_description,
      });
    },
  };
}
