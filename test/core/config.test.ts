import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config";

// Outside production no secrets are required, which keeps these cases about the key under test.
const nonProd = (vars: Record<string, string>) => parseConfig({ ENVIRONMENT: "test", ...vars });

describe("parseConfig", () => {
  it("applies documented defaults", () => {
    const c = parseConfig({
      JWT_PRIVATE_KEYS: '{"keys":[]}',
      TOTP_ENCRYPTION_KEY: "k",
      PASSCODE_SECRET: "k",
    });
    expect(c.environment).toBe("production");
    expect(c.jwt.algorithm).toBe("ES256");
    expect(c.jwt.accessTtl).toBe(900);
    expect(c.jwt.issuer).toBe("http://localhost:8787");
    expect(c.features).toMatchObject({
      autoActivate: false,
      verifyEmails: true,
      magicLink: false,
      selfDelete: false,
      existenceHints: false,
    });
    expect(c.roles).toEqual({ defaultRole: "user", defaultAllowed: ["user"], allowed: ["user"] });
    expect(c.passwords.scrypt).toEqual({ logN: 14, r: 8, p: 5 });
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
    expect(() => parseConfig({ ENVIRONMENT: "production", MFA_ENABLED: "false" })).toThrowError(
      /^JWT_PRIVATE_KEYS:/,
    );
    expect(parseConfig({ ENVIRONMENT: "development" }).isDevelopment).toBe(true);
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
});
