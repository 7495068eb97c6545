/** The SAML tests' setup: a test IdP configured for a fresh domain, the login steps, and row counts. */
import { env } from "cloudflare:test";
import { expect } from "vitest";
import { call, type Vars } from "../../support/app";
import { createSamlIdp, encode, type ResponseOptions, readAuthnRequest } from "../../support/saml-idp";

export const APP = "http://localhost:5173/app";
export const FALLBACK = "http://localhost:5173/login-error";

/** The browser-binding cookie a /saml/auth response sets (its value), or null. */
export const samlCookieOf = (res: Response) =>
  /(?:^|, )hanko_saml_state=([^;]*)/.exec(res.headers.get("set-cookie") ?? "")?.[1] ?? null;

export async function samlSetup(provider: Record<string, unknown> = {}) {
  const idp = await createSamlIdp();
  const domain = `acme${crypto.randomUUID().slice(0, 8)}.test`;
  const vars: Vars = {
    SAML_PROVIDERS: JSON.stringify([
      {
        domain,
        name: "Acme",
        idp_entity_id: idp.entityId,
        sso_url: idp.ssoUrl,
        certificates: [idp.keys.certPem],
        attribute_map: { email: "mail", name: "displayName" },
        skip_email_verification: true,
        ...provider,
      },
    ]),
    SAML_ALLOWED_REDIRECT_URLS: APP,
    SAML_DEFAULT_REDIRECT_URL: FALLBACK,
  };

  /** The browser cookie each started request's browser holds, by RelayState. */
  const browsers = new Map<string, string>();

  /** GET /saml/auth: the redirect, the AuthnRequest it carries, and the browser cookie it sets. */
  async function start(redirectTo = APP, v = vars) {
    const res = await call(`/saml/auth?domain=${domain}&redirect_to=${encodeURIComponent(redirectTo)}`, {
      vars: v,
    });
    const location = res.headers.get("location") ?? "";
    const request = location.startsWith(idp.ssoUrl) ? await readAuthnRequest(location) : null;
    const cookie = samlCookieOf(res);
    if (request && cookie) browsers.set(request.relayState, cookie);
    return { res, location, request, cookie };
  }

  /**
   * POST /saml/callback from the browser holding `cookie`: by default the one that started the
   * request of `relayState`; null posts with no cookie.
   */
  async function post(xml: string, relayState: string, v = vars, cookie = browsers.get(relayState) ?? null) {
    const res = await call("/saml/callback", {
      form: { SAMLResponse: encode(xml), RelayState: relayState },
      headers: cookie === null ? {} : { cookie: `hanko_saml_state=${cookie}` },
      vars: v,
    });
    const location = res.headers.get("location");
    return { res, location: location ? new URL(location) : null };
  }

  /** A fresh request and the IdP's valid answer to it for `user@domain`. */
  async function answer(user = `u${crypto.randomUUID().slice(0, 8)}`, o: Partial<ResponseOptions> = {}) {
    const { request } = await start();
    const email = `${user}@${domain}`;
    const xml = idp.responseXml({
      requestId: request!.id,
      nameId: email,
      attributes: { mail: email, displayName: "Ada Acme" },
      ...o,
    });
    return { xml, email, relayState: request!.relayState, requestId: request!.id };
  }

  /** Users, sessions, SAML identities and /token grants of this provider's domain. */
  async function counts() {
    const one = (sql: string) =>
      env.DB.prepare(sql)
        .bind(`%@${domain}`)
        .first<{ n: number }>()
        .then((r) => r!.n);
    const users = `SELECT user_id FROM emails WHERE address LIKE ?`;
    return {
      users: await one(`SELECT COUNT(*) AS n FROM (${users})`),
      sessions: await one(`SELECT COUNT(*) AS n FROM sessions WHERE user_id IN (${users})`),
      identities: await one(`SELECT COUNT(*) AS n FROM oauth_identities WHERE email LIKE ?`),
      grants: await one(`SELECT COUNT(*) AS n FROM tickets WHERE user_id IN (${users})`),
    };
  }

  return { idp, domain, vars, start, post, answer, counts };
}

/** The callback refused: redirected (303) to `to` with `error`, and nothing was created. */
export function expectRefused(
  r: { res: Response; location: URL | null },
  to = APP,
  error = "invalid_request",
) {
  expect(r.res.status).toBe(303);
  expect(r.location!.origin + r.location!.pathname).toBe(to);
  expect(r.location!.searchParams.get("error")).toBe(error);
  expect(r.location!.searchParams.get("error_description")).toBeTruthy();
  expect(r.location!.searchParams.has("hanko_token")).toBe(false);
}
