/**
 * An in-process OAuth provider for tests (the real ones cannot be reached): a fetch function that
 * answers an OpenID Connect discovery document, JWKS, token endpoint and userinfo, and GitHub's
 * token, /user and /user/emails endpoints. Like a real provider it checks the PKCE verifier against
 * the challenge of the authorisation request, the redirect_uri and the client credentials, and
 * codes work once.
 */
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterEach, beforeEach, vi } from "vitest";

export const OIDC_ISSUER = "https://idp.test";
export const OIDC_DISCOVERY = `${OIDC_ISSUER}/.well-known/openid-configuration`;

export interface ProviderUser {
  sub: string;
  email: string | null;
  emailVerified: boolean;
  name?: string;
}

interface Grant {
  user: ProviderUser;
  challenge: string;
  redirectUri: string;
  nonce: string | null;
  clientId: string;
}

async function s256(verifier: string) {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return btoa(String.fromCharCode(...d))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

// One signing key for every mock instance: the Worker caches a JWKS per URL for the isolate's life.
const keyPair = generateKeyPair("ES256");

export async function createMockProvider(opts: {
  clientId: string;
  clientSecret: string;
  idTokenAudience?: string;
}) {
  const { privateKey, publicKey } = await keyPair;
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  const grants = new Map<string, Grant>();
  const tokens = new Map<string, ProviderUser>();
  const calls: string[] = [];

  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

  /** What the user's browser does at the provider: consent and get a code for the callback. */
  function authorize(
    authUrl: string,
    user: ProviderUser,
  ): { code: string; state: string; redirectUri: string } {
    const u = new URL(authUrl);
    const code = crypto.randomUUID();
    const challenge = u.searchParams.get("code_challenge");
    if (!challenge || u.searchParams.get("code_challenge_method") !== "S256") throw new Error("no PKCE");
    grants.set(code, {
      user,
      challenge,
      redirectUri: u.searchParams.get("redirect_uri")!,
      nonce: u.searchParams.get("nonce"),
      clientId: u.searchParams.get("client_id")!,
    });
    return { code, state: u.searchParams.get("state")!, redirectUri: u.searchParams.get("redirect_uri")! };
  }

  const fetcher: typeof fetch = async (input, init) => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    calls.push(`${req.method} ${url.origin}${url.pathname}`);
    if (url.href === OIDC_DISCOVERY)
      return json({
        issuer: OIDC_ISSUER,
        authorization_endpoint: `${OIDC_ISSUER}/authorize`,
        token_endpoint: `${OIDC_ISSUER}/token`,
        jwks_uri: `${OIDC_ISSUER}/jwks`,
        userinfo_endpoint: `${OIDC_ISSUER}/userinfo`,
      });
    if (url.href === `${OIDC_ISSUER}/jwks`) return json({ keys: [jwk] });
    const isGithubToken = url.href === "https://github.com/login/oauth/access_token";
    if (url.href === `${OIDC_ISSUER}/token` || isGithubToken) {
      const form = new URLSearchParams(await req.text());
      const grant = grants.get(form.get("code") ?? "");
      grants.delete(form.get("code") ?? "");
      if (
        !grant ||
        form.get("client_id") !== opts.clientId ||
        form.get("client_secret") !== opts.clientSecret ||
        form.get("redirect_uri") !== grant.redirectUri ||
        (await s256(form.get("code_verifier") ?? "")) !== grant.challenge
      )
        return json({ error: "invalid_grant" }, 400);
      const accessToken = crypto.randomUUID();
      tokens.set(accessToken, grant.user);
      if (isGithubToken) return json({ access_token: accessToken, token_type: "bearer" });
      const now = Math.floor(Date.now() / 1000);
      const idToken = await new SignJWT({
        email: grant.user.email ?? undefined,
        email_verified: grant.user.emailVerified,
        name: grant.user.name,
        nonce: grant.nonce ?? undefined,
      })
        .setProtectedHeader({ alg: "ES256", kid: "k1" })
        .setIssuer(OIDC_ISSUER)
        .setSubject(grant.user.sub)
        .setAudience(opts.idTokenAudience ?? grant.clientId)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(privateKey);
      return json({ access_token: accessToken, id_token: idToken, token_type: "Bearer" });
    }
    const bearer = req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
    const user = tokens.get(bearer);
    if (url.href === "https://api.github.com/user")
      return user ? json({ id: Number(user.sub), login: "octo", name: user.name ?? null }) : json({}, 401);
    if (url.href === "https://api.github.com/user/emails")
      return user
        ? json(user.email ? [{ email: user.email, primary: true, verified: user.emailVerified }] : [])
        : json({}, 401);
    if (url.href === `${OIDC_ISSUER}/userinfo`)
      return user
        ? json({ sub: user.sub, email: user.email, email_verified: user.emailVerified })
        : json({}, 401);
    return new Response("not found", { status: 404 });
  };

  return { fetch: fetcher, authorize, calls };
}

export type MockProvider = Awaited<ReturnType<typeof createMockProvider>>;

/**
 * For a test file or describe block: a fresh provider (client-1 / secret-1) before each test,
 * answering every `fetch` the Worker makes (the provider is the outside service; nothing else is
 * mocked), and the real `fetch` back after it. The returned object stands for the current test's
 * provider.
 */
export function mockProviderPerTest(): MockProvider {
  let current: MockProvider | undefined;
  beforeEach(async () => {
    current = await createMockProvider({ clientId: "client-1", clientSecret: "secret-1" });
    vi.spyOn(globalThis, "fetch").mockImplementation(current.fetch);
  });
  afterEach(() => vi.restoreAllMocks());
  return new Proxy({} as MockProvider, {
    get(_, key) {
      if (!current) throw new Error("the mock provider exists only inside a test");
      return Reflect.get(current, key);
    },
  });
}
