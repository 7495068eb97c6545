import { env } from "cloudflare:test";
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  generateSecret,
  jwtVerify,
} from "jose";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import { loadKeySet } from "../../src/core/tokens/keys";
import { createSigningKeyStore } from "../../src/core/tokens/keys.store";
import { createTokenService } from "../../src/core/tokens/tokens.service";
import { createDb } from "../../src/db/client";
import type { Clock } from "../../src/lib/clock";

const clock: Clock = { now: () => Date.now() };
const subject = { userId: "u-1", sessionId: "s-1", defaultRole: "user", allowedRoles: ["user", "me"] };

function service(vars: Record<string, string>) {
  const config = parseConfig({ ENVIRONMENT: "test", ...vars });
  const keys = () =>
    loadKeySet({
      store: createSigningKeyStore(createDb(env.DB)),
      clock,
      algorithm: config.jwt.algorithm,
      privateKeys: config.jwt.privateKeys,
      signingKid: config.jwt.signingKid,
      allowDevKeys: true,
    });
  return { tokens: createTokenService({ keys, jwt: config.jwt, clock }), config };
}

describe("access tokens", () => {
  for (const alg of ["ES256", "RS256", "HS512"] as const) {
    it(`signs and verifies with ${alg}, kid in the header and the Hasura claims`, async () => {
      const { tokens } = service({ JWT_ALGORITHM: alg });
      const { token, expiresIn } = await tokens.issue(subject);
      expect(expiresIn).toBe(900);
      const header = decodeProtectedHeader(token);
      expect(header).toMatchObject({ alg, typ: "at+jwt" });
      expect(header.kid).toBeTruthy();
      const claims = await tokens.verify(token);
      expect(claims).toMatchObject({ sub: "u-1", sid: "s-1", aud: "latchkey", iss: "http://localhost:8787" });
      expect(claims["https://hasura.io/jwt/claims"]).toEqual({
        "x-hasura-user-id": "u-1",
        "x-hasura-allowed-roles": ["user", "me"],
        "x-hasura-default-role": "user",
      });
      const jwks = await tokens.jwks();
      if (alg === "HS512") expect(jwks.keys).toEqual([]);
      else {
        // An independent verifier that only has the published set accepts it.
        const { payload } = await jwtVerify(token, createLocalJWKSet(jwks as never), {
          audience: "latchkey",
        });
        expect(payload.sub).toBe("u-1");
      }
    });
  }

  it("refuses a token signed under another configured algorithm", async () => {
    const es = service({ JWT_ALGORITHM: "ES256" }).tokens;
    const hs = service({ JWT_ALGORITHM: "HS512" }).tokens;
    const { token } = await hs.issue(subject);
    await expect(es.verify(token)).rejects.toMatchObject({ code: "INVALID_TOKEN" });
  });

  it("signs with JWT_SIGNING_KID and publishes the next key before it signs", async () => {
    const a = await generateKeyPair("ES256", { extractable: true });
    const b = await generateKeyPair("ES256", { extractable: true });
    const keys = JSON.stringify({
      keys: [
        { ...(await exportJWK(a.privateKey)), kid: "current", alg: "ES256" },
        { ...(await exportJWK(b.privateKey)), kid: "next", alg: "ES256" },
      ],
    });
    const now = service({ JWT_PRIVATE_KEYS: keys }).tokens;
    const later = service({ JWT_PRIVATE_KEYS: keys, JWT_SIGNING_KID: "next" }).tokens;
    expect((await now.jwks()).keys.map((k) => (k as { kid: string }).kid)).toEqual(["current", "next"]);
    const { token } = await now.issue(subject);
    expect(decodeProtectedHeader(token).kid).toBe("current");
    // After the switch, tokens signed by the previous key still verify.
    expect((await later.verify(token)).sub).toBe("u-1");
    expect(decodeProtectedHeader((await later.issue(subject)).token).kid).toBe("next");
    for (const k of (await now.jwks()).keys as Record<string, unknown>[]) {
      expect(k).not.toHaveProperty("d");
      expect(k).toMatchObject({ use: "sig", alg: "ES256" });
    }
  });

  it("never publishes a symmetric key", async () => {
    const secret = await exportJWK(await generateSecret("HS512", { extractable: true }));
    const { tokens } = service({
      JWT_ALGORITHM: "HS512",
      JWT_PRIVATE_KEYS: JSON.stringify({ keys: [{ ...secret, kid: "h1", alg: "HS512" }] }),
    });
    expect((await tokens.jwks()).keys).toEqual([]);
    expect((await tokens.verify((await tokens.issue(subject)).token)).sid).toBe("s-1");
  });

  it("maps an expired token to TOKEN_EXPIRED", async () => {
    const { config } = service({});
    const past: Clock = { now: () => Date.now() - 3600_000 };
    const keys = () =>
      loadKeySet({
        store: createSigningKeyStore(createDb(env.DB)),
        clock,
        algorithm: "ES256",
        privateKeys: "",
        signingKid: "",
        allowDevKeys: true,
      });
    const old = createTokenService({ keys, jwt: config.jwt, clock: past });
    const fresh = createTokenService({ keys, jwt: config.jwt, clock });
    const { token } = await old.issue(subject);
    await expect(fresh.verify(token)).rejects.toMatchObject({ code: "TOKEN_EXPIRED" });
  });
});

describe("verified-token memory", () => {
  it("a token verified once is still refused after it expires", async () => {
    const config = parseConfig({ ENVIRONMENT: "test", ACCESS_TOKEN_TTL: "60" });
    let now = Date.now();
    const moving: Clock = { now: () => now };
    const keys = () =>
      loadKeySet({
        store: createSigningKeyStore(createDb(env.DB)),
        clock,
        algorithm: "ES256",
        privateKeys: "",
        signingKid: "",
        allowDevKeys: true,
      });
    const tokens = createTokenService({ keys, jwt: config.jwt, clock: moving });
    const { token } = await tokens.issue(subject);
    expect((await tokens.verify(token)).sub).toBe("u-1");
    expect((await tokens.verify(token)).sub).toBe("u-1");
    now += 60_000 + 31_000;
    await expect(tokens.verify(token)).rejects.toMatchObject({ code: "TOKEN_EXPIRED" });
  });

  it("is kept per configuration: a token of one audience never passes as another's", async () => {
    const a = service({ JWT_AUDIENCE: "app-a" }).tokens;
    const b = service({ JWT_AUDIENCE: "app-b" }).tokens;
    const { token } = await a.issue(subject);
    expect((await a.verify(token)).aud).toBe("app-a");
    await expect(b.verify(token)).rejects.toMatchObject({ code: "INVALID_TOKEN" });
  });
});
