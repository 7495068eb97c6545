/**
 * Login through OAuth providers, for any dialect: `start` returns the provider URL to send the
 * browser to, `callback` turns the provider's answer into a user. State (256 bits, stored hashed),
 * the PKCE verifier and the OIDC nonce live in D1 and are spent by one conditional UPDATE, so a
 * state works once, for 10 minutes. The return URL must be one of OAUTH_ALLOWED_REDIRECTS exactly.
 *
 * Linking (security.md §0.5, pre-account takeover): a provider identity is linked to an existing
 * account only when the provider says it verified the address AND the account's address is
 * verified too; otherwise the login fails as OAUTH_USER_CONFLICT, and no account is ever joined by an
 * unverified provider email. Sessions are the caller's business (dialects differ in how they hand
 * them over).
 */

import type { Clock } from "../../lib/clock";
import { randomToken, sha256Hex } from "../../lib/crypto";
import { toBase64Url } from "../../lib/encoding";
import type { Config } from "../config";
import { AuthError, type OAuthErrorCode } from "../errors";
import { type EventRecorder, noEvents } from "../events/events";
import type { User, UserService } from "../users/users.service";
import { createIdentityLinker } from "./link";
import type { OAuthStore } from "./oauth.store";
import {
  authorizationEndpoint,
  type Fetch,
  fetchProfile,
  type OAuthProfile,
  ProviderError,
  scopeFor,
} from "./providers";

export type { OAuthProfile } from "./providers";

export const OAUTH_STATE_TTL_MS = 10 * 60_000;

/**
 * A failed OAuth login: an OAUTH_* code (which step failed; dialects render each their own way)
 * and where the user meant to return.
 */
export class OAuthError extends AuthError {
  declare readonly code: OAuthErrorCode;
  /** The allow-listed return URL of the attempt, once the state has been read; else null. */
  readonly redirectAfter: string | null;
  constructor(
    code: OAuthErrorCode,
    opts: { detail?: string; redirectAfter?: string | null; cause?: unknown } = {},
  ) {
    super(code, { detail: opts.detail, cause: opts.cause });
    this.redirectAfter = opts.redirectAfter ?? null;
  }
}

export interface OAuthCallbackParams {
  state?: string | null;
  code?: string | null;
  error?: string | null;
  errorDescription?: string | null;
}

export interface OAuthService {
  /** Names of the configured providers, in configuration order. */
  providers(): string[];
  /**
   * Whether `url` may be a post-login destination: an exact match with OAUTH_ALLOWED_REDIRECTS, or,
   * when the dialect names one, any http(s) URL on `ownOrigin` (this deployment's public origin).
   */
  isAllowedRedirect(url: string, ownOrigin?: string): boolean;
  /**
   * Begins a login. `callbackUrl` is this deployment's callback route for the calling dialect (sent
   * as redirect_uri and repeated at the code exchange); `redirectAfter` must be allowed
   * (isAllowedRedirect with the same `ownOrigin`).
   */
  start(
    provider: string,
    opts: { callbackUrl: string; redirectAfter?: string | null; ownOrigin?: string },
  ): Promise<{ url: string }>;
  /** Finishes a login: spends the state, exchanges the code, finds, links or creates the user. */
  callback(
    params: OAuthCallbackParams,
  ): Promise<{ user: User; isNew: boolean; redirectAfter: string | null; provider: string }>;
}

export function createOAuthService(deps: {
  store: OAuthStore;
  clock: Clock;
  users: UserService;
  config: Pick<Config, "oauth" | "features" | "roles">;
  /** Outbound HTTP; looked up at call time so tests can replace globalThis.fetch. */
  fetch?: Fetch;
  events?: EventRecorder;
}): OAuthService {
  const { store, clock, users, config } = deps;
  const events = deps.events ?? noEvents;
  const fetcher: Fetch = deps.fetch ?? ((input, init) => fetch(input, init));
  const providerConfig = (name: string) => config.oauth.providers.find((p) => p.name === name);

  function isAllowedRedirect(url: string, ownOrigin?: string): boolean {
    if (config.oauth.allowedRedirects.includes(url)) return true;
    if (!ownOrigin || !URL.canParse(url)) return false;
    const parsed = new URL(url);
    return (
      (parsed.protocol === "https:" || parsed.protocol === "http:") &&
      parsed.origin === ownOrigin &&
      !parsed.username &&
      !parsed.password
    );
  }

  const linkOrCreate = createIdentityLinker({ store, clock, users, config });

  return {
    providers: () => config.oauth.providers.map((p) => p.name),

    isAllowedRedirect,

    async start(provider, { callbackUrl, redirectAfter = null, ownOrigin }) {
      const p = providerConfig(provider);
      if (!p)
        throw new OAuthError("OAUTH_UNKNOWN_PROVIDER", {
          detail: `Unknown provider: ${provider.slice(0, 40)}`,
        });
      if (redirectAfter !== null && !isAllowedRedirect(redirectAfter, ownOrigin))
        throw new OAuthError("OAUTH_INVALID_REDIRECT", { detail: "The return URL is not allowed." });
      const now = clock.now();
      const state = randomToken();
      const codeVerifier = randomToken();
      const nonce = randomToken(16);
      const challenge = toBase64Url(
        new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(codeVerifier))),
      );
      let endpoint: string;
      try {
        endpoint = await authorizationEndpoint(p, fetcher, now);
      } catch (e) {
        throw new OAuthError("OAUTH_PROVIDER_ERROR", { detail: "The provider is unreachable.", cause: e });
      }
      await store.addState({
        hash: await sha256Hex(state),
        provider: p.name,
        codeVerifier,
        nonce,
        callbackUrl,
        redirectAfter,
        createdAt: now,
        expiresAt: now + OAUTH_STATE_TTL_MS,
      });
      const url = new URL(endpoint);
      url.searchParams.set("response_type", "code");
      url.searchParams.set("client_id", p.clientId);
      url.searchParams.set("redirect_uri", callbackUrl);
      url.searchParams.set("scope", scopeFor(p));
      url.searchParams.set("state", state);
      url.searchParams.set("code_challenge", challenge);
      url.searchParams.set("code_challenge_method", "S256");
      if (p.kind !== "github") url.searchParams.set("nonce", nonce);
      return { url: url.toString() };
    },

    async callback(params) {
      const { state } = params;
      if (!state || state.length > 200)
        throw new OAuthError("OAUTH_INVALID_STATE", { detail: "Missing or invalid state." });
      const now = clock.now();
      const row = await store.spendState(await sha256Hex(state), now);
      if (!row)
        throw new OAuthError("OAUTH_INVALID_STATE", {
          detail: "The state is unknown, expired or already used.",
        });
      const redirectAfter = row.redirectAfter;
      if (params.error) {
        const denied = params.error === "access_denied";
        throw new OAuthError(denied ? "OAUTH_ACCESS_DENIED" : "OAUTH_PROVIDER_ERROR", {
          detail: denied ? "The login was cancelled at the provider." : "The provider reported an error.",
          redirectAfter,
        });
      }
      if (!params.code || params.code.length > 2048)
        throw new OAuthError("OAUTH_INVALID_REQUEST", {
          detail: "The authorisation code is missing.",
          redirectAfter,
        });
      const p = providerConfig(row.provider);
      if (!p) throw new OAuthError("OAUTH_UNKNOWN_PROVIDER", { redirectAfter });
      let profile: OAuthProfile;
      try {
        profile = await fetchProfile(
          p,
          {
            code: params.code,
            codeVerifier: row.codeVerifier,
            callbackUrl: row.callbackUrl,
            nonce: row.nonce,
          },
          fetcher,
          now,
        );
      } catch (e) {
        if (!(e instanceof ProviderError) && !(e instanceof TypeError) && !(e instanceof SyntaxError))
          throw e;
        throw new OAuthError("OAUTH_PROVIDER_ERROR", {
          detail: "The provider login could not be completed.",
          redirectAfter,
          cause: e,
        });
      }
      const { user, isNew } = await linkOrCreate(profile, redirectAfter);
      if (isNew) events.emit({ type: "user.created", userId: user.id, method: "oauth" });
      return { user, isNew, redirectAfter, provider: p.name };
    },
  };
}
