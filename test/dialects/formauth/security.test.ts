/** formauth security: refresh reuse detection, revoked sessions, token confusion, parallel use. */
import { decodeJwt, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { CAPPED, call, uniqueEmail } from "../../support/app";
import { confirmLink } from "../../support/links";
import {
  awayFromMinuteEdge,
  burstIp,
  devSigningKey,
  json,
  lastMail,
  liveRefreshTokens,
  PASSWORD,
  sleep,
  statuses,
} from "../hbp/helpers";
import { A, confirmedUser, expectError, uniqueName } from "./helpers";

describe("refresh JWTs", () => {
  it("a rotated refresh JWT presented after the grace window ends the whole session", async () => {
    const vars = { REFRESH_REUSE_GRACE: "0" };
    const u = await confirmedUser();
    const next = await json(await call(`${A}/refresh`, { form: { refresh_token: u.refresh }, vars }));
    await sleep(5);
    expect((await call(`${A}/refresh`, { form: { refresh_token: u.refresh }, vars })).status).toBe(401);
    // The thief's replay revoked the family: the legitimate newest token is dead too.
    expect((await call(`${A}/refresh`, { form: { refresh_token: next.refresh_token }, vars })).status).toBe(
      401,
    );
  });

  it("a session revoked through another dialect cannot refresh here", async () => {
    const u = await confirmedUser();
    expect((await call("/auth/token/revoke", { method: "POST", token: u.access })).status).toBe(204);
    expect((await call(`${A}/refresh`, { form: { refresh_token: u.refresh } })).status).toBe(401);
  });

  it("a refresh JWT forged around a guessed core token, or re-signed with another key, is refused", async () => {
    const u = await confirmedUser();
    const { jwk, key } = await devSigningKey();
    const forged = await new SignJWT({ sid: "x", rt: "A".repeat(43) })
      .setProtectedHeader({ alg: "ES256", kid: jwk.kid!, typ: "rt+jwt" })
      .setIssuer("http://localhost:8787")
      .setAudience("latchkey")
      .setSubject("someone")
      .setIssuedAt()
      .setExpirationTime("1h")
      .setJti(crypto.randomUUID())
      .sign(key);
    expect((await call(`${A}/refresh`, { form: { refresh_token: forged } })).status).toBe(401);
    const hs = await new SignJWT({ rt: "A".repeat(43) })
      .setProtectedHeader({ alg: "HS256", typ: "rt+jwt" })
      .setSubject("someone")
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode("secret"));
    expect((await call(`${A}/refresh`, { form: { refresh_token: hs } })).status).toBe(401);
    // A refresh JWT is not an access token.
    expect((await call(`${A}/logout`, { method: "POST", token: u.refresh })).status).toBe(401);
  });

  it("a refresh JWT whose exp is further after its iat than REFRESH_TOKEN_IDLE_TTL is refused", async () => {
    const u = await confirmedUser();
    const { sid, rt, sub } = decodeJwt(u.refresh) as { sid: string; rt: string; sub: string };
    const { jwk, key } = await devSigningKey();
    const resign = (lifetime: number) => {
      const iat = Math.floor(Date.now() / 1000) - 5;
      return new SignJWT({ sid, rt })
        .setProtectedHeader({ alg: "ES256", kid: jwk.kid!, typ: "rt+jwt" })
        .setIssuer("http://localhost:8787")
        .setAudience("latchkey")
        .setSubject(sub)
        .setIssuedAt(iat)
        .setExpirationTime(iat + lifetime)
        .setJti(crypto.randomUUID())
        .sign(key);
    };
    const vars = { REFRESH_TOKEN_IDLE_TTL: "86400" };
    const long = await call(`${A}/refresh`, { form: { refresh_token: await resign(86401) }, vars });
    expect(long.status).toBe(401);
    // The same wrapped token with an honest lifetime still refreshes (control).
    const ok = await call(`${A}/refresh`, { form: { refresh_token: await resign(86400) }, vars });
    expect(ok.status).toBe(200);
  });

  it("30 parallel refreshes of one token within the grace window all wrap the same successor", async () => {
    const u = await confirmedUser();
    const rs = await Promise.all(
      Array.from({ length: 30 }, () => call(`${A}/refresh`, { form: { refresh_token: u.refresh } })),
    );
    expect(statuses(rs)).toEqual({ 200: 30 });
    const bodies = await Promise.all(rs.map((r) => json(r)));
    // Each answer is its own signed JWT around the one core refresh token that succeeds the old one.
    const wrapped = new Set(bodies.map((b) => decodeJwt(b.refresh_token).rt));
    expect(wrapped.size).toBe(1);
    expect(wrapped.has(decodeJwt(u.refresh).rt)).toBe(false);
    expect(await liveRefreshTokens(u.access)).toBe(1);
    // Any of the answers refreshes once more, and the session still has one live refresh token.
    const again = await call(`${A}/refresh`, { form: { refresh_token: bodies[7].refresh_token } });
    expect(again.status).toBe(200);
    expect(await liveRefreshTokens(u.access)).toBe(1);
  });
});

describe("POST /register with a taken address, ACCOUNT_EXISTENCE_HINTS off", () => {
  it("answers PENDING_CONFIRMATION as for a free address; the owner is mailed, no new account", async () => {
    const owner = await confirmedUser();
    const free = await call(`${A}/register`, {
      form: { username: uniqueName(), email: uniqueEmail(), password: PASSWORD },
    });
    const taken = await call(`${A}/register`, {
      form: { username: uniqueName(), email: owner.email, password: PASSWORD },
    });
    expect(taken.status).toBe(free.status);
    expect(await json(taken)).toEqual(await json(free));
    expect((await lastMail(owner.email, "address_taken_sign_up")).to).toBe(owner.email);
  });

  it("with AUTO_ACTIVATE_NEW_USERS: a token pair as for a new account, which works nowhere", async () => {
    const vars = { AUTO_ACTIVATE_NEW_USERS: "true" };
    const owner = await confirmedUser();
    const res = await call(`${A}/register`, {
      form: { username: uniqueName(), email: owner.email, password: PASSWORD },
      vars,
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      twoFactor: false,
    });
    expect((await call(`${A}/refresh`, { form: { refresh_token: body.refresh_token } })).status).toBe(401);
    expect((await call(`${A}/logout`, { method: "POST", token: body.access_token })).status).toBe(401);
  });

  it("a taken username stays an error (usernames are public names)", async () => {
    const owner = await confirmedUser();
    const res = await call(`${A}/register`, {
      form: { username: owner.username, email: uniqueEmail(), password: PASSWORD },
    });
    expect(res.status).toBe(409);
  });
});

describe("the confirmation link (mail scanners, link previews)", () => {
  it("HEAD and GET on the mailed link confirm nothing; the page's POST does", async () => {
    const email = uniqueEmail();
    expect(
      (await call(`${A}/register`, { form: { username: uniqueName(), email, password: PASSWORD } })).status,
    ).toBe(200);
    const link = new URL((await lastMail(email, "activation")).data.link!);
    for (const method of ["HEAD", "GET", "HEAD"]) {
      const res = await call(link.pathname + link.search, { method });
      expect(res.status).toBe(200);
      expect(res.headers.get("location")).toBeNull();
    }
    expect((await call(`${A}/login`, { form: { email, password: PASSWORD } })).status).toBe(403);
    expect((await confirmLink(link.href)).status).toBe(303);
    expect((await call(`${A}/login`, { form: { email, password: PASSWORD } })).status).toBe(200);
  });
});

describe("WWW-Authenticate on 401s (RFC 6750 §3)", () => {
  it("bare Bearer without a token, invalid_token for a bad one, none for a failed login", async () => {
    expect((await call(`${A}/logout`, { method: "POST" })).headers.get("www-authenticate")).toBe("Bearer");
    const bad = await call(`${A}/logout`, { method: "POST", token: "a.b.c" });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toBe(
      'Bearer error="invalid_token", error_description="The access token is invalid"',
    );
    const login = await call(`${A}/login`, { form: { email: uniqueEmail(), password: "wrong password" } });
    expect(login.status).toBe(401);
    expect(login.headers.get("www-authenticate")).toBeNull();
  });
});

describe("a burst of 50 logins from one IP", () => {
  it("at most 2 hash at once; the rest are refused at once: 503 BUSY, then 429 RATE_LIMITED", async () => {
    await awayFromMinuteEdge();
    const u = await confirmedUser();
    const ip = burstIp();
    const rs = await Promise.all(
      Array.from({ length: 50 }, () =>
        call(`${A}/login`, { form: { email: u.email, password: PASSWORD }, ip, vars: CAPPED }),
      ),
    );
    expect(statuses(rs)).toEqual({ 200: 2, 503: 18, 429: 30 });
    const busy = rs.find((r) => r.status === 503)!;
    expect(busy.headers.get("retry-after")).toBe("1");
    await expectError(busy, 503, "BUSY", "The server is busy. Try again.");
    await expectError(
      rs.find((r) => r.status === 429)!,
      429,
      "RATE_LIMITED",
      "Too many requests. Try again later.",
    );
  });
});
