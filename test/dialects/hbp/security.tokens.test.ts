/**
 * Access tokens the HBP routes must refuse: missing, malformed, expired, wrong algorithm (`none`,
 * HS256 keyed with the public JWK), wrong issuer/audience/type, and tokens of ended sessions.
 */
import { base64url, decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import {
  activeUser,
  call,
  devSigningKey,
  expectBoom,
  forgeWithDevKey,
  lastMail,
  login,
  PASSWORD,
  tokenWorks,
} from "./helpers";

const INVALID = "Invalid or expired JWT token.";
const now = () => Math.floor(Date.now() / 1000);

/** A route that needs a live access token and has no side effect when refused. */
const probe = (token: string | undefined, headers: Record<string, string> = {}) =>
  call("/auth/mfa/generate", { json: {}, token, headers });

const b64 = (o: unknown) => base64url.encode(JSON.stringify(o));

describe("access tokens on authenticated routes", () => {
  it("a valid token is accepted (control)", async () => {
    const s = await activeUser();
    expect((await probe(s.jwt)).status).toBe(200);
  });

  it("missing: 401 Not logged in", async () => {
    await expectBoom(await probe(undefined), 401, "Not logged in");
  });

  it("a non-Bearer Authorization header counts as missing", async () => {
    const s = await activeUser();
    await expectBoom(await probe(undefined, { authorization: `Basic ${s.jwt}` }), 401, "Not logged in");
  });

  it("malformed: 401", async () => {
    for (const t of ["abc", "a.b.c", "x.y", `${"a".repeat(8000)}.b.c`, "eyJhbGciOiJFUzI1NiJ9..."])
      await expectBoom(await probe(t), 401, INVALID);
    // An Authorization header over 8 KB is not read at all.
    await expectBoom(await probe(`${"a".repeat(9000)}.b.c`), 401, "Not logged in");
  });

  it("a tampered payload: 401", async () => {
    const s = await activeUser();
    const [h, , sig] = s.jwt.split(".");
    const claims = decodeJwt(s.jwt);
    const forged = `${h}.${b64({ ...claims, "https://hasura.io/jwt/claims": { "x-hasura-default-role": "admin" } })}.${sig}`;
    await expectBoom(await probe(forged), 401, INVALID);
  });

  it("expired (signed with the real key, exp in the past): 401", async () => {
    const s = await activeUser();
    const { sid } = decodeJwt(s.jwt) as { sid: string };
    const control = await forgeWithDevKey({ sub: s.userId, sid, iat: now() - 10, exp: now() + 600 });
    expect((await probe(control)).status).toBe(200);
    const expired = await forgeWithDevKey({ sub: s.userId, sid, iat: now() - 1000, exp: now() - 100 });
    await expectBoom(await probe(expired), 401, INVALID);
  });

  it("expired just past the 30 s clock leeway: 401", async () => {
    const s = await activeUser();
    const { sid } = decodeJwt(s.jwt) as { sid: string };
    const t = await forgeWithDevKey({ sub: s.userId, sid, iat: now() - 100, exp: now() - 31 });
    await expectBoom(await probe(t), 401, INVALID);
  });

  it("issued too long ago (iat older than the TTL allows), though exp is in the future: 401", async () => {
    const s = await activeUser();
    const { sid } = decodeJwt(s.jwt) as { sid: string };
    const t = await forgeWithDevKey({ sub: s.userId, sid, iat: now() - 86_400, exp: now() + 600 });
    await expectBoom(await probe(t), 401, INVALID);
  });

  it("alg none: 401", async () => {
    const s = await activeUser();
    const header = decodeProtectedHeader(s.jwt);
    const claims = decodeJwt(s.jwt);
    for (const alg of ["none", "None", "NONE"]) {
      const t = `${b64({ ...header, alg })}.${b64(claims)}.`;
      await expectBoom(await probe(t), 401, INVALID);
    }
  });

  it("HS256 signed with the public JWK as the secret: 401", async () => {
    const s = await activeUser();
    const { jwk } = await devSigningKey();
    const { d: _d, ...pub } = jwk;
    const claims = decodeJwt(s.jwt);
    const header = decodeProtectedHeader(s.jwt);
    const secrets = [
      new TextEncoder().encode(JSON.stringify(pub)),
      new TextEncoder().encode(JSON.stringify({ ...pub, kid: header.kid, alg: "ES256", use: "sig" })),
      base64url.decode(pub.x!),
    ];
    for (const secret of secrets) {
      const t = await new SignJWT(claims).setProtectedHeader({ ...header, alg: "HS256" }).sign(secret);
      await expectBoom(await probe(t), 401, INVALID);
    }
  });

  it("signed by another key with the real kid: 401", async () => {
    const s = await activeUser();
    const { privateKey } = await generateKeyPair("ES256");
    const t = await new SignJWT(decodeJwt(s.jwt))
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: decodeProtectedHeader(s.jwt).kid })
      .sign(privateKey);
    await expectBoom(await probe(t), 401, INVALID);
  });

  it("an unknown kid: 401", async () => {
    const s = await activeUser();
    const { key } = await devSigningKey();
    const t = await new SignJWT(decodeJwt(s.jwt))
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "someone-else" })
      .sign(key);
    await expectBoom(await probe(t), 401, INVALID);
  });

  it("wrong issuer, audience or type (real key): 401", async () => {
    const s = await activeUser();
    const { sid } = decodeJwt(s.jwt) as { sid: string };
    const base = { sub: s.userId, sid, iat: now() - 5, exp: now() + 600 };
    await expectBoom(
      await probe(await forgeWithDevKey({ ...base, iss: "https://evil.example" })),
      401,
      INVALID,
    );
    await expectBoom(await probe(await forgeWithDevKey({ ...base, aud: "another-api" })), 401, INVALID);
    await expectBoom(await probe(await forgeWithDevKey({ ...base, typ: "JWT" })), 401, INVALID);
  });

  it("a real-key token whose exp is further after its iat than the longest configured lifetime: 401", async () => {
    const s = await activeUser();
    const { sid } = decodeJwt(s.jwt) as { sid: string };
    const iat = now() - 5;
    // The longest lifetime is max(ACCESS_TOKEN_TTL, HANKO_SESSION_LIFETIME) = 3600 s by default.
    expect((await probe(await forgeWithDevKey({ sub: s.userId, sid, iat, exp: iat + 3600 }))).status).toBe(
      200,
    );
    for (const exp of [iat + 3601, iat + 10 * 365 * 86400])
      await expectBoom(await probe(await forgeWithDevKey({ sub: s.userId, sid, iat, exp })), 401, INVALID);
  });

  it("a real-key token naming another user's session: 401", async () => {
    const a = await activeUser();
    const b = await activeUser();
    const { sid } = decodeJwt(b.jwt) as { sid: string };
    const t = await forgeWithDevKey({ sub: a.userId, sid, iat: now() - 5, exp: now() + 600 });
    await expectBoom(await probe(t), 401, INVALID);
  });
});

describe("tokens of ended sessions", () => {
  it("after logout: 401", async () => {
    const s = await activeUser();
    expect((await call(`/auth/logout?refresh_token=${s.refresh}`, { json: {} })).status).toBe(204);
    await expectBoom(await probe(s.jwt), 401, INVALID);
  });

  it("after /auth/token/revoke: every session's token is 401", async () => {
    const s = await activeUser();
    const other = await login(s.email);
    expect((await call("/auth/token/revoke", { method: "POST", token: other.jwt_token })).status).toBe(204);
    await expectBoom(await probe(s.jwt), 401, INVALID);
    await expectBoom(await probe(other.jwt_token), 401, INVALID);
  });

  it("after a password change: the other sessions' tokens are 401", async () => {
    const s = await activeUser();
    const other = await login(s.email);
    await call("/auth/change-password", {
      json: { old_password: PASSWORD, new_password: "a brand new passphrase" },
      token: s.jwt,
    });
    await expectBoom(await probe(other.jwt_token), 401, INVALID);
    expect(await tokenWorks(s.jwt)).toBe(400);
  });

  it("after a password reset: every token is 401", async () => {
    const s = await activeUser();
    await call("/auth/change-password/request", { json: { email: s.email } });
    const { ticket } = (await lastMail(s.email, "password_reset")).data;
    await call("/auth/change-password/change", { json: { ticket, new_password: "a brand new passphrase" } });
    await expectBoom(await probe(s.jwt), 401, INVALID);
  });

  it("after the account is deleted: 401", async () => {
    const s = await activeUser();
    await call("/auth/delete", { method: "POST", token: s.jwt, vars: { ALLOW_USER_SELF_DELETE: "true" } });
    await expectBoom(await probe(s.jwt), 401, INVALID);
  });
});

describe("WWW-Authenticate on 401s (RFC 6750 §3)", () => {
  const challenge = (res: Response) => res.headers.get("www-authenticate");

  it("bare Bearer without a token, invalid_token for a bad or expired one", async () => {
    const s = await activeUser();
    const { sid } = decodeJwt(s.jwt) as { sid: string };
    expect(challenge(await probe(undefined))).toBe("Bearer");
    expect(challenge(await probe("a.b.c"))).toBe(
      'Bearer error="invalid_token", error_description="The access token is invalid"',
    );
    const expired = await forgeWithDevKey({ sub: s.userId, sid, iat: now() - 1000, exp: now() - 100 });
    expect(challenge(await probe(expired))).toBe(
      'Bearer error="invalid_token", error_description="The access token expired"',
    );
    expect(
      challenge(await call("/storage/o/user/x/f.txt", { headers: { authorization: "Basic abc" } })),
    ).toBe('Bearer error="invalid_token", error_description="The access token is invalid"');
    expect(challenge(await call("/storage/m/user/x/f.txt", { token: "a.b.c" }))).toBe(
      'Bearer error="invalid_token", error_description="The access token is invalid"',
    );
    expect(challenge(await probe(s.jwt))).toBeNull();
  });

  it("not on 401s that are not about the bearer token", async () => {
    const s = await activeUser();
    const wrong = await call("/auth/login", { json: { email: s.email, password: "wrong password" } });
    expect(wrong.status).toBe(401);
    expect(challenge(wrong)).toBeNull();
    const oldPw = await call("/auth/change-password", {
      json: { old_password: "not it at all", new_password: "another good password" },
      token: s.jwt,
    });
    expect(oldPw.status).toBe(401);
    expect(challenge(oldPw)).toBeNull();
    const refresh = await call("/auth/token/refresh?refresh_token=nope");
    expect(refresh.status).toBe(401);
    expect(challenge(refresh)).toBeNull();
  });
});
