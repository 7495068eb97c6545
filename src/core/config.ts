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
  sessions: { refreshIdleTtl: number; absoluteTtl: number; reuseGrace: number; maxPerUser: number };
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
  webauthn: { rpId: string; rpName: string; origins: string[]; timeoutMs: number };
  oauth: {
    providers: OAuthProviderConfig[];
    allowedRedirects: string[];
    errorRedirect: string;
  };
}

export interface OAuthProviderConfig {
  name: string;
  kind: "github" | "google" | "oidc";
  clientId: string;
  clientSecret: string;
  /** OpenID Connect discovery document (google and oidc). */
  discoveryUrl: string | null;
}
