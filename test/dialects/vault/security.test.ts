/**
 * vault security: exactly one default team under parallel verification, refresh with expired
 * tokens only within limits, reuse detection, revoked sessions, dialect gates.
 */
import { env } from "cloudflare:test";
import { decodeJwt } from "jose";
import { describe, expect, it, vi } from "vitest";
import { TICKET_TTL } from "../../../src/core/accounts/accounts.service";
import { createTeamService } from "../../../src/core/teams/teams.service";
import { createTeamStore } from "../../../src/core/teams/teams.store";
import { createDb } from "../../../src/db/client";
import { systemClock } from "../../../src/lib/clock";
import { CAPPED, call, uniqueEmail } from "../../support/app";
import { testClock } from "../../support/clock";
import {
  awayFromMinuteEdge,
  burstIp,
  forgeWithDevKey,
  json,
  lastMail,
  PASSWORD,
  sleep,
  statuses,
  tokenWorks,
} from "../hbp/helpers";
import { expectVaultError, registered, V, verified } from "./helpers";

const count = async (sql: string, ...args: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...args)
    .first<{ n: number }>())!.n;

describe("default team", () => {
  it("30 parallel openings of one verification link: one 200, one team, one project", async () => {
    const r = await registered();
    const rs = await Promise.all(Array.from({ length: 30 }, () => call(r.verifyPath)));
    expect(statuses(rs)).toEqual({ 200: 1, 401: 29 });
    expect(await count("SELECT COUNT(*) AS n FROM teams WHERE owner_id = ?", r.userId)).toBe(1);
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM projects WHERE team_id IN (SELECT id FROM teams WHERE owner_id = ?)",
        r.userId,
      ),
    ).toBe(1);
  });

  it("30 parallel ensureDefault calls for one owner create one team and one project", async () => {
    const r = await registered();
    const teams = createTeamService({ store: createTeamStore(createDb(env.DB)), clock: systemClock });
    const results = await Promise.all(Array.from({ length: 30 }, () => teams.ensureDefault(r.userId, "T")));
    expect(new Set(results.map((t) => t.id)).size).toBe(1);
    expect(new Set(results.map((t) => t.projectId)).size).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM teams WHERE owner_id = ?", r.userId)).toBe(1);
  });
});

describe("GET /api/refresh limits", () => {
  it("accepts an expired userToken of a live session", async () => {
    const v = await verified();
    const now = Math.floor(Date.now() / 1000);
    const expired = await forgeWithDevKey({ sub: v.userId, sid: v.sid, iat: now - 1000, exp: now - 100 });
    const res = await call(`${V}/refresh`, { token: expired });
    expect(res.status).toBe(200);
    expect(await tokenWorks((await json(res)).userToken)).toBe(400);
  });

  it("refuses a token older than the refresh idle lifetime", async () => {
    const v = await verified();
    const now = Math.floor(Date.now() / 1000);
    const old = await forgeWithDevKey({
      sub: v.userId,
      sid: v.sid,
      iat: now - 8 * 86_400,
      exp: now - 8 * 86_400 + 900,
    });
    expect((await call(`${V}/refresh`, { token: old })).status).toBe(401);
  });

  it("a userToken is exchanged once: presented again after the grace window, the session ends", async () => {
    const vars = { REFRESH_REUSE_GRACE: "0" };
    const v = await verified();
    const next = await json(await call(`${V}/refresh`, { token: v.userToken, vars }));
    await sleep(5);
    expect((await call(`${V}/refresh`, { token: v.userToken, vars })).status).toBe(401);
    expect(await tokenWorks(next.userToken)).toBe(401);
    expect((await call(`${V}/refresh`, { token: next.userToken, vars })).status).toBe(401);
  });

  it("30 parallel refreshes within the grace window all get the same successor token", async () => {
    const v = await verified();
    const rs = await Promise.all(
      Array.from({ length: 30 }, () => call(`${V}/refresh`, { token: v.userToken })),
    );
    expect(statuses(rs)).toEqual({ 200: 30 });
    const tokens = (await Promise.all(rs.map((r) => json(r)))).map((b) => b.userToken as string);
    // One successor: the same claims (jti, iat, exp) in every answer, so one exchange of it is allowed.
    const claims = new Set(
      tokens.map((t) => {
        const { jti, iat, exp, sid, sub } = decodeJwt(t);
        return JSON.stringify({ jti, iat, exp, sid, sub });
      }),
    );
    expect(claims.size).toBe(1);
    expect(decodeJwt(tokens[0]!).jti).not.toBe(decodeJwt(v.userToken).jti);
    // Exchanging two copies of the successor still gives one next token, not two branches.
    const [a, b] = await Promise.all([
      call(`${V}/refresh`, { token: tokens[0]! }),
      call(`${V}/refresh`, { token: tokens[29]! }),
    ]);
    const next = await Promise.all([json(a), json(b)]);
    expect(decodeJwt(next[0].userToken).jti).toBe(decodeJwt(next[1].userToken).jti);
    expect(decodeJwt(next[0].userToken).jti).not.toBe(decodeJwt(tokens[0]!).jti);
  });

  it("a session revoked through another dialect cannot refresh here, even with an unexpired token", async () => {
    const v = await verified();
    expect((await call("/auth/token/revoke", { method: "POST", token: v.userToken })).status).toBe(204);
    expect((await call(`${V}/refresh`, { token: v.userToken })).status).toBe(401);
  });

  it("a vaultToken or a token with a foreign sid is refused", async () => {
    const v = await verified();
    expect((await call(`${V}/refresh`, { token: v.vaultToken })).status).toBe(401);
    const other = await verified();
    const now = Math.floor(Date.now() / 1000);
    const mixed = await forgeWithDevKey({ sub: v.userId, sid: other.sid, iat: now, exp: now + 900 });
    expect((await call(`${V}/refresh`, { token: mixed })).status).toBe(401);
  });
});

describe("one-time links", () => {
  it("an expired reset token is refused, and 30 parallel uses of a live one succeed once", async () => {
    const v = await verified();
    await call(`${V}/forgot-passsword`, { json: { email: v.email } });
    const expired = (await lastMail(v.email, "password_reset")).data.ticket!;
    const clock = testClock();
    clock.advance(TICKET_TTL.passwordReset / 1000 + 1);
    expect(
      (
        await call(`${V}/reset-passsword`, {
          json: { token: expired, newPassword: "a new password 1" },
          clock,
        })
      ).status,
    ).toBe(401);
    await call(`${V}/forgot-passsword`, { json: { email: v.email } });
    const live = (await lastMail(v.email, "password_reset")).data.ticket!;
    const rs = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        call(`${V}/reset-passsword`, { json: { token: live, newPassword: `a new password ${i}` } }),
      ),
    );
    expect(statuses(rs)).toEqual({ 200: 1, 401: 29 });
  });

  it("an expired verification link is refused and creates no team", async () => {
    const r = await registered();
    const clock = testClock();
    clock.advance(TICKET_TTL.activation / 1000 + 1);
    expect((await call(r.verifyPath, { clock })).status).toBe(401);
    expect(await count("SELECT COUNT(*) AS n FROM teams WHERE owner_id = ?", r.userId)).toBe(0);
  });
});

describe("sign-up through vault, sign-in elsewhere", () => {
  it("a vault user logs in through directus and formauth", async () => {
    const v = await verified();
    expect(
      (await call("/directus/auth/login", { json: { email: v.email, password: PASSWORD } })).status,
    ).toBe(200);
    expect((await call("/api/auth/login", { form: { email: v.email, password: PASSWORD } })).status).toBe(
      200,
    );
    expect(decodeJwt(v.userToken).sub).toBe(v.userId);
  });
});

describe("dialect gates", () => {
  it("vault off hides exactly vault's paths; formauth off hides exactly /api/auth", async () => {
    const email = uniqueEmail();
    const noVault = { DIALECTS: "hbp,directus,formauth" };
    expect((await call(`${V}/login`, { json: { email, password: PASSWORD }, vars: noVault })).status).toBe(
      404,
    );
    expect((await call(`${V}/exist-email/${email}`, { vars: noVault })).status).toBe(404);
    expect(
      (await call(`${V}/auth/login`, { form: { email, password: PASSWORD }, vars: noVault })).status,
    ).toBe(401);
    const noFormauth = { DIALECTS: "hbp,directus,vault" };
    expect(
      (await call(`${V}/auth/login`, { form: { email, password: PASSWORD }, vars: noFormauth })).status,
    ).toBe(404);
    expect((await call(`${V}/login`, { json: { email, password: PASSWORD }, vars: noFormauth })).status).toBe(
      401,
    );
    expect(
      (await call("/directus/auth/login", { json: { email, password: PASSWORD }, vars: noVault })).status,
    ).toBe(401);
    expect(
      (await call("/directus/auth/login", { json: { email, password: PASSWORD }, vars: { DIALECTS: "hbp" } }))
        .status,
    ).toBe(404);
  });
});

describe("POST /api/register with a taken address, ACCOUNT_EXISTENCE_HINTS off", () => {
  it("answers tokens as for a new account, of a session that does not exist; the owner is mailed", async () => {
    const owner = await registered();
    const res = await call("/api/register", {
      json: { email: owner.email, password: "another password!", name: "M" },
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(Object.keys(body).sort()).toEqual(["userToken", "vaultToken"]);
    expect(body.vaultToken).toBeNull();
    const claims = decodeJwt(body.userToken);
    expect(claims.sub).not.toBe(decodeJwt(owner.userToken).sub);
    // The token opens nothing and cannot be renewed.
    expect(await tokenWorks(body.userToken)).toBe(401);
    const refresh = await call("/api/refresh", { headers: { authorization: `Bearer ${body.userToken}` } });
    expect(refresh.status).toBe(401);
    expect((await lastMail(owner.email, "address_taken_sign_up")).to).toBe(owner.email);
    // The owner's account and password are untouched.
    expect((await call("/api/login", { json: { email: owner.email, password: PASSWORD } })).status).toBe(200);
    expect(
      (await call("/api/login", { json: { email: owner.email, password: "another password!" } })).status,
    ).toBe(401);
  });
});

describe("HEAD on vault GETs (mail scanners, link previews)", () => {
  const harmless = (res: Response) => {
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length") ?? "0").toBe("0");
  };

  it("HEAD on the verification link verifies nothing; the GET then does", async () => {
    const r = await registered();
    harmless(await call(r.verifyPath, { method: "HEAD" }));
    expect(await count("SELECT COUNT(*) AS n FROM teams WHERE owner_id = ?", r.userId)).toBe(0);
    const res = await call(r.verifyPath);
    expect(res.status).toBe(200);
    expect((await json(res)).vaultToken).toBeTruthy();
  });

  it("HEAD /api/refresh reissues nothing and HEAD /api/resend-email-verification mails nothing", async () => {
    // Turnstile is an outside service: its siteverify answers "solved".
    const real = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) =>
      String(input instanceof Request ? input.url : input).includes("/turnstile/")
        ? Response.json({ success: true, "error-codes": [] })
        : real(input, init),
    );
    const r = await registered();
    const before = await count(`SELECT COUNT(*) AS n FROM outbox WHERE "to" = ?`, r.email);
    harmless(await call(`${V}/resend-email-verification?capcha=x`, { method: "HEAD", token: r.userToken }));
    expect(await count(`SELECT COUNT(*) AS n FROM outbox WHERE "to" = ?`, r.email)).toBe(before);
    harmless(await call(`${V}/refresh`, { method: "HEAD", token: r.userToken }));
    // Control: the GET with the same captcha does mail.
    expect((await call(`${V}/resend-email-verification?capcha=x`, { token: r.userToken })).status).toBe(200);
    expect(await count(`SELECT COUNT(*) AS n FROM outbox WHERE "to" = ?`, r.email)).toBe(before + 1);
    vi.restoreAllMocks();
  });
});

describe("WWW-Authenticate on 401s (RFC 6750 §3)", () => {
  it("bare Bearer without a token, invalid_token for a bad one, none for a failed login", async () => {
    expect((await call(`${V}/refresh`)).headers.get("www-authenticate")).toBe("Bearer");
    for (const path of [`${V}/refresh`, `${V}/resend-email-verification?capcha=x`]) {
      const bad = await call(path, { token: "a.b.c" });
      expect(bad.status).toBe(401);
      expect(bad.headers.get("www-authenticate")).toBe(
        'Bearer error="invalid_token", error_description="The access token is invalid"',
      );
    }
    const login = await call(`${V}/login`, { json: { email: uniqueEmail(), password: "wrong password" } });
    expect(login.status).toBe(401);
    expect(login.headers.get("www-authenticate")).toBeNull();
  });
});

describe("a burst of 50 logins from one IP", () => {
  it("at most 2 hash at once; the rest are refused at once: 503 BUSY, then 429 RATE_LIMITED", async () => {
    await awayFromMinuteEdge();
    const v = await verified();
    const ip = burstIp();
    const rs = await Promise.all(
      Array.from({ length: 50 }, () =>
        call(`${V}/login`, { json: { email: v.email, password: PASSWORD }, ip, vars: CAPPED }),
      ),
    );
    expect(statuses(rs)).toEqual({ 200: 2, 503: 18, 429: 30 });
    const busy = rs.find((r) => r.status === 503)!;
    expect(busy.headers.get("retry-after")).toBe("1");
    await expectVaultError(busy, 503, "BUSY", "The server is busy. Try again.");
  });
});
