import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config";
import { RATE_LIMIT_BINDINGS } from "../../src/core/rate-limit/bindings";
import { deriveKey } from "../../src/lib/derive";
import { fromBase64Url, toBase64Url } from "../../src/lib/encoding";

/** 32 bytes 0x00..0x1f, base64url: a valid LATCHKEY_SECRET with known derived keys. */
const ROOT = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const KEYS = '{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","alg":"ES256","x":"x","y":"y","d":"d"}]}';
/** A complete production configuration: each test below breaks one thing in it. */
const PROD: Record<string, string> = {
  ENVIRONMENT: "production",
  PUBLIC_URL: "https://auth.example.com",
  LATCHKEY_SECRET: ROOT,
  JWT_PRIVATE_KEYS: KEYS,
  MAIL_TRANSPORT: "http",
  MAIL_HTTP_KEY: "re_mail_key_value",
  TURNSTILE_SECRET_KEY: "turnstile-secret-value",
};
/** The Rate Limiting bindings wrangler.toml declares (production refuses to start without them). */
const RATE_LIMITERS = Object.fromEntries(
  Object.values(RATE_LIMIT_BINDINGS).map((name) => [name, { limit: async () => ({ success: true }) }]),
);
const prod = (
  vars: Record<string, string | undefined>,
  bindings: Record<string, unknown> = RATE_LIMITERS,
) => {
  const all: Record<string, string> = { ...PROD };
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete all[k];
    else all[k] = v;
  }
  return parseConfig({ ...bindings, ...all });
};
/** The ConfigError message for `vars` on top of PROD; fails the test when it parses. */
function prodError(vars: Record<string, string | undefined>): string {
  try {
    prod(vars);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`accepted in production: ${JSON.stringify(vars)}`);
}

// Outside production no secrets are required, which keeps these cases about the key under test.
const nonProd = (vars: Record<string, string>) => parseConfig({ ENVIRONMENT: "test", ...vars });

describe("parseConfig", () => {
  it("applies documented defaults", () => {
    const c = prod({ ENVIRONMENT: undefined });
    expect(c.environment).toBe("production");
    expect(c.jwt.algorithm).toBe("ES256");
    expect(c.jwt.accessTtl).toBe(900);
    expect(c.jwt.issuer).toBe("https://auth.example.com");
    // Everything user-facing follows PUBLIC_URL unless set.
    expect(c.redirects.success).toBe("https://auth.example.com/");
    expect(c.webauthn.rpId).toBe("auth.example.com");
    expect(c.webauthn.origins).toEqual(["https://auth.example.com"]);
    expect(c.mail.from).toBe("Latchkey <no-reply@auth.example.com>");
    expect(c.features).toMatchObject({
      autoActivate: false,
      verifyEmails: true,
      magicLink: false,
      selfDelete: false,
      existenceHints: false,
    });
    expect(c.roles).toEqual({ defaultRole: "user", defaultAllowed: ["user"], allowed: ["user"] });
    expect(c.passwords.scrypt).toEqual({ logN: 14, r: 8, p: 5 });
    // Two requests may hash at once per isolate (the flood tests use this value as CAPPED).
    expect(c.passwords.maxPending).toBe(2);
    expect(c.passwords.breach).toEqual({
      enabled: false,
      rangeUrl: "https://api.pwnedpasswords.com/range/",
      timeoutMs: 2000,
    });
  });

  it("names the offending key and never echoes its value", () => {
    const secret = "s3cr3t-value-that-must-not-leak";
    expect(() => parseConfig({ ACCESS_TOKEN_TTL: secret })).toThrowError(ConfigError);
    try {
      parseConfig({ ACCESS_TOKEN_TTL: secret });
    } catch (e) {
      expect((e as Error).message).toMatch(/^ACCESS_TOKEN_TTL:/);
      expect((e as Error).message).not.toContain(secret);
    }
    expect(() => parseConfig({ JWT_ALGORITHM: "none" })).toThrowError(/^JWT_ALGORITHM:/);
    expect(() => parseConfig({ MFA_ENABLED: "yes" })).toThrowError(/^MFA_ENABLED:/);
    expect(() => parseConfig({ DIALECTS: "hbp,soap" })).toThrowError(/^DIALECTS:/);
    expect(() => parseConfig({ PUBLIC_URL: "not a url" })).toThrowError(/^PUBLIC_URL:/);
  });

  it("requires a signing key in production but not in development", () => {
    expect(prodError({ JWT_PRIVATE_KEYS: undefined })).toMatch(/^JWT_PRIVATE_KEYS: required in production/);
    const dev = parseConfig({ ENVIRONMENT: "development" });
    expect(dev.isDevelopment).toBe(true);
    expect(dev.publicUrl).toBe("http://localhost:8787");
    expect(dev.webauthn).toMatchObject({ rpId: "localhost", origins: ["http://localhost:8787"] });
  });

  it("keeps the role allow-list consistent", () => {
    const c = nonProd({ DEFAULT_ALLOWED_USER_ROLES: "user,me", ALLOWED_USER_ROLES: "user,me,editor" });
    expect(c.roles).toEqual({
      defaultRole: "user",
      defaultAllowed: ["user", "me"],
      allowed: ["user", "me", "editor"],
    });
    expect(() => nonProd({ DEFAULT_ALLOWED_USER_ROLES: "me" })).toThrowError(/^DEFAULT_ALLOWED_USER_ROLES:/);
    expect(() => nonProd({ ALLOWED_USER_ROLES: "editor" })).toThrowError(/^ALLOWED_USER_ROLES:/);
  });

  it("drops the Hasura namespace when the hbp dialect is off", () => {
    expect(nonProd({ DIALECTS: "hanko" }).jwt.claimsNamespace).toBeNull();
    expect(nonProd({}).jwt.claimsNamespace).toBe("https://hasura.io/jwt/claims");
  });

  it("in production refuses each development value and missing secret, naming the key and why", () => {
    const cases: [Record<string, string | undefined>, RegExp][] = [
      [{ PUBLIC_URL: undefined }, /^PUBLIC_URL: required in production/],
      [{ PUBLIC_URL: "http://auth.example.com" }, /^PUBLIC_URL: must be an https: URL/],
      [{ PUBLIC_URL: "https://localhost:8787" }, /^PUBLIC_URL: must not point at localhost/],
      [{ PUBLIC_URL: "https://127.0.0.1" }, /^PUBLIC_URL: must not point at localhost/],
      [{ PUBLIC_URL: "https://[::1]" }, /^PUBLIC_URL: must not point at localhost/],
      [{ REDIRECT_URL_SUCCESS: "http://localhost:8787/" }, /^REDIRECT_URL_SUCCESS: must be an https: URL/],
      [{ PRODUCT_LOGO_URL: "http://cdn.example.com/logo.png" }, /^PRODUCT_LOGO_URL: must be an https: URL/],
      [
        { REDIRECT_URL_ERROR: "https://app.localhost/error" },
        /^REDIRECT_URL_ERROR: must not point at localhost/,
      ],
      [
        { WEBAUTHN_ORIGINS: "http://localhost:8787", WEBAUTHN_RP_ID: "localhost" },
        /^WEBAUTHN_ORIGINS: must be an https: URL/,
      ],
      [
        { CORS_ORIGINS: "https://app.example.com,http://localhost:5173" },
        /^CORS_ORIGINS: must be an https: URL/,
      ],
      [
        { OAUTH_ALLOWED_REDIRECTS: "http://app.example.com/cb" },
        /^OAUTH_ALLOWED_REDIRECTS: must be an https:/,
      ],
      [{ VAULT_VERIFY_EMAIL_URL: "http://localhost/verify/" }, /^VAULT_VERIFY_EMAIL_URL: must be an https:/],
      [{ MAIL_TRANSPORT: undefined }, /^MAIL_TRANSPORT: outbox keeps mail in D1/],
      [{ MAIL_TRANSPORT: "outbox" }, /^MAIL_TRANSPORT: outbox keeps mail in D1/],
      [
        { MAIL_FROM: "Latchkey <no-reply@localhost>" },
        /^MAIL_FROM: needs a sender address on your own domain/,
      ],
      [{ MAIL_HTTP_KEY: undefined }, /^MAIL_HTTP_KEY: required by MAIL_TRANSPORT=http/],
      [{ MAIL_TRANSPORT: "cloudflare" }, /^MAIL_TRANSPORT: cloudflare needs a send_email binding/],
      [{ LATCHKEY_SECRET: undefined }, /^LATCHKEY_SECRET: required in production/],
      [{ LATCHKEY_SECRET: "c2hvcnQ" }, /^LATCHKEY_SECRET: must be at least 32 random bytes/],
      [{ LATCHKEY_SECRET: `${"x".repeat(40)}!` }, /^LATCHKEY_SECRET: must be at least 32 random bytes/],
      [{ TOTP_ENCRYPTION_KEY: "c2hvcnQ" }, /^TOTP_ENCRYPTION_KEY: must be at least 32 random bytes/],
      [{ JWT_PRIVATE_KEYS: "{not json" }, /^JWT_PRIVATE_KEYS: not valid JSON/],
      [
        { JWT_PRIVATE_KEYS: '{"keys":[{"kty":"EC"}]}' },
        /^JWT_PRIVATE_KEYS: every key needs a kid and an alg/,
      ],
      [
        { TURNSTILE_SECRET_KEY: undefined },
        /^TURNSTILE_SECRET_KEY: required in production while the vault dialect/,
      ],
      [
        { OAUTH_GITHUB_CLIENT_ID: "Iv1.abc" },
        /^OAUTH_GITHUB_CLIENT_SECRET: required with OAUTH_GITHUB_CLIENT_ID/,
      ],
      [{ OAUTH_GOOGLE_CLIENT_ID: "123.apps" }, /^OAUTH_GOOGLE_CLIENT_SECRET: required/],
    ];
    for (const [vars, expected] of cases) {
      const message = prodError(vars);
      expect(message, JSON.stringify(vars)).toMatch(expected);
      for (const v of Object.values({ ...PROD, ...vars }))
        if (v && v.length > 12 && !v.startsWith("http")) expect(message).not.toContain(v);
    }
    // Without vault no captcha secret is needed; the same values pass in development.
    expect(prod({ TURNSTILE_SECRET_KEY: undefined, DIALECTS: "hbp,hanko" }).dialects).toEqual([
      "hbp",
      "hanko",
    ]);
    expect(
      parseConfig({
        ENVIRONMENT: "development",
        PUBLIC_URL: "http://localhost:9000",
        MAIL_TRANSPORT: "outbox",
      }).publicUrl,
    ).toBe("http://localhost:9000");
  });

  it("in production needs every Rate Limiting binding, naming the missing one; elsewhere the isolate counts alone", () => {
    for (const name of Object.values(RATE_LIMIT_BINDINGS)) {
      const { [name]: _, ...without } = RATE_LIMITERS;
      let message = "";
      try {
        prod({}, without);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        message = (e as Error).message;
      }
      expect(message).toBe(
        `${name}: production needs this Rate Limiting binding for the per-IP limits ([[ratelimits]] in wrangler.toml)`,
      );
      // A binding that is not one (a variable of that name) is refused too.
      expect(() => prod({ [name]: "x" }, without)).toThrowError(new RegExp(`^${name}: production needs`));
    }
    // Load tests turn the limits off, and need no binding then; outside production none is needed.
    expect(prod({ RATE_LIMITS_ENABLED: "false" }, {}).limits.rateLimits).toBe(false);
    expect(nonProd({}).limits.rateLimits).toBe(true);
  });

  it("checks that the WebAuthn RP id covers every origin, in every environment", () => {
    expect(() =>
      nonProd({ WEBAUTHN_RP_ID: "example.com", WEBAUTHN_ORIGINS: "https://auth.example.org" }),
    ).toThrowError(/^WEBAUTHN_RP_ID: must be the host of every WEBAUTHN_ORIGINS origin/);
    expect(
      nonProd({
        WEBAUTHN_RP_ID: "example.com",
        WEBAUTHN_ORIGINS: "https://auth.example.com,https://example.com",
      }).webauthn.origins,
    ).toEqual(["https://auth.example.com", "https://example.com"]);
  });

  it("derives each key from LATCHKEY_SECRET with its own label, stable across versions", () => {
    const root = fromBase64Url(ROOT);
    // Known answers computed independently (HKDF-SHA-256, RFC 5869, with Python's hmac).
    expect(toBase64Url(deriveKey(root, "totp-encryption"))).toBe(
      "frwHfWve2DwGcHM7RGoH5vd5JH4QsXdqRCquc2ZyQbk",
    );
    expect(toBase64Url(deriveKey(root, "passcode-hmac"))).toBe("ykl9dXJR-HGDYB2HSSqd0DNcJzWfJhy_D-7lQhyw2ug");
    expect(toBase64Url(deriveKey(root, "refresh-successor"))).toBe(
      "HBAzM798sAMoNsw07Quacg2WcqFP7kers6DJoPSqTJ4",
    );
    const c = prod({});
    expect(c.totp.encryptionKey).toBe("frwHfWve2DwGcHM7RGoH5vd5JH4QsXdqRCquc2ZyQbk");
    expect(c.passcodes.secret).toBe("ykl9dXJR-HGDYB2HSSqd0DNcJzWfJhy_D-7lQhyw2ug");
    // Another root gives other keys; separate secrets still override the derived ones.
    const other = prod({ LATCHKEY_SECRET: toBase64Url(new Uint8Array(32).fill(7)) });
    expect(other.totp.encryptionKey).not.toBe(c.totp.encryptionKey);
    expect(other.passcodes.secret).not.toBe(c.passcodes.secret);
    const own = toBase64Url(new Uint8Array(32).fill(9));
    const overridden = prod({ TOTP_ENCRYPTION_KEY: own, PASSCODE_SECRET: own });
    expect(overridden.totp.encryptionKey).toBe(own);
    expect(overridden.passcodes.secret).toBe(own);
    // Outside production a fixed development root stands in, so nothing needs setting up.
    const dev = nonProd({});
    expect(dev.totp.encryptionKey).toBe(nonProd({}).totp.encryptionKey);
    expect(dev.totp.encryptionKey).not.toBe(c.totp.encryptionKey);
  });
});

describe("parseConfig: SAML", () => {
  const provider = {
    domain: "Acme.example",
    idp_entity_id: "https://idp.acme.example",
    sso_url: "https://idp.acme.example/sso",
    certificates: ["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"],
  };
  it("parses SAML_PROVIDERS with secure defaults", () => {
    const c = nonProd({ SAML_PROVIDERS: JSON.stringify([provider]) });
    expect(c.saml.providers).toEqual([
      {
        domain: "acme.example",
        name: "acme.example",
        idpEntityId: "https://idp.acme.example",
        ssoUrl: "https://idp.acme.example/sso",
        certificates: provider.certificates,
        metadataUrl: null,
        attributeMap: {},
        skipEmailVerification: false,
        signRequests: true,
        requireSignedResponse: false,
        allowedRedirects: [],
      },
    ]);
    expect(c.saml.spEntityId).toBe("http://localhost:8787/saml/metadata");
    expect(c.saml.clockSkewMs).toBe(60_000);
    expect(nonProd({}).saml.providers).toEqual([]);
  });
  it("names the bad field, refuses duplicates and unknown fields", () => {
    const bad = (v: unknown) => () => nonProd({ SAML_PROVIDERS: JSON.stringify(v) });
    expect(bad([{ ...provider, certificates: [] }])).toThrowError(/^SAML_PROVIDERS: 0\.certificates:/);
    expect(bad([{ ...provider, sso_url: "nope" }])).toThrowError(/^SAML_PROVIDERS: 0\.sso_url:/);
    expect(bad([provider, { ...provider, domain: "ACME.example" }])).toThrowError(/same domain/);
    expect(bad([{ ...provider, trust_keyinfo: true }])).toThrowError(/^SAML_PROVIDERS:/);
    expect(() => nonProd({ SAML_PROVIDERS: "[" })).toThrowError(/^SAML_PROVIDERS: not valid JSON/);
  });
  it("production needs the SP key and certificate while providers are set", () => {
    expect(prodError({ SAML_PROVIDERS: JSON.stringify([provider]) })).toMatch(
      /^SAML_SP_PRIVATE_KEY: required/,
    );
  });
});

describe("PAGES_PREFIX", () => {
  it("defaults to the origin root and takes a path", () => {
    expect(nonProd({}).pages.prefix).toBe("");
    expect(nonProd({ PAGES_PREFIX: "/id" }).pages.prefix).toBe("/id");
  });
  it.each(["id", "/id/", "/../x", "/a b"])("refuses %s", (v) => {
    expect(() => nonProd({ PAGES_PREFIX: v })).toThrowError(/^PAGES_PREFIX/);
  });
  it.each(["/auth", "/api/pages", "/directus", "/.well-known", "/v1"])(
    "refuses %s, a dialect's path",
    (v) => {
      expect(() => nonProd({ PAGES_PREFIX: v })).toThrowError(/^PAGES_PREFIX: \/[^ ]+ belongs to a dialect/);
    },
  );
});
