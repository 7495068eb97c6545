/** api/hbp.txt, GET /auth/jwks and Service: GET /health. */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { activeUser, call, json } from "./helpers";

describe("GET /auth/jwks", () => {
  it("publishes the public signing key, cacheable, with no private members", async () => {
    await activeUser();
    const res = await call("/auth/jwks");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=3600");
    const { keys } = await json(res);
    expect(keys.length).toBeGreaterThanOrEqual(1);
    for (const k of keys) {
      expect(k).toMatchObject({ kid: expect.any(String), use: "sig", alg: "ES256", kty: "EC", crv: "P-256" });
      expect(k).not.toHaveProperty("d");
    }
  });

  it("an access token verifies through it with an independent jose verifier", async () => {
    const s = await activeUser();
    const jwks = createLocalJWKSet(await json(await call("/auth/jwks")));
    const header = decodeProtectedHeader(s.jwt);
    expect(header).toMatchObject({ alg: "ES256", typ: "at+jwt", kid: expect.any(String) });
    const { payload } = await jwtVerify(s.jwt, jwks, {
      algorithms: ["ES256"],
      issuer: "http://localhost:8787",
      audience: "latchkey",
    });
    expect(payload).toMatchObject({
      sub: s.userId,
      sid: expect.any(String),
      jti: expect.any(String),
      "https://hasura.io/jwt/claims": {
        "x-hasura-user-id": s.userId,
        "x-hasura-allowed-roles": ["user"],
        "x-hasura-default-role": "user",
      },
    });
    expect(payload.exp! - payload.iat!).toBe(900);
  });

  it("with JWT_ALGORITHM=RS256 publishes an RSA key that verifies RS256 tokens", async () => {
    const vars = { JWT_ALGORITHM: "RS256" };
    const s = await activeUser(vars);
    const { keys } = await json(await call("/auth/jwks", { vars }));
    expect(keys[0]).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig" });
    expect(keys[0]).not.toHaveProperty("d");
    const { protectedHeader } = await jwtVerify(s.jwt, createLocalJWKSet({ keys }), {
      algorithms: ["RS256"],
    });
    expect(protectedHeader.alg).toBe("RS256");
  });

  it("with JWT_ALGORITHM=HS512 publishes no key (the secret stays secret)", async () => {
    const vars = { JWT_ALGORITHM: "HS512" };
    await activeUser(vars);
    expect(await json(await call("/auth/jwks", { vars }))).toEqual({ keys: [] });
  });
});

describe("GET /health", () => {
  // api/hbp.txt says 204; a readable JSON body instead (its clients only check for a 2xx).
  it("answers 200 {status: ok}", async () => {
    const res = await call("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("is 404 when the hbp dialect is off", async () => {
    const res = await call("/health", { vars: { DIALECTS: "hanko" } });
    expect(res.status).toBe(404);
  });
});

describe("unknown /auth routes", () => {
  it("answer a Boom 404", async () => {
    const res = await call("/auth/nope");
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ statusCode: 404, error: "Not Found", message: "Not Found" });
  });
});
