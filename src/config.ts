/**
 * Environment strings -> a typed, validated Config, parsed once per env object. Every field has a
 * default and a one-line doc (README "Configuration" lists them). A bad value fails with the key's
 * name, never its value, since some keys are secrets.
 */
import { z } from "zod";
import {
  type Config,
  DIALECT_NAMES,
  type DialectName,
  type OAuthProviderConfig,
  type SamlProviderConfig,
} from "./core/config";
import { MAX_RETRY_DELAY_SECONDS, RETRY_SCHEDULE, webhookSecretKey } from "./core/events/webhooks";
import { type MailOverrides, parseMailOverrides } from "./core/mail/templates";
import { RATE_LIMIT_BINDINGS } from "./core/rate-limit/bindings";
import { type CompiledRules, parseStorageRules } from "./core/storage/rules";
import { deriveKey } from "./lib/derive";
import { fromBase64Url, toBase64Url, utf8 } from "./lib/encoding";
import { isLoopbackHost } from "./lib/hosts";

export type { Config, DialectName, OAuthProviderConfig } from "./core/config";

const bool = (def: boolean) =>
  z
    .enum(["true", "false", "1", "0", ""])
    .optional()
    .transform((v) => (v === undefined || v === "" ? def : v === "true" || v === "1"));
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `must be an integer between ${min} and ${max}` });
        return z.NEVER;
      }
      return n;
    });
const str = (def: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === "" ? def : v));
const list = (def: string[]) =>
  z
    .string()
    .optional()
    .transform((v) =>
      v === undefined || v.trim() === ""
        ? def
        : v
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
    );
const url = (def: string) =>
  str(def).refine((v) => v === "" || URL.canParse(v), { message: "must be an absolute URL" });

const EnvSchema = z.object({
  /** development | test | production. Development serves /_dev/* and may generate a signing key. */
  ENVIRONMENT: z.enum(["development", "test", "production"]).default("production"),
  /** Public base URL of the Worker, the only source of links in mail. Required in production; elsewhere http://localhost:8787. */
  PUBLIC_URL: url(""),
  /**
   * Secret: the root secret (32+ bytes, base64url) the TOTP, passcode and token keys are derived from
   * (HKDF, one label per purpose). Required in production; outside it a fixed development root is used.
   */
  LATCHKEY_SECRET: str(""),
  /** Dialects to serve. */
  DIALECTS: list([...DIALECT_NAMES]).refine(
    (l) => l.every((d) => (DIALECT_NAMES as readonly string[]).includes(d)),
    {
      message: `must list only ${DIALECT_NAMES.join(", ")}`,
    },
  ),
  /** Signing algorithm for access tokens. */
  JWT_ALGORITHM: z.enum(["ES256", "RS256", "HS512"]).default("ES256"),
  /** Secret: a JWK set ({"keys":[...]}) of private signing keys, each with kid and alg. */
  JWT_PRIVATE_KEYS: str(""),
  /** kid of the key that signs; the others are published and accepted (rotation). Default: the first. */
  JWT_SIGNING_KID: str(""),
  /** `iss` claim. Default: PUBLIC_URL. */
  JWT_ISSUER: str(""),
  /** `aud` claim. */
  JWT_AUDIENCE: str("latchkey"),
  /** Hasura claims namespace (added when the hbp dialect is on). */
  JWT_CLAIMS_NAMESPACE: str("https://hasura.io/jwt/claims"),
  /**
   * User fields copied into the Hasura claims as `x-hasura-<kebab-case field>` (HBP's
   * JWT_CUSTOM_FIELDS): display_name, avatar_url, locale, email, or a key of the registration's
   * user_data. Comma list; never one of the standard claims.
   */
  JWT_CUSTOM_FIELDS: list([]),
  /** Access token lifetime, seconds. */
  ACCESS_TOKEN_TTL: int(900, 30, 86_400),
  /** Refresh token idle lifetime, seconds (7 days). */
  REFRESH_TOKEN_IDLE_TTL: int(7 * 86_400, 60),
  /** Session absolute lifetime, seconds (30 days). */
  SESSION_ABSOLUTE_TTL: int(30 * 86_400, 60),
  /** Seconds during which a just-rotated refresh token may be presented again (parallel tabs). */
  REFRESH_REUSE_GRACE: int(10, 0, 300),
  /** Live sessions per user; the oldest are ended beyond this. */
  MAX_SESSIONS_PER_USER: int(20, 1, 1000),
  /** Seconds a sign-in counts as recent for sensitive changes (email, password, TOTP off, passkey or account deletion); 0: off. */
  STEP_UP_MAX_AGE: int(300, 0, 86_400),
  /** New users may log in before confirming their email. */
  AUTO_ACTIVATE_NEW_USERS: bool(false),
  /** Email changes need a link sent to the new address (/auth/change-email/request). */
  VERIFY_EMAILS: bool(true),
  /** Password reset by mailed ticket. */
  LOST_PASSWORD_ENABLED: bool(true),
  /** TOTP second factor. */
  MFA_ENABLED: bool(true),
  /** Passwordless login and registration by mailed link (hbp). */
  MAGIC_LINK_ENABLED: bool(false),
  /** Users may delete their own account. */
  ALLOW_USER_SELF_DELETE: bool(false),

  // --- directus, formauth, vault ---
  /** Path prefix of the Directus dialect (`<prefix>/auth/*`, `<prefix>/users/me`). */
  DIRECTUS_PREFIX: str("/directus").refine((v) => /^(\/(?!\.{1,2}(\/|$))[A-Za-z0-9._-]+)+$/.test(v), {
    message: "must be a path such as /directus (segments of letters, digits, . _ -)",
  }),
  /** Path prefix of the hosted sign-in pages (`<prefix>/login`, `/register`, ...); empty: the origin root. */
  PAGES_PREFIX: str("").refine((v) => v === "" || /^(\/(?!\.{1,2}(\/|$))[A-Za-z0-9._-]+)+$/.test(v), {
    message: "must be empty or a path such as /auth-pages (segments of letters, digits, . _ -)",
  }),
  /** Exact URLs a Directus password request may send its link to (`reset_url`); others are refused. */
  PASSWORD_RESET_URL_ALLOW_LIST: list([]),
  /** Page a Directus reset link opens when no reset_url is given. Default: PUBLIC_URL/admin/reset-password. */
  DIRECTUS_PASSWORD_RESET_URL: url(""),
  /** Page a vault password-reset link opens (`?token=` is added). Default: PUBLIC_URL/reset-password. */
  VAULT_PASSWORD_RESET_URL: url(""),
  /** Page a vault verification link opens (the token is appended). Default: PUBLIC_URL/api/verify-email/. */
  VAULT_VERIFY_EMAIL_URL: url(""),
  /**
   * Secret: Cloudflare Turnstile secret key (vault resend-email-verification). Outside production
   * Turnstile's always-pass test key is the default; in production, unset means every captcha fails.
   */
  TURNSTILE_SECRET_KEY: str(""),
  /** Turnstile siteverify endpoint. */
  TURNSTILE_VERIFY_URL: url("https://challenges.cloudflare.com/turnstile/v0/siteverify"),
  /** Passwords as a credential. */
  PASSWORDS_ENABLED: bool(true),
  /** Sign-up open to anyone. */
  SIGNUP_ENABLED: bool(true),
  /** Minimum password length (characters). */
  MIN_PASSWORD_LENGTH: int(8, 1, 256),
  /**
   * Also refuse passwords the breached-password range API lists (only the first 5 hex digits of
   * the SHA-1 are sent); when it cannot be reached the password is allowed and a line is logged.
   */
  PASSWORD_BREACH_CHECK: bool(false),
  /** The range API of PASSWORD_BREACH_CHECK; the 5-hex prefix is appended. */
  PASSWORD_BREACH_API_URL: url("https://api.pwnedpasswords.com/range/"),
  /** How long to wait for the range API before allowing the password, milliseconds. */
  PASSWORD_BREACH_TIMEOUT: int(2000, 100, 10_000),
  /** Answers that reveal whether an account exists (hbp login, hanko POST /user, vault exist-email). */
  ACCOUNT_EXISTENCE_HINTS: bool(false),
  /** Browser destination after activation and magic links. Default: PUBLIC_URL/. */
  REDIRECT_URL_SUCCESS: url(""),
  /** Browser destination when an activation or magic link is invalid; empty: answer 401. */
  REDIRECT_URL_ERROR: url(""),
  /** Role given to new users. */
  DEFAULT_USER_ROLE: str("user"),
  /** Roles new users get. */
  DEFAULT_ALLOWED_USER_ROLES: list([]),
  /** Roles a registration may ask for (register_options). Default: DEFAULT_ALLOWED_USER_ROLES. */
  ALLOWED_USER_ROLES: list([]),
  /** scrypt cost: log2 N, r, p (OWASP 16 MiB setting by default). */
  SCRYPT_LOG_N: int(14, 10, 16),
  SCRYPT_R: int(8, 1, 32),
  SCRYPT_P: int(5, 1, 16),
  /**
   * Requests that may hash a password at once in one isolate; more are refused with 503 at once. Low,
   * because each ~170 ms hash blocks every other request of the isolate.
   */
  MAX_PENDING_HASHES: int(2, 1, 100),
  /** Secret: 32+ byte key (base64url) that encrypts TOTP secrets. Default: derived from LATCHKEY_SECRET. */
  TOTP_ENCRYPTION_KEY: str(""),
  /** Issuer shown by authenticator apps. */
  TOTP_ISSUER: str("Latchkey"),
  /** Per-IP rate limits on credential routes (false only for load tests; true needs the RL_* bindings in production). */
  RATE_LIMITS_ENABLED: bool(true),
  /**
   * D1 Sessions API: safe reads (JWKS, profile reads) may be answered by the nearest read replica, writes by
   * the primary, and a client that echoes X-Latchkey-Bookmark reads its own writes. Harmless while the
   * database has replication off (D1 answers from the primary). false: every query on the binding itself.
   */
  D1_READ_REPLICATION: bool(true),
  /** Development only: delay added before every D1 round trip (ms), a simulated distance to the primary. */
  DEV_D1_RTT_MS: int(0, 0, 5000),
  /** Failed attempts per account in 15 minutes before a lockout (doubling from 30 s to 1 h). */
  ACCOUNT_MAX_FAILURES: int(10, 1, 1000),
  /** Mail transport: outbox | http | cloudflare. */
  MAIL_TRANSPORT: z.enum(["outbox", "http", "cloudflare"]).default("outbox"),
  /** Sender address. Default: Latchkey <no-reply@PUBLIC_URL's host>. */
  MAIL_FROM: str(""),
  /** JSON mail API endpoint (http transport; Resend-compatible body). */
  MAIL_HTTP_URL: url("https://api.resend.com/emails"),
  /** Secret: bearer key for MAIL_HTTP_URL. */
  MAIL_HTTP_KEY: str(""),
  /** Product name in mail (sender of the message, heading, footer). */
  PRODUCT_NAME: str("Latchkey").refine((v) => v.length <= 64 && !/[\r\n<>{}]/.test(v), {
    message: "must be at most 64 characters, one line, without < > { }",
  }),
  /** Logo shown at the top of every mail (an https URL in production; about 36 px high). Empty: the product name as text. */
  PRODUCT_LOGO_URL: url("").refine(
    (v) => v === "" || (URL.canParse(v) && /^https?:$/.test(new URL(v).protocol)),
    {
      message: "must be an http(s) URL",
    },
  ),
  /** Operator mail templates, JSON {"<kind>": {"<lang>": {"subject", "text", "html"}}} (README "Mail"). */
  MAIL_TEMPLATES: str(""),
  /** Write the audit log to D1 (false: events still reach webhooks and the Analytics Engine counters). */
  AUDIT_LOG_ENABLED: bool(true),
  /** Days an audit log row is kept; the scheduled handler deletes older ones. */
  AUDIT_RETENTION_DAYS: int(90, 1, 3650),
  /**
   * Webhook endpoints (comma list of absolute URLs; https in production): each gets user.created,
   * user.deleted, session.created, session.revoked, password.changed and email.changed through the
   * WEBHOOKS queue. Empty: nothing is enqueued.
   */
  WEBHOOK_URL: list([]),
  /** Secret: the Standard Webhooks signing secret, `whsec_` + base64 of 24-64 random bytes. Required with WEBHOOK_URL. */
  WEBHOOK_SECRET: str(""),
  /**
   * Seconds the queue waits before each webhook retry (comma list, 0-43200 each): one entry per
   * retry, as many as the consumer's max_retries in wrangler.toml. Default: the Standard Webhooks schedule.
   */
  WEBHOOK_RETRY_DELAYS: list(RETRY_SCHEDULE.map(String)).transform((l, ctx) => {
    const delays = l.map(Number);
    if (
      l.length > 100 ||
      !delays.every((n) => Number.isInteger(n) && n >= 0 && n <= MAX_RETRY_DELAY_SECONDS)
    ) {
      ctx.addIssue({
        code: "custom",
        message: `must be at most 100 whole numbers of seconds between 0 and ${MAX_RETRY_DELAY_SECONDS}`,
      });
      return z.NEVER;
    }
    return delays;
  }),
  /** Largest accepted auth request body, bytes. */
  MAX_BODY_BYTES: int(16 * 1024, 1024, 1024 * 1024),

  // --- Storage (hbp /storage/*) ---
  /** Access rules, JSON [{path, read, write}] (src/core/storage/rules.ts). Empty: user/{userId}/** owner+token, public/** public read, authenticated write. */
  STORAGE_RULES: str(""),
  /** Largest accepted upload, bytes (50 MB); above it 413 and nothing is stored. */
  STORAGE_MAX_UPLOAD_BYTES: int(50 * 1024 * 1024, 1, 5 * 1024 * 1024 * 1024),
  /** Most files one directory zip may hold (413 above it). */
  STORAGE_ZIP_MAX_ENTRIES: int(1000, 1, 65_000),
  /** Most bytes one directory zip may hold (200 MB; 413 above it; zip32 caps it under 4 GiB). */
  STORAGE_ZIP_MAX_BYTES: int(200 * 1024 * 1024, 1, 4 * 1024 * 1024 * 1024 - 1),
  /**
   * Secret: the admin secret HBP clients send as `x-admin-secret` (storage `revoke-token`). Empty:
   * no request is an admin by secret. Compared in constant time.
   */
  ADMIN_SECRET: str(""),
  /** A role (in the token's x-hasura-allowed-roles) that may rotate any file's token. Empty: none. */
  STORAGE_ADMIN_ROLE: str(""),
  /**
   * Secret: the service key of the Latchkey admin API (/v1/admin/*), sent as `Authorization: Bearer`;
   * at least 32 random bytes, base64url. Empty: only users holding ADMIN_ROLE may call it.
   */
  ADMIN_API_KEY: str(""),
  /** The role (among a user's allowed roles, read from D1) that may call the admin API. Empty: none (service key only). */
  ADMIN_ROLE: str(""),
  /** Largest image a variant (?w=&h=...) may be made from, in pixels (8 MP, ~90 MB to decode); 422 above. */
  IMAGE_MAX_PIXELS: int(8_000_000, 1, 40_000_000),
  /** Largest image file a variant may be made from, bytes (25 MB; it is read whole); 422 above. */
  IMAGE_MAX_SOURCE_BYTES: int(25 * 1024 * 1024, 1, 100 * 1024 * 1024),

  // --- CORS, emails, passcodes, WebAuthn, OAuth (hanko; OAuth shared with directus) ---
  /** Origins allowed to call cross-origin with credentials (exact match, e.g. http://localhost:5173). */
  CORS_ORIGINS: list([]),
  /** Email addresses one user may hold (hanko `emails.max_num_of_addresses`). */
  MAX_EMAILS_PER_USER: int(5, 1, 100),
  /**
   * Lifetime of hanko session tokens (X-Session-Lifetime), seconds. compat(hanko): 0.12 clients never
   * refresh, so this is how long a hanko sign-in lasts (Hanko's own default: 1 h).
   */
  HANKO_SESSION_LIFETIME: int(3600, 60, 30 * 86_400),
  /**
   * Path prefix of the Hanko dialect (e.g. /hanko, so an SPA can own the origin root); empty: the
   * origin root, where the 0.12 SDK expects it by default.
   */
  HANKO_PREFIX: str("").refine((v) => v === "" || /^(\/(?!\.{1,2}(\/|$))[A-Za-z0-9._-]+)+$/.test(v), {
    message: "must be empty or a path such as /hanko (segments of letters, digits, . _ -)",
  }),
  /** Email passcode lifetime, seconds. */
  PASSCODE_TTL: int(300, 30, 3600),
  /** Secret: HMAC key (32+ bytes, base64url) for stored passcodes and pseudo ids. Default: derived from LATCHKEY_SECRET. */
  PASSCODE_SECRET: str(""),
  /** WebAuthn relying-party id (a registrable domain of every origin). Default: PUBLIC_URL's host. */
  WEBAUTHN_RP_ID: str(""),
  /** WebAuthn relying-party name shown by authenticators. */
  WEBAUTHN_RP_NAME: str("Latchkey"),
  /** Exact origins whose WebAuthn responses are accepted. Default: PUBLIC_URL's origin. */
  WEBAUTHN_ORIGINS: list([]),
  /**
   * Related origins (comma-separated https origins) that may use the RP id, served at
   * /.well-known/webauthn and accepted like WEBAUTHN_ORIGINS; empty: the route answers 404.
   */
  WEBAUTHN_RELATED_ORIGINS: list([]),
  /** WebAuthn ceremony timeout and challenge lifetime, milliseconds. */
  WEBAUTHN_TIMEOUT: int(300_000, 10_000, 600_000),
  /** GitHub OAuth app; the provider is on when the client id is set. */
  OAUTH_GITHUB_CLIENT_ID: str(""),
  /** Secret: GitHub OAuth client secret. */
  OAUTH_GITHUB_CLIENT_SECRET: str(""),
  /** Google OAuth client; the provider is on when the client id is set. */
  OAUTH_GOOGLE_CLIENT_ID: str(""),
  /** Secret: Google OAuth client secret. */
  OAUTH_GOOGLE_CLIENT_SECRET: str(""),
  /** Name of the generic OpenID Connect provider (used in URLs and the providers list). */
  OAUTH_OIDC_NAME: str("oidc"),
  /** OpenID Connect discovery URL (…/.well-known/openid-configuration); the provider is on when set. */
  OAUTH_OIDC_DISCOVERY_URL: url(""),
  OAUTH_OIDC_CLIENT_ID: str(""),
  /** Secret: OpenID Connect client secret. */
  OAUTH_OIDC_CLIENT_SECRET: str(""),
  /** Exact URLs an OAuth login may return to (hanko `redirect_to`, directus `redirect`). */
  OAUTH_ALLOWED_REDIRECTS: list([]),
  /** Where OAuth errors go when the requested return URL is not usable; empty: answer with JSON. */
  OAUTH_ERROR_REDIRECT_URL: url(""),
  /** SAML identity providers, a JSON array, one per email domain (README "SAML"); empty: /saml/* answers 404. */
  SAML_PROVIDERS: str(""),
  /** The SAML service provider's entity id. Default: PUBLIC_URL/saml/metadata. */
  SAML_SP_ENTITY_ID: str(""),
  /** Secret: PKCS#8 PEM RSA key of the SAML SP. Required in production with SAML_PROVIDERS; elsewhere generated and kept in D1. */
  SAML_SP_PRIVATE_KEY: str(""),
  /** The SAML SP's X.509 certificate (PEM) for SAML_SP_PRIVATE_KEY, published in the metadata. */
  SAML_SP_CERTIFICATE: str(""),
  /** Exact URLs a SAML login may return to (`redirect_to` of /saml/auth). */
  SAML_ALLOWED_REDIRECT_URLS: list([]),
  /** Where SAML errors go when the request named no allowed URL. Default: REDIRECT_URL_ERROR. */
  SAML_DEFAULT_REDIRECT_URL: url(""),
  /** Tolerated clock difference with SAML IdPs, seconds (NotBefore, NotOnOrAfter). */
  SAML_CLOCK_SKEW: int(60, 0, 300),
});

type Env = z.output<typeof EnvSchema>;

export class ConfigError extends Error {}

/** First path segments the dialects and the development routes own (app.ts mount table). */
const DIALECT_ROOTS = [
  "auth",
  "storage",
  "health",
  "api",
  "v1",
  "_dev",
  "me",
  "logout",
  "user",
  "users",
  "emails",
  "passcode",
  "password",
  "webauthn",
  "thirdparty",
  "token",
  "saml",
  ".well-known",
];

/** Outside production only: the root every development key is derived from. */
const DEVELOPMENT_ROOT = utf8("latchkey-development-root-secret-not-for-production");
const DEVELOPMENT_PUBLIC_URL = "http://localhost:8787";

/**
 * WEBAUTHN_RELATED_ORIGINS: each an https origin written as one (no path, query, fragment or
 * credentials), at most 100 of them; the origins, without duplicates.
 */
function relatedOriginsOf(values: string[]): string[] {
  const fail = () =>
    new ConfigError("WEBAUTHN_RELATED_ORIGINS: must be https origins such as https://example.co.uk");
  if (values.length > 100) throw new ConfigError("WEBAUTHN_RELATED_ORIGINS: at most 100 origins");
  const origins = values.map((v) => {
    if (!URL.canParse(v)) throw fail();
    const u = new URL(v);
    if (u.protocol !== "https:" || u.username || u.password || u.search || u.hash) throw fail();
    if (u.pathname !== "/" || !/^https:\/\/[^/?#]+\/?$/i.test(v)) throw fail();
    return u.origin;
  });
  return [...new Set(origins)];
}

/** A base64url secret of at least 32 bytes, or a ConfigError naming the key (never the value). */
function secretBytes(key: string, value: string): Uint8Array {
  let bytes: Uint8Array | null = null;
  try {
    if (/^[A-Za-z0-9_-]+={0,2}$/.test(value)) bytes = fromBase64Url(value.replace(/=+$/, ""));
  } catch {
    // Not decodable (a length no base64 has): refused below like any other bad value.
  }
  if (!bytes || bytes.length < 32)
    throw new ConfigError(
      `${key}: must be at least 32 random bytes, base64url-encoded (npm run keys makes one)`,
    );
  return bytes;
}

/** The admin API's service key, checked for strength (never echoed); empty: none. */
function adminApiKey(value: string): string {
  if (value) secretBytes("ADMIN_API_KEY", value);
  return value;
}

/** A JWK set of private keys, checked for shape only (the keys themselves load on first use). */
function checkKeySet(value: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ConfigError('JWT_PRIVATE_KEYS: not valid JSON (a JWK set {"keys":[...]})');
  }
  const keys = (parsed as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0)
    throw new ConfigError("JWT_PRIVATE_KEYS: needs a non-empty keys array");
  for (const k of keys as Record<string, unknown>[])
    if (typeof k?.kid !== "string" || typeof k?.alg !== "string")
      throw new ConfigError("JWT_PRIVATE_KEYS: every key needs a kid and an alg");
}

/**
 * What production refuses: development values left in place (a loopback or http: URL that people's
 * browsers or mail links would use, the outbox, a localhost sender) and secrets an enabled feature
 * cannot work without. The message names the key and why, never the value.
 */
function checkProduction(e: Env, derived: { publicUrl: string; mailFrom: string }): void {
  const publicUrls: [string, string[]][] = [
    ["PUBLIC_URL", [derived.publicUrl]],
    ["REDIRECT_URL_SUCCESS", [e.REDIRECT_URL_SUCCESS]],
    ["REDIRECT_URL_ERROR", [e.REDIRECT_URL_ERROR]],
    ["DIRECTUS_PASSWORD_RESET_URL", [e.DIRECTUS_PASSWORD_RESET_URL]],
    ["VAULT_PASSWORD_RESET_URL", [e.VAULT_PASSWORD_RESET_URL]],
    ["VAULT_VERIFY_EMAIL_URL", [e.VAULT_VERIFY_EMAIL_URL]],
    ["OAUTH_ERROR_REDIRECT_URL", [e.OAUTH_ERROR_REDIRECT_URL]],
    ["OAUTH_ALLOWED_REDIRECTS", e.OAUTH_ALLOWED_REDIRECTS],
    ["SAML_ALLOWED_REDIRECT_URLS", e.SAML_ALLOWED_REDIRECT_URLS],
    ["SAML_DEFAULT_REDIRECT_URL", [e.SAML_DEFAULT_REDIRECT_URL]],
    ["PASSWORD_RESET_URL_ALLOW_LIST", e.PASSWORD_RESET_URL_ALLOW_LIST],
    ["WEBAUTHN_ORIGINS", e.WEBAUTHN_ORIGINS],
    ["CORS_ORIGINS", e.CORS_ORIGINS],
    ["PRODUCT_LOGO_URL", [e.PRODUCT_LOGO_URL]],
    ["WEBHOOK_URL", e.WEBHOOK_URL],
  ];
  for (const [key, urls] of publicUrls)
    for (const u of urls) {
      if (!u) continue;
      const parsed = new URL(u);
      if (parsed.protocol !== "https:") throw new ConfigError(`${key}: must be an https: URL in production`);
      if (isLoopbackHost(parsed.hostname))
        throw new ConfigError(`${key}: must not point at localhost or a loopback address in production`);
    }
  if (e.DEV_D1_RTT_MS > 0) throw new ConfigError("DEV_D1_RTT_MS: development only; unset it in production");
  if (e.MAIL_TRANSPORT === "outbox")
    throw new ConfigError(
      "MAIL_TRANSPORT: outbox keeps mail in D1 and sends nothing; set http (with MAIL_HTTP_KEY) or cloudflare in production",
    );
  const senderDomain = /@([^\s>@]+)>?\s*$/.exec(derived.mailFrom)?.[1];
  if (!senderDomain || isLoopbackHost(senderDomain))
    throw new ConfigError("MAIL_FROM: needs a sender address on your own domain in production");
  if (e.DIALECTS.includes("vault") && !e.TURNSTILE_SECRET_KEY)
    throw new ConfigError(
      "TURNSTILE_SECRET_KEY: required in production while the vault dialect is on (its resend route checks a captcha)",
    );
  if (e.OAUTH_GITHUB_CLIENT_ID && !e.OAUTH_GITHUB_CLIENT_SECRET)
    throw new ConfigError("OAUTH_GITHUB_CLIENT_SECRET: required with OAUTH_GITHUB_CLIENT_ID");
  if (e.OAUTH_GOOGLE_CLIENT_ID && !e.OAUTH_GOOGLE_CLIENT_SECRET)
    throw new ConfigError("OAUTH_GOOGLE_CLIENT_SECRET: required with OAUTH_GOOGLE_CLIENT_ID");
  if (e.SAML_PROVIDERS && (!e.SAML_SP_PRIVATE_KEY || !e.SAML_SP_CERTIFICATE))
    throw new ConfigError(
      "SAML_SP_PRIVATE_KEY: required (with SAML_SP_CERTIFICATE) in production while SAML_PROVIDERS is set",
    );
}

const SamlProviderSchema = z
  .object({
    domain: z
      .string()
      .regex(/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, "must be a domain name"),
    name: z.string().min(1).max(100).optional(),
    idp_entity_id: z.string().min(1).max(1024),
    sso_url: z.string().url(),
    certificates: z.array(z.string().includes("-----BEGIN CERTIFICATE-----")).min(1),
    metadata_url: z.string().url().optional(),
    attribute_map: z.record(z.string(), z.string().min(1)).optional(),
    skip_email_verification: z.boolean().optional(),
    sign_requests: z.boolean().optional(),
    require_signed_response: z.boolean().optional(),
    allowed_redirect_urls: z.array(z.string().url()).optional(),
  })
  .strict();

/** SAML_PROVIDERS: a JSON array of providers; each error names the provider's position and field. */
function parseSamlProviders(value: string): SamlProviderConfig[] {
  if (!value.trim()) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ConfigError("SAML_PROVIDERS: not valid JSON (an array of providers)");
  }
  const result = z.array(SamlProviderSchema).safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(`SAML_PROVIDERS: ${issue.path.join(".")}: ${issue.message}`);
  }
  const providers = result.data.map((p) => ({
    domain: p.domain.toLowerCase(),
    name: p.name ?? p.domain.toLowerCase(),
    idpEntityId: p.idp_entity_id,
    ssoUrl: p.sso_url,
    certificates: p.certificates,
    metadataUrl: p.metadata_url ?? null,
    attributeMap: p.attribute_map ?? {},
    skipEmailVerification: p.skip_email_verification ?? false,
    signRequests: p.sign_requests ?? true,
    requireSignedResponse: p.require_signed_response ?? false,
    allowedRedirects: p.allowed_redirect_urls ?? [],
  }));
  const domains = providers.map((p) => p.domain);
  if (new Set(domains).size !== domains.length)
    throw new ConfigError("SAML_PROVIDERS: two providers for the same domain");
  return providers;
}

/** Claims every access token has; a custom field may never produce one of them. */
const STANDARD_HASURA_CLAIMS = ["user-id", "allowed-roles", "default-role", "role"];

/** JWT_CUSTOM_FIELDS -> claim names, as HBP derived them (lodash kebabCase of the column name). */
function customFields(fields: string[]): { claim: string; field: string }[] {
  if (fields.length > 20) throw new ConfigError("JWT_CUSTOM_FIELDS: at most 20 fields");
  const seen = new Set<string>();
  return fields.map((field) => {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(field))
      throw new ConfigError("JWT_CUSTOM_FIELDS: each field is a name of letters, digits and _");
    const claim = field
      .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
      .replace(/_/g, "-")
      .replace(/-+/g, "-")
      .replace(/^-|-$/g, "")
      .toLowerCase();
    if (STANDARD_HASURA_CLAIMS.includes(claim) || seen.has(claim))
      throw new ConfigError("JWT_CUSTOM_FIELDS: a field would replace a standard or another claim");
    seen.add(claim);
    return { claim, field };
  });
}

function build(e: Env, bindings: Record<string, unknown>): Config {
  const production = e.ENVIRONMENT === "production";
  const defaultAllowed = e.DEFAULT_ALLOWED_USER_ROLES.length
    ? e.DEFAULT_ALLOWED_USER_ROLES
    : [e.DEFAULT_USER_ROLE];
  const allowed = e.ALLOWED_USER_ROLES.length ? e.ALLOWED_USER_ROLES : defaultAllowed;
  if (!defaultAllowed.includes(e.DEFAULT_USER_ROLE))
    throw new ConfigError("DEFAULT_ALLOWED_USER_ROLES: must include DEFAULT_USER_ROLE");
  if (!defaultAllowed.every((r) => allowed.includes(r)))
    throw new ConfigError("ALLOWED_USER_ROLES: must include DEFAULT_ALLOWED_USER_ROLES");
  // A role anyone may take at registration cannot be the one that makes an admin.
  if (e.ADMIN_ROLE && (allowed.includes(e.ADMIN_ROLE) || e.DEFAULT_USER_ROLE === e.ADMIN_ROLE))
    throw new ConfigError(
      "ADMIN_ROLE: must not be a role registration may give (ALLOWED_USER_ROLES, DEFAULT_USER_ROLE)",
    );
  if (!e.PUBLIC_URL && production)
    throw new ConfigError("PUBLIC_URL: required in production (the https URL users reach this Worker at)");
  if (e.JWT_PRIVATE_KEYS) checkKeySet(e.JWT_PRIVATE_KEYS);
  else if (production)
    throw new ConfigError("JWT_PRIVATE_KEYS: required in production (npm run keys makes a key set)");
  if (!e.LATCHKEY_SECRET && production)
    throw new ConfigError("LATCHKEY_SECRET: required in production (npm run keys makes one)");
  const root = e.LATCHKEY_SECRET ? secretBytes("LATCHKEY_SECRET", e.LATCHKEY_SECRET) : DEVELOPMENT_ROOT;
  if (e.TOTP_ENCRYPTION_KEY) secretBytes("TOTP_ENCRYPTION_KEY", e.TOTP_ENCRYPTION_KEY);
  if (e.PASSCODE_SECRET) secretBytes("PASSCODE_SECRET", e.PASSCODE_SECRET);
  if (e.MAIL_TRANSPORT === "http" && !e.MAIL_HTTP_KEY)
    throw new ConfigError("MAIL_HTTP_KEY: required by MAIL_TRANSPORT=http");
  if (e.MAIL_TRANSPORT === "cloudflare" && !bindings.SEND_EMAIL)
    throw new ConfigError("MAIL_TRANSPORT: cloudflare needs a send_email binding named SEND_EMAIL");
  // Outside production a missing binding leaves its limit to the in-isolate count alone.
  if (production && e.RATE_LIMITS_ENABLED)
    for (const name of Object.values(RATE_LIMIT_BINDINGS))
      if (typeof (bindings[name] as { limit?: unknown } | undefined)?.limit !== "function")
        throw new ConfigError(
          `${name}: production needs this Rate Limiting binding for the per-IP limits ([[ratelimits]] in wrangler.toml)`,
        );
  let webhookSecret: Uint8Array | null = null;
  if (e.WEBHOOK_URL.length) {
    if (!e.WEBHOOK_URL.every((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol)))
      throw new ConfigError("WEBHOOK_URL: must be absolute http(s) URLs");
    webhookSecret = webhookSecretKey(e.WEBHOOK_SECRET);
    if (!webhookSecret)
      throw new ConfigError(
        "WEBHOOK_SECRET: required with WEBHOOK_URL, as whsec_ followed by base64 of 24-64 random bytes",
      );
    if (typeof (bindings.WEBHOOKS as { sendBatch?: unknown } | undefined)?.sendBatch !== "function")
      throw new ConfigError(
        "WEBHOOKS: WEBHOOK_URL needs this Queues producer binding ([[queues.producers]] in wrangler.toml)",
      );
  }
  let storageRules: CompiledRules;
  try {
    storageRules = parseStorageRules(e.STORAGE_RULES);
  } catch (err) {
    throw new ConfigError(`STORAGE_RULES: ${(err as Error).message}`);
  }
  let mailOverrides: MailOverrides;
  try {
    mailOverrides = parseMailOverrides(e.MAIL_TEMPLATES);
  } catch (err) {
    throw new ConfigError(`MAIL_TEMPLATES: ${(err as Error).message}`);
  }
  const publicUrl = (e.PUBLIC_URL || DEVELOPMENT_PUBLIC_URL).replace(/\/+$/, "");
  const publicHost = new URL(publicUrl).hostname;
  const webauthnOrigins = e.WEBAUTHN_ORIGINS.length ? e.WEBAUTHN_ORIGINS : [publicUrl];
  const rpId = e.WEBAUTHN_RP_ID || publicHost;
  const mailFrom = e.MAIL_FROM || `Latchkey <no-reply@${publicHost}>`;
  const providers: OAuthProviderConfig[] = [];
  if (e.OAUTH_GITHUB_CLIENT_ID)
    providers.push({
      name: "github",
      kind: "github",
      clientId: e.OAUTH_GITHUB_CLIENT_ID,
      clientSecret: e.OAUTH_GITHUB_CLIENT_SECRET,
      discoveryUrl: null,
    });
  if (e.OAUTH_GOOGLE_CLIENT_ID)
    providers.push({
      name: "google",
      kind: "google",
      clientId: e.OAUTH_GOOGLE_CLIENT_ID,
      clientSecret: e.OAUTH_GOOGLE_CLIENT_SECRET,
      discoveryUrl: "https://accounts.google.com/.well-known/openid-configuration",
    });
  if (e.OAUTH_OIDC_DISCOVERY_URL) {
    if (!/^[a-z0-9_-]{1,32}$/.test(e.OAUTH_OIDC_NAME) || ["github", "google"].includes(e.OAUTH_OIDC_NAME))
      throw new ConfigError("OAUTH_OIDC_NAME: must be 1-32 of a-z 0-9 _ - and not github or google");
    if (!e.OAUTH_OIDC_CLIENT_ID)
      throw new ConfigError("OAUTH_OIDC_CLIENT_ID: required with OAUTH_OIDC_DISCOVERY_URL");
    providers.push({
      name: e.OAUTH_OIDC_NAME,
      kind: "oidc",
      clientId: e.OAUTH_OIDC_CLIENT_ID,
      clientSecret: e.OAUTH_OIDC_CLIENT_SECRET,
      discoveryUrl: e.OAUTH_OIDC_DISCOVERY_URL,
    });
  }
  const samlProviders = parseSamlProviders(e.SAML_PROVIDERS);
  if (Boolean(e.SAML_SP_PRIVATE_KEY) !== Boolean(e.SAML_SP_CERTIFICATE))
    throw new ConfigError("SAML_SP_CERTIFICATE: SAML_SP_PRIVATE_KEY and SAML_SP_CERTIFICATE go together");
  for (const [key, urls] of [
    ["OAUTH_ALLOWED_REDIRECTS", e.OAUTH_ALLOWED_REDIRECTS],
    ["SAML_ALLOWED_REDIRECT_URLS", e.SAML_ALLOWED_REDIRECT_URLS],
    ["WEBAUTHN_ORIGINS", e.WEBAUTHN_ORIGINS],
    ["CORS_ORIGINS", e.CORS_ORIGINS],
    ["PASSWORD_RESET_URL_ALLOW_LIST", e.PASSWORD_RESET_URL_ALLOW_LIST],
  ] as const)
    if (!urls.every((u) => URL.canParse(u))) throw new ConfigError(`${key}: must be absolute URLs`);
  // The pages are routed before the dialects: under a dialect's path they would shadow its routes.
  const pagesRoot = e.PAGES_PREFIX.split("/")[1];
  if (pagesRoot !== undefined && [...DIALECT_ROOTS, e.DIRECTUS_PREFIX.split("/")[1]].includes(pagesRoot))
    throw new ConfigError(`PAGES_PREFIX: /${pagesRoot} belongs to a dialect; choose another prefix`);
  for (const origin of webauthnOrigins) {
    const host = new URL(origin).hostname;
    if (host !== rpId && !host.endsWith(`.${rpId}`))
      throw new ConfigError(
        `WEBAUTHN_RP_ID: must be the host of every WEBAUTHN_ORIGINS origin or a parent domain of it`,
      );
  }
  const relatedOrigins = relatedOriginsOf(e.WEBAUTHN_RELATED_ORIGINS);
  checkHankoPrefix(e.HANKO_PREFIX, e.DIRECTUS_PREFIX);
  if (production) checkProduction(e, { publicUrl, mailFrom });
  return {
    environment: e.ENVIRONMENT,
    isDevelopment: e.ENVIRONMENT === "development",
    meter: production ? null : { d1RttMs: e.DEV_D1_RTT_MS },
    d1ReadReplication: e.D1_READ_REPLICATION,
    publicUrl,
    secrets: { root },
    dialects: e.DIALECTS as DialectName[],
    jwt: {
      algorithm: e.JWT_ALGORITHM,
      privateKeys: e.JWT_PRIVATE_KEYS,
      signingKid: e.JWT_SIGNING_KID,
      issuer: e.JWT_ISSUER || publicUrl,
      audience: e.JWT_AUDIENCE,
      claimsNamespace: e.DIALECTS.includes("hbp") ? e.JWT_CLAIMS_NAMESPACE : null,
      customFields: customFields(e.JWT_CUSTOM_FIELDS),
      accessTtl: e.ACCESS_TOKEN_TTL,
      longestTtl: Math.max(e.ACCESS_TOKEN_TTL, e.HANKO_SESSION_LIFETIME),
    },
    sessions: {
      refreshIdleTtl: e.REFRESH_TOKEN_IDLE_TTL,
      absoluteTtl: e.SESSION_ABSOLUTE_TTL,
      reuseGrace: e.REFRESH_REUSE_GRACE,
      maxPerUser: e.MAX_SESSIONS_PER_USER,
      stepUpMaxAge: e.STEP_UP_MAX_AGE,
    },
    features: {
      autoActivate: e.AUTO_ACTIVATE_NEW_USERS,
      verifyEmails: e.VERIFY_EMAILS,
      lostPassword: e.LOST_PASSWORD_ENABLED,
      mfa: e.MFA_ENABLED,
      magicLink: e.MAGIC_LINK_ENABLED,
      selfDelete: e.ALLOW_USER_SELF_DELETE,
      passwords: e.PASSWORDS_ENABLED,
      signup: e.SIGNUP_ENABLED,
      existenceHints: e.ACCOUNT_EXISTENCE_HINTS,
    },
    redirects: { success: e.REDIRECT_URL_SUCCESS || `${publicUrl}/`, error: e.REDIRECT_URL_ERROR },
    directus: {
      prefix: e.DIRECTUS_PREFIX,
      passwordResetUrl: e.DIRECTUS_PASSWORD_RESET_URL || `${publicUrl}/admin/reset-password`,
      passwordResetUrlAllowList: e.PASSWORD_RESET_URL_ALLOW_LIST,
    },
    pages: { prefix: e.PAGES_PREFIX },
    vault: {
      passwordResetUrl: e.VAULT_PASSWORD_RESET_URL || `${publicUrl}/reset-password`,
      verifyEmailUrl: e.VAULT_VERIFY_EMAIL_URL || `${publicUrl}/api/verify-email/`,
    },
    turnstile: {
      // Turnstile's documented test secret that always passes, outside production only.
      secretKey:
        e.TURNSTILE_SECRET_KEY ||
        (e.ENVIRONMENT === "production" ? "" : "1x0000000000000000000000000000000AA"),
      verifyUrl: e.TURNSTILE_VERIFY_URL,
    },
    roles: { defaultRole: e.DEFAULT_USER_ROLE, defaultAllowed, allowed },
    passwords: {
      minLength: e.MIN_PASSWORD_LENGTH,
      maxLength: 256,
      scrypt: { logN: e.SCRYPT_LOG_N, r: e.SCRYPT_R, p: e.SCRYPT_P },
      maxPending: e.MAX_PENDING_HASHES,
      breach: {
        enabled: e.PASSWORD_BREACH_CHECK,
        rangeUrl: e.PASSWORD_BREACH_API_URL,
        timeoutMs: e.PASSWORD_BREACH_TIMEOUT,
      },
    },
    totp: {
      encryptionKey: e.TOTP_ENCRYPTION_KEY || toBase64Url(deriveKey(root, "totp-encryption")),
      issuer: e.TOTP_ISSUER,
    },
    limits: {
      rateLimits: e.RATE_LIMITS_ENABLED,
      accountMaxFailures: e.ACCOUNT_MAX_FAILURES,
      maxBodyBytes: e.MAX_BODY_BYTES,
    },
    audit: {
      enabled: e.AUDIT_LOG_ENABLED,
      retentionDays: e.AUDIT_RETENTION_DAYS,
      subjectKey: deriveKey(root, "audit-subject"),
    },
    webhooks: webhookSecret
      ? { urls: e.WEBHOOK_URL, secret: webhookSecret, retryDelays: e.WEBHOOK_RETRY_DELAYS }
      : null,
    mail: {
      transport: e.MAIL_TRANSPORT,
      from: mailFrom,
      httpUrl: e.MAIL_HTTP_URL,
      httpKey: e.MAIL_HTTP_KEY,
      product: e.PRODUCT_NAME,
      logoUrl: e.PRODUCT_LOGO_URL || null,
      overrides: mailOverrides,
    },
    storage: {
      rules: storageRules,
      maxUploadBytes: e.STORAGE_MAX_UPLOAD_BYTES,
      zipMaxEntries: e.STORAGE_ZIP_MAX_ENTRIES,
      zipMaxBytes: e.STORAGE_ZIP_MAX_BYTES,
      imageMaxPixels: e.IMAGE_MAX_PIXELS,
      imageMaxSourceBytes: e.IMAGE_MAX_SOURCE_BYTES,
      adminSecret: e.ADMIN_SECRET,
      adminRole: e.STORAGE_ADMIN_ROLE,
    },
    admin: {
      apiKey: adminApiKey(e.ADMIN_API_KEY),
      role: e.ADMIN_ROLE,
    },
    cors: { origins: e.CORS_ORIGINS.map((o) => new URL(o).origin) },
    emails: { maxPerUser: e.MAX_EMAILS_PER_USER },
    passcodes: {
      ttl: e.PASSCODE_TTL,
      secret: e.PASSCODE_SECRET || toBase64Url(deriveKey(root, "passcode-hmac")),
    },
    hankoSessionLifetime: e.HANKO_SESSION_LIFETIME,
    hankoPrefix: e.HANKO_PREFIX,
    webauthn: {
      rpId,
      rpName: e.WEBAUTHN_RP_NAME,
      // A related origin may use the RP id (the browser checks /.well-known/webauthn), so its
      // responses are accepted too.
      origins: [...new Set([...webauthnOrigins.map((o) => new URL(o).origin), ...relatedOrigins])],
      relatedOrigins,
      timeoutMs: e.WEBAUTHN_TIMEOUT,
    },
    oauth: {
      providers,
      allowedRedirects: e.OAUTH_ALLOWED_REDIRECTS,
      errorRedirect: e.OAUTH_ERROR_REDIRECT_URL,
    },
    saml: {
      providers: samlProviders,
      spEntityId: e.SAML_SP_ENTITY_ID || `${publicUrl}/saml/metadata`,
      spPrivateKey: e.SAML_SP_PRIVATE_KEY,
      spCertificate: e.SAML_SP_CERTIFICATE,
      allowedRedirects: e.SAML_ALLOWED_REDIRECT_URLS,
      defaultRedirect: e.SAML_DEFAULT_REDIRECT_URL || e.REDIRECT_URL_ERROR,
      clockSkewMs: e.SAML_CLOCK_SKEW * 1000,
    },
  };
}

/** Paths other dialects and the development routes own whatever DIALECTS says (app.ts MOUNTS). */
const RESERVED_PATHS = ["/auth", "/storage", "/health", "/api", "/v1", "/_dev"];

/** HANKO_PREFIX must not be, contain or sit inside a path another dialect owns. */
function checkHankoPrefix(prefix: string, directusPrefix: string) {
  if (!prefix) return;
  const overlaps = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
  // The paths the Hanko dialect keeps at the root under a prefix (dialects/hanko/index.ts).
  for (const other of [...RESERVED_PATHS, "/thirdparty", "/saml"])
    if (overlaps(prefix, other))
      throw new ConfigError(`HANKO_PREFIX: must not overlap ${other}, another dialect's path`);
  if (overlaps(prefix, directusPrefix))
    throw new ConfigError("HANKO_PREFIX: must not overlap DIRECTUS_PREFIX");
}

/** Parses the string variables of `env`; throws ConfigError naming the first bad key. */
export function parseConfig(env: Record<string, unknown>): Config {
  const strings: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === "string") strings[k] = v;
  const parsed = EnvSchema.safeParse(strings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${issue.path.join(".")}: ${issue.message}`);
  }
  return build(parsed.data, env);
}

const cache = new WeakMap<object, Config>();
/** parseConfig, memoised per env object (workerd passes the same env to every request of an isolate). */
export function configFor(env: object): Config {
  let c = cache.get(env);
  if (!c) {
    c = parseConfig(env as Record<string, unknown>);
    cache.set(env, c);
  }
  return c;
}
