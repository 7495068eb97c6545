/**
 * Enterprise sign-in as a SAML 2.0 service provider, for any dialect: `start` builds the
 * AuthnRequest redirect for the provider of an email domain, `callback` turns the IdP's posted
 * Response into a user. The RelayState (256 bits) leads to the request id the response must
 * answer. The request is also bound to the browser that started it: `start` answers a browser key
 * (256 bits) for the dialect to keep in that browser (a cookie), and the request is stored under
 * the hash of the RelayState and that key together, so an IdP response posted from another browser
 * (an attacker's own response, posted from a victim's browser: login CSRF) finds no request. It is
 * spent by one conditional UPDATE, so a login can be finished once, within 10 minutes. Each accepted assertion ID is recorded by one conditional insert, so an
 * assertion is accepted once. The return URL must be allow-listed exactly.
 *
 * Users: the email comes from the mapped attribute (or the NameID) and must be on the provider's
 * own domain; it counts as verified when the provider is configured with skip_email_verification
 * or the mapped `email_verified` attribute says so. Linking follows the OAuth rules (./oauth/link).
 */
import type { Clock } from "../../lib/clock";
import { randomToken, sha256Hex } from "../../lib/crypto";
import type { Config, SamlProviderConfig } from "../config";
import type { IdentityLinker } from "../oauth/link";
import { OAuthError } from "../oauth/oauth.service";
import type { User } from "../users/users.service";
import { decryptAssertion } from "./decrypt";
import { authnRequestUrl, newRequestId, spMetadata } from "./request";
import type { SamlStore } from "./saml.store";
import type { SpKeys } from "./sp-keys";
import { SamlRefused, verifySamlResponse } from "./verify";

export const SAML_REQUEST_TTL_MS = 10 * 60_000;

/** A request's key in the store: the RelayState and the browser key together, hashed. */
const requestKey = (relayState: string, browserKey: string) => sha256Hex(`${relayState}.${browserKey}`);

export interface SamlService {
  /** The provider for an email domain (case-insensitive), or null. */
  provider(domain: string): SamlProviderConfig | null;
  /** Whether `url` may be a post-login destination (exact match), for that provider when given. */
  isAllowedRedirect(url: string, provider?: SamlProviderConfig | null): boolean;
  /** This SP's metadata XML. */
  metadata(): Promise<string>;
  /** This SP's certificate, PEM. */
  certificate(): Promise<string>;
  /**
   * The IdP URL (AuthnRequest, HTTP-Redirect binding) for the provider of `domain`, and the browser
   * key the callback must be given back from the same browser.
   */
  start(domain: string, redirectAfter: string): Promise<{ url: string; browserKey: string }>;
  /**
   * Verifies the posted response for the request its RelayState names, started by the browser that
   * holds `browserKey`; finds, links or creates the user.
   */
  callback(params: {
    samlResponse: string | null;
    relayState: string | null;
    browserKey: string | null;
  }): Promise<{ user: User; isNew: boolean; redirectAfter: string | null; provider: string }>;
}

export function createSamlService(deps: {
  store: SamlStore;
  clock: Clock;
  link: IdentityLinker;
  config: Pick<Config, "saml" | "publicUrl">;
  spKeys: () => Promise<SpKeys>;
}): SamlService {
  const { store, clock, link, config, spKeys } = deps;
  const saml = config.saml;
  const acsUrl = `${config.publicUrl}/saml/callback`;
  const provider = (domain: string) => saml.providers.find((p) => p.domain === domain.toLowerCase()) ?? null;

  function isAllowedRedirect(url: string, p?: SamlProviderConfig | null) {
    return saml.allowedRedirects.includes(url) || (p?.allowedRedirects.includes(url) ?? false);
  }

  function attribute(attrs: Record<string, string[]>, p: SamlProviderConfig, key: string): string | null {
    const name = p.attributeMap[key];
    return name ? (attrs[name]?.[0] ?? null) : null;
  }

  return {
    provider,
    isAllowedRedirect,

    async metadata() {
      const keys = await spKeys();
      return spMetadata({
        spEntityId: saml.spEntityId,
        acsUrl,
        certificate: keys.certificate,
        signsRequests: saml.providers.some((p) => p.signRequests),
      });
    },

    async certificate() {
      return (await spKeys()).certificatePem;
    },

    async start(domain, redirectAfter) {
      const p = provider(domain);
      if (!p) throw new OAuthError("OAUTH_UNKNOWN_PROVIDER", { detail: "No SAML provider for this domain." });
      if (!isAllowedRedirect(redirectAfter, p))
        throw new OAuthError("OAUTH_INVALID_REDIRECT", { detail: "The return URL is not allowed." });
      const now = clock.now();
      const relayState = randomToken();
      const browserKey = randomToken();
      const requestId = newRequestId();
      const signingKey = p.signRequests ? (await spKeys()).signingKey : undefined;
      const url = await authnRequestUrl({
        ssoUrl: p.ssoUrl,
        spEntityId: saml.spEntityId,
        acsUrl,
        requestId,
        now,
        relayState,
        signingKey,
      });
      await store.addRequest({
        hash: await requestKey(relayState, browserKey),
        requestId,
        domain: p.domain,
        redirectAfter,
        createdAt: now,
        expiresAt: now + SAML_REQUEST_TTL_MS,
      });
      return { url, browserKey };
    },

    async callback({ samlResponse, relayState, browserKey }) {
      // IdP-initiated logins (no RelayState of ours) are not accepted: nothing would bind them to a request.
      if (!relayState || relayState.length > 200)
        throw new OAuthError("OAUTH_INVALID_STATE", { detail: "Missing or invalid RelayState." });
      if (!browserKey || browserKey.length > 200)
        throw new OAuthError("OAUTH_INVALID_STATE", { detail: "The login was not started in this browser." });
      const now = clock.now();
      const request = await store.spendRequest(await requestKey(relayState, browserKey), now);
      if (!request)
        throw new OAuthError("OAUTH_INVALID_STATE", {
          detail: "The login request is unknown, expired, already used or was not started in this browser.",
        });
      const { redirectAfter } = request;
      const fail = (detail: string, cause?: unknown) =>
        new OAuthError("OAUTH_INVALID_REQUEST", { detail, redirectAfter, cause });
      const p = provider(request.domain);
      if (!p) throw new OAuthError("OAUTH_UNKNOWN_PROVIDER", { redirectAfter });
      if (!samlResponse) throw fail("SAMLResponse is missing.");
      const keys = await spKeys();
      let assertion: Awaited<ReturnType<typeof verifySamlResponse>>;
      try {
        assertion = await verifySamlResponse(samlResponse, {
          certificates: p.certificates,
          idpEntityId: p.idpEntityId,
          spEntityId: saml.spEntityId,
          acsUrl,
          requestId: request.requestId,
          requireSignedResponse: p.requireSignedResponse,
          now,
          skewMs: saml.clockSkewMs,
          decrypt: (encrypted) => decryptAssertion(encrypted, keys.decryptionKeys),
        });
      } catch (e) {
        if (e instanceof SamlRefused) throw fail(`The SAML response was refused: ${e.message}.`, e);
        throw e;
      }
      if (!(await store.recordAssertion(assertion.issuer, assertion.id, assertion.validUntil, now)))
        throw fail("The SAML response was refused: the assertion was already used.");

      const email = (attribute(assertion.attributes, p, "email") ?? assertion.nameId).trim();
      const at = email.lastIndexOf("@");
      if (at < 1 || email.slice(at + 1).toLowerCase() !== p.domain)
        throw new OAuthError("OAUTH_UNVERIFIED_EMAIL", {
          detail: "The identity provider's email address is not on its own domain.",
          redirectAfter,
        });
      const verifiedAttr = attribute(assertion.attributes, p, "email_verified");
      const { user, isNew } = await link(
        {
          provider: `saml:${p.domain}`,
          subject: assertion.nameId,
          email,
          emailVerified: p.skipEmailVerification || verifiedAttr === "true" || verifiedAttr === "1",
          name: attribute(assertion.attributes, p, "name"),
          avatarUrl: attribute(assertion.attributes, p, "picture"),
        },
        redirectAfter,
      );
      return { user, isNew, redirectAfter, provider: p.domain };
    },
  };
}
