/**
 * The configuration the core and the dialects work with, as typed values. src/config.ts parses
 * the environment into it; nothing here reads `env`.
 */
import type { MailOverrides } from "./mail/templates";
import type { CompiledRules } from "./storage/rules";

export const DIALECT_NAMES = ["hbp", "hanko", "directus", "formauth", "vault"] as const;
export type DialectName = (typeof DIALECT_NAMES)[number];

export type Environment = "development" | "test" | "production";
export type JwtAlgorithm = "ES256" | "RS256" | "HS512";
export type MailTransport = "outbox" | "http" | "cloudflare";

export interface Config {
  environment: Environment;
  isDevelopment: boolean;
  /**
   * Outside production: the D1/KV meter (lib/meter.ts) reports round trips in `Server-Timing`, and may
   * delay each D1 round trip by `d1RttMs`. Null in production, where nothing is wrapped.
   */
  meter: { d1RttMs: number } | null;
  /** D1 Sessions API per request (app.ts): replicas for safe reads, the primary for everything else. */
  d1ReadReplication: boolean;
  publicUrl: string;
  /** The root secret (LATCHKEY_SECRET, or the fixed development root outside production): derive per-purpose keys from it with lib/derive. */
  secrets: { root: Uint8Array };
  dialects: DialectName[];
  jwt: {
    algorithm: JwtAlgorithm;
    privateKeys: string;
    signingKid: string;
    issuer: string;
    audience: string;
    claimsNamespace: string | null;
    /** Extra Hasura claims: `x-hasura-<claim>` from a user field (JWT_CUSTOM_FIELDS). */
    customFields: { claim: string; field: string }[];
    accessTtl: number;
    /** The longest lifetime any dialect gives an access token: verification bounds token age by it. */
    longestTtl: number;
  };
  sessions: {
    refreshIdleTtl: number;
    absoluteTtl: number;
    reuseGrace: number;
    maxPerUser: number;
    /** Seconds a sign-in or re-authentication counts as recent for sensitive changes; 0: no check. */
    stepUpMaxAge: number;
  };
  features: {
    autoActivate: boolean;
    verifyEmails: boolean;
    lostPassword: boolean;
    mfa: boolean;
    magicLink: boolean;
    selfDelete: boolean;
    passwords: boolean;
    signup: boolean;
    existenceHints: boolean;
  };
  redirects: { success: string; error: string };
  directus: { prefix: string; passwordResetUrl: string; passwordResetUrlAllowList: string[] };
  vault: { passwordResetUrl: string; verifyEmailUrl: string };
  /** The hosted sign-in pages (src/pages): their path prefix, "" for the origin root. */
  pages: { prefix: string };
  turnstile: { secretKey: string; verifyUrl: string };
  roles: { defaultRole: string; defaultAllowed: string[]; allowed: string[] };
  passwords: {
    minLength: number;
    maxLength: number;
    scrypt: { logN: number; r: number; p: number };
    maxPending: number;
    breach: { enabled: boolean; rangeUrl: string; timeoutMs: number };
  };
  totp: { encryptionKey: string; issuer: string };
  limits: { rateLimits: boolean; accountMaxFailures: number; maxBodyBytes: number };
  audit: {
    enabled: boolean;
    retentionDays: number;
    /** HMAC key for the identifiers of failed sign-ins to unknown accounts (never stored in clear). */
    subjectKey: Uint8Array;
  };
  /**
   * Webhook endpoints, the signing key and the seconds before each retry (as many as the queue
   * consumer's max_retries); null when WEBHOOK_URL is unset (nothing is enqueued).
   */
  webhooks: { urls: string[]; secret: Uint8Array; retryDelays: number[] } | null;
  mail: {
    transport: MailTransport;
    from: string;
    httpUrl: string;
    httpKey: string;
    /** PRODUCT_NAME, PRODUCT_LOGO_URL and MAIL_TEMPLATES: what mail/templates.ts renders with. */
    product: string;
    logoUrl: string | null;
    overrides: MailOverrides;
  };
  storage: {
    rules: CompiledRules;
    maxUploadBytes: number;
    zipMaxEntries: number;
    zipMaxBytes: number;
    imageMaxPixels: number;
    imageMaxSourceBytes: number;
    adminSecret: string;
    adminRole: string;
  };
  /** The Latchkey admin API (/v1/admin/*): its service key (empty: none) and the role that may call it. */
  admin: { apiKey: string; role: string };
  cors: { origins: string[] };
  emails: { maxPerUser: number };
  passcodes: { ttl: number; secret: string };
  /** Lifetime of hanko session tokens, seconds (HANKO_SESSION_LIFETIME). */
  hankoSessionLifetime: number;
  /** Path prefix of the Hanko dialect, "" for the origin root (HANKO_PREFIX). */
  hankoPrefix: string;
  webauthn: {
    rpId: string;
    rpName: string;
    /** Origins whose responses are accepted: WEBAUTHN_ORIGINS and the related origins. */
    origins: string[];
    /** WEBAUTHN_RELATED_ORIGINS, for /.well-known/webauthn (empty: none). */
    relatedOrigins: string[];
    timeoutMs: number;
  };
  oauth: {
    providers: OAuthProviderConfig[];
    allowedRedirects: string[];
    errorRedirect: string;
  };
  saml: SamlConfig;
}

/** SAML service-provider settings (SAML_* variables) and the identity providers, one per email domain. */
export interface SamlConfig {
  providers: SamlProviderConfig[];
  /** The SP's entity id (SAML_SP_ENTITY_ID, default PUBLIC_URL/saml/metadata). */
  spEntityId: string;
  /** Secret: PKCS#8 PEM of the SP key (signs AuthnRequests, decrypts assertions); empty outside production. */
  spPrivateKey: string;
  /** The SP certificate (PEM) for that key, published in the metadata. */
  spCertificate: string;
  /** Exact URLs `/saml/auth` may return to (besides each provider's own list). */
  allowedRedirects: string[];
  /** Where errors go when the request named no allowed URL; empty: the error redirect, else JSON. */
  defaultRedirect: string;
  /** Tolerated clock difference with the IdPs, milliseconds. */
  clockSkewMs: number;
}

export interface SamlProviderConfig {
  /** The email domain this IdP signs in (lower case). */
  domain: string;
  name: string;
  /** The IdP's entity id: the only accepted `Issuer`. */
  idpEntityId: string;
  /** The IdP's single sign-on URL, HTTP-Redirect binding. */
  ssoUrl: string;
  /** The IdP's signing certificates (PEM; several during a rotation): the only trusted keys. */
  certificates: string[];
  /** Informational: the IdP's metadata URL, shown by GET /saml/provider. */
  metadataUrl: string | null;
  /** Attribute names holding the user's details; NameID is the email when `email` is not mapped. */
  attributeMap: Record<string, string>;
  /** Trust the IdP's email addresses as verified (the domain is the organisation's own). */
  skipEmailVerification: boolean;
  /** Sign AuthnRequests with the SP key. */
  signRequests: boolean;
  /** Refuse responses whose Response element is not signed (a signed Assertion alone is not enough). */
  requireSignedResponse: boolean;
  allowedRedirects: string[];
}

export interface OAuthProviderConfig {
  name: string;
  kind: "github" | "google" | "oidc";
  clientId: string;
  clientSecret: string;
  /** OpenID Connect discovery document (google and oidc). */
  discoveryUrl: string | null;
}
