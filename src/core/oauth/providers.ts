/**
 * OAuth 2.0 / OpenID Connect providers: where to send the browser, how to turn an authorisation
 * code into a profile. GitHub is plain OAuth (profile from its REST API, email from /user/emails
 * with GitHub's own `verified` flag); Google and any other OpenID provider are found through their
 * discovery document and identified by a verified ID token (issuer, audience, nonce).
 */
import { createRemoteJWKSet, customFetch, jwtVerify } from "jose";
import type { OAuthProviderConfig } from "../config";

export type Fetch = typeof fetch;

export interface OAuthProfile {
  provider: string;
  /** The provider's stable user id. */
  subject: string;
  email: string | null;
  /** The provider says it verified `email`. */
  emailVerified: boolean;
  name: string | null;
  avatarUrl: string | null;
}

export interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  userinfo_endpoint?: string;
}

const GITHUB = {
  authorize: "https://github.com/login/oauth/authorize",
  token: "https://github.com/login/oauth/access_token",
  user: "https://api.github.com/user",
  emails: "https://api.github.com/user/emails",
};

const DISCOVERY_TTL_MS = 3_600_000;
const discoveries = new Map<string, { at: number; doc: Promise<Discovery> }>();
const jwksSets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

export class ProviderError extends Error {}

async function fetchJson(fetcher: Fetch, url: string, init: RequestInit = {}): Promise<unknown> {
  const res = await fetcher(url, {
    ...init,
    headers: { accept: "application/json", "user-agent": "latchkey", ...(init.headers ?? {}) },
    redirect: "manual",
  });
  if (!res.ok) throw new ProviderError(`${new URL(url).host} answered ${res.status}`);
  return res.json();
}

/** The discovery document, cached per isolate for an hour (a failed fetch is not cached). */
export function discover(fetcher: Fetch, url: string, now: number): Promise<Discovery> {
  const hit = discoveries.get(url);
  if (hit && now - hit.at < DISCOVERY_TTL_MS) return hit.doc;
  const doc = (async () => {
    const d = (await fetchJson(fetcher, url)) as Partial<Discovery>;
    for (const k of ["issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"] as const)
      if (typeof d[k] !== "string" || !URL.canParse(d[k])) throw new ProviderError(`discovery: no ${k}`);
    return d as Discovery;
  })();
  doc.catch(() => discoveries.delete(url));
  discoveries.set(url, { at: now, doc });
  return doc;
}

export async function authorizationEndpoint(p: OAuthProviderConfig, fetcher: Fetch, now: number) {
  return p.kind === "github"
    ? GITHUB.authorize
    : (await discover(fetcher, p.discoveryUrl!, now)).authorization_endpoint;
}

export const scopeFor = (p: OAuthProviderConfig) =>
  p.kind === "github" ? "read:user user:email" : "openid email profile";

/** Exchanges the code (with the PKCE verifier) and reads the profile. */
export async function fetchProfile(
  p: OAuthProviderConfig,
  input: { code: string; codeVerifier: string; callbackUrl: string; nonce: string },
  fetcher: Fetch,
  now: number,
): Promise<OAuthProfile> {
  const discovery = p.kind === "github" ? null : await discover(fetcher, p.discoveryUrl!, now);
  const tokens = (await fetchJson(fetcher, discovery?.token_endpoint ?? GITHUB.token, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: input.code,
      redirect_uri: input.callbackUrl,
      client_id: p.clientId,
      client_secret: p.clientSecret,
      code_verifier: input.codeVerifier,
    }),
  })) as { access_token?: unknown; id_token?: unknown; error?: unknown };
  if (typeof tokens.access_token !== "string")
    throw new ProviderError(`token exchange failed: ${String(tokens.error ?? "no access_token")}`);

  if (!discovery) return githubProfile(p, tokens.access_token, fetcher);

  if (typeof tokens.id_token !== "string") throw new ProviderError("no id_token");
  let jwks = jwksSets.get(discovery.jwks_uri);
  if (!jwks) {
    jwks = createRemoteJWKSet(new URL(discovery.jwks_uri), { [customFetch]: fetcher });
    jwksSets.set(discovery.jwks_uri, jwks);
  }
  const { payload } = await jwtVerify(tokens.id_token, jwks, {
    issuer: discovery.issuer,
    audience: p.clientId,
    currentDate: new Date(now),
    clockTolerance: 60,
  }).catch((e) => {
    throw new ProviderError(`id_token rejected: ${(e as Error).message}`);
  });
  if (payload.nonce !== input.nonce) throw new ProviderError("id_token nonce mismatch");
  if (typeof payload.sub !== "string" || !payload.sub) throw new ProviderError("id_token without sub");
  let claims: Record<string, unknown> = payload;
  if (typeof payload.email !== "string" && discovery.userinfo_endpoint) {
    const info = (await fetchJson(fetcher, discovery.userinfo_endpoint, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    })) as Record<string, unknown>;
    // userinfo must describe the same subject (OIDC Core §5.3.2).
    if (info.sub === payload.sub) claims = { ...info, ...payload };
  }
  const verified = claims.email_verified === true || claims.email_verified === "true";
  return {
    provider: p.name,
    subject: payload.sub,
    email: typeof claims.email === "string" ? claims.email : null,
    emailVerified: verified,
    name: typeof claims.name === "string" ? claims.name : null,
    avatarUrl: typeof claims.picture === "string" ? claims.picture : null,
  };
}

async function githubProfile(p: OAuthProviderConfig, token: string, fetcher: Fetch): Promise<OAuthProfile> {
  const auth = { authorization: `Bearer ${token}` };
  const user = (await fetchJson(fetcher, GITHUB.user, { headers: auth })) as {
    id?: unknown;
    name?: unknown;
    login?: unknown;
    avatar_url?: unknown;
  };
  if (typeof user.id !== "number" && typeof user.id !== "string")
    throw new ProviderError("github: no user id");
  const emails = (await fetchJson(fetcher, GITHUB.emails, { headers: auth })) as {
    email: string;
    primary: boolean;
    verified: boolean;
  }[];
  const list = Array.isArray(emails) ? emails : [];
  const chosen = list.find((e) => e.primary && e.verified) ?? list.find((e) => e.primary) ?? null;
  return {
    provider: p.name,
    subject: String(user.id),
    email: chosen?.email ?? null,
    emailVerified: chosen?.verified === true,
    name: typeof user.name === "string" ? user.name : typeof user.login === "string" ? user.login : null,
    avatarUrl: typeof user.avatar_url === "string" ? user.avatar_url : null,
  };
}
