/** api/vault.txt: every route, contract. */
import { env } from "cloudflare:test";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, uniqueEmail } from "../../support/app";
import { json, lastMail, outbox, PASSWORD, tokenWorks } from "../hbp/helpers";
import { expectVaultError, registered, V, verified } from "./helpers";

describe("POST /api/register", () => {
  it("answers userToken (a core access token) and vaultToken null until verified; mails the link", async () => {
    const r = await registered();
    expect(decodeProtectedHeader(r.userToken).typ).toBe("at+jwt");
    expect(await tokenWorks(r.userToken)).toBe(400);
    expect(r.vaultToken).toBeNull();
    const mail = await lastMail(r.email, "activation");
    expect(mail.data.link).toBe(`http://localhost:8787/api/verify-email/${mail.data.ticket}`);
  });

  it("signs in through vault before verification, but no other dialect skips verification", async () => {
    const r = await registered();
    const vaultLogin = await call(`${V}/login`, { json: { email: r.email, password: PASSWORD } });
    expect(vaultLogin.status).toBe(200);
    const hbpLogin = await call("/auth/login", { json: { email: r.email, password: PASSWORD } });
    expect(hbpLogin.status).toBe(400);
    expect((await json(hbpLogin)).message).toBe("Account is not activated.");
    expect((await call(r.verifyPath)).status).toBe(200);
    expect((await call("/auth/login", { json: { email: r.email, password: PASSWORD } })).status).toBe(200);
  });

  it("refuses a taken address and a missing name", async () => {
    const r = await registered();
    await expectVaultError(
      await call(`${V}/register`, {
        json: { email: r.email, password: PASSWORD, name: "B" },
        vars: { ACCOUNT_EXISTENCE_HINTS: "true" },
      }),
      409,
      "ACCOUNT_EXISTS",
      "An account with this email address already exists.",
    );
    await expectVaultError(
      await call(`${V}/register`, { json: { email: uniqueEmail(), password: PASSWORD } }),
      400,
      "INVALID_REQUEST",
      '"name" is required',
    );
  });
});

describe("GET /api/verify-email/{token}", () => {
  it("verifies, creates the default team and project, and answers a team-scoped vaultToken", async () => {
    const r = await registered();
    const res = await call(r.verifyPath);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({ userToken: expect.any(String), vaultToken: expect.any(String) });
    expect(decodeProtectedHeader(body.vaultToken).typ).toBe("vault+jwt");
    const claims = decodeJwt(body.vaultToken);
    const team = await env.DB.prepare("SELECT id, name FROM teams WHERE owner_id = ?").bind(r.userId).first();
    const project = await env.DB.prepare("SELECT id FROM projects WHERE team_id = ?").bind(team!.id).first();
    expect(claims).toMatchObject({ sub: r.userId, team: team!.id, project: project!.id });
    expect(team!.name).toBe("Ada");
  });

  it("a link works once", async () => {
    const r = await registered();
    expect((await call(r.verifyPath)).status).toBe(200);
    await expectVaultError(
      await call(r.verifyPath),
      401,
      "INVALID_TOKEN",
      "The token is invalid or has expired.",
    );
  });
});

describe("POST /api/login", () => {
  it("answers userToken and vaultToken (null before verification)", async () => {
    const r = await registered();
    const before = await json(await call(`${V}/login`, { json: { email: r.email, password: PASSWORD } }));
    expect(before).toEqual({ userToken: expect.any(String), vaultToken: null });
    await call(r.verifyPath);
    const after = await json(await call(`${V}/login`, { json: { email: r.email, password: PASSWORD } }));
    expect(after).toEqual({ userToken: expect.any(String), vaultToken: expect.any(String) });
  });

  it("refuses a wrong password", async () => {
    const r = await registered();
    await expectVaultError(
      await call(`${V}/login`, { json: { email: r.email, password: "wrong password" } }),
      401,
      "INVALID_CREDENTIALS",
      "Invalid email or password.",
    );
  });
});

describe("GET /api/resend-email-verification?capcha=", () => {
  afterEach(() => vi.restoreAllMocks());

  /** Turnstile's siteverify, mocked: it is an outside service. */
  function mockSiteverify(success: boolean) {
    const calls: URLSearchParams[] = [];
    const real = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url !== "https://challenges.cloudflare.com/turnstile/v0/siteverify") return real(input, init);
      calls.push(new URLSearchParams(String(init?.body)));
      return Response.json({ success, "error-codes": success ? [] : ["invalid-input-response"] });
    });
    return calls;
  }

  it("with a solved captcha mails a new link; only the newest link works", async () => {
    const calls = mockSiteverify(true);
    const r = await registered();
    const res = await call(`${V}/resend-email-verification?capcha=XXXX.DUMMY.TOKEN`, {
      token: r.userToken,
      ip: "203.0.113.9",
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ userToken: r.userToken, vaultToken: null });
    expect(calls.map((p) => Object.fromEntries(p))).toEqual([
      {
        secret: "1x0000000000000000000000000000000AA",
        response: "XXXX.DUMMY.TOKEN",
        remoteip: "203.0.113.9",
      },
    ]);
    expect((await outbox(r.email)).filter((m) => m.kind === "activation")).toHaveLength(2);
    const newest = new URL((await lastMail(r.email, "activation")).data.link!).pathname;
    expect((await call(r.verifyPath)).status).toBe(401);
    expect((await call(newest)).status).toBe(200);
  });

  it("refuses an unsolved captcha, a missing one, and a missing token", async () => {
    const calls = mockSiteverify(false);
    const r = await registered();
    await expectVaultError(
      await call(`${V}/resend-email-verification?capcha=bad`, { token: r.userToken }),
      403,
      "FORBIDDEN",
      "You are not allowed to do this.",
    );
    expect(calls).toHaveLength(1);
    expect((await call(`${V}/resend-email-verification`, { token: r.userToken })).status).toBe(400);
    await expectVaultError(
      await call(`${V}/resend-email-verification?capcha=x`),
      401,
      "UNAUTHORIZED",
      "A bearer token is required.",
    );
    expect((await outbox(r.email)).filter((m) => m.kind === "activation")).toHaveLength(1);
  });

  it("fails closed when siteverify cannot be reached", async () => {
    vi.spyOn(globalThis, "fetch").mockRejectedValue(new TypeError("network down"));
    const r = await registered();
    expect((await call(`${V}/resend-email-verification?capcha=x`, { token: r.userToken })).status).toBe(403);
  });

  it("answers 400 once the address is verified", async () => {
    mockSiteverify(true);
    const v = await verified();
    await expectVaultError(
      await call(`${V}/resend-email-verification?capcha=x`, { token: v.userToken }),
      400,
      "INVALID_REQUEST",
      "The email address is already verified.",
    );
  });
});

describe("GET /api/refresh", () => {
  it("answers new tokens for the bearer userToken", async () => {
    const v = await verified();
    const res = await call(`${V}/refresh`, { token: v.userToken });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({ userToken: expect.any(String), vaultToken: expect.any(String) });
    expect(body.userToken).not.toBe(v.userToken);
    expect(decodeJwt(body.userToken).sid).toBe(v.sid);
  });

  it("needs a bearer token", async () => {
    await expectVaultError(await call(`${V}/refresh`), 401, "UNAUTHORIZED", "A bearer token is required.");
    await expectVaultError(
      await call(`${V}/refresh`, { token: "garbage" }),
      401,
      "INVALID_TOKEN",
      "The token is invalid or has expired.",
    );
  });
});

describe("password recovery", () => {
  it("forgot-passsword answers ok without a token, for unknown addresses too, mailing only real ones", async () => {
    const v = await verified();
    const res = await call(`${V}/forgot-passsword`, { json: { email: v.email } });
    expect(await json(res)).toEqual({ status: "ok" });
    const mail = await lastMail(v.email, "password_reset");
    expect(mail.data.link).toBe(`http://localhost:8787/reset-password?token=${mail.data.ticket}`);
    const nobody = uniqueEmail();
    expect(await json(await call(`${V}/forgot-passsword`, { json: { email: nobody } }))).toEqual({
      status: "ok",
    });
    expect(await outbox(nobody)).toEqual([]);
  });

  it("register and reset-passsword refuse a common password with WEAK_PASSWORD", async () => {
    const COMMON = "This password is too common and easy to guess. Choose a less common one.";
    await expectVaultError(
      await call(`${V}/register`, { json: { email: uniqueEmail(), password: "password123", name: "A" } }),
      400,
      "WEAK_PASSWORD",
      COMMON,
    );
    const v = await verified();
    await call(`${V}/forgot-passsword`, { json: { email: v.email } });
    const token = (await lastMail(v.email, "password_reset")).data.ticket!;
    await expectVaultError(
      await call(`${V}/reset-passsword`, { json: { token, newPassword: "12345678" } }),
      400,
      "WEAK_PASSWORD",
      COMMON,
    );
    expect(await tokenWorks(v.userToken)).toBe(400);
  });

  it("reset-passsword sets the password once and ends every session", async () => {
    const v = await verified();
    await call(`${V}/forgot-passsword`, { json: { email: v.email } });
    const token = (await lastMail(v.email, "password_reset")).data.ticket!;
    const res = await call(`${V}/reset-passsword`, { json: { token, newPassword: "a brand new password" } });
    expect(await json(res)).toEqual({ status: "ok" });
    expect(await tokenWorks(v.userToken)).toBe(401);
    expect((await call(`${V}/refresh`, { token: v.userToken })).status).toBe(401);
    expect(
      (await call(`${V}/login`, { json: { email: v.email, password: "a brand new password" } })).status,
    ).toBe(200);
    await expectVaultError(
      await call(`${V}/reset-passsword`, { json: { token, newPassword: "another new password" } }),
      401,
      "INVALID_TOKEN",
      "The token is invalid or has expired.",
    );
  });
});

describe("GET /api/exist-email/{email}", () => {
  it("answers false for everything while ACCOUNT_EXISTENCE_HINTS is off", async () => {
    const v = await verified();
    expect(await json(await call(`${V}/exist-email/${encodeURIComponent(v.email)}`))).toBe(false);
    expect(await json(await call(`${V}/exist-email/${uniqueEmail()}`))).toBe(false);
  });

  it("answers true or false when hints are on", async () => {
    const vars = { ACCOUNT_EXISTENCE_HINTS: "true" };
    const v = await verified();
    expect(
      await json(await call(`${V}/exist-email/${encodeURIComponent(v.email.toUpperCase())}`, { vars })),
    ).toBe(true);
    expect(await json(await call(`${V}/exist-email/${uniqueEmail()}`, { vars }))).toBe(false);
    expect(await json(await call(`${V}/exist-email/not-an-address`, { vars }))).toBe(false);
  });

  it("is rate-limited per client address (10 a minute)", async () => {
    const vars = { ACCOUNT_EXISTENCE_HINTS: "true" };
    const ip = `203.0.113.${Math.floor(Math.random() * 200)}-${crypto.randomUUID()}`;
    const rs = [];
    for (let i = 0; i < 11; i++)
      rs.push((await call(`${V}/exist-email/${uniqueEmail()}`, { vars, ip })).status);
    expect(rs).toEqual([...Array(10).fill(200), 429]);
  });
});
