/** api/hbp.txt, POST /auth/login: password, magic link, MFA ticket; account-existence hints. */
import { describe, expect, it } from "vitest";
import {
  activeUser,
  call,
  enableMfa,
  expectBoom,
  json,
  lastMail,
  outbox,
  PASSWORD,
  refreshCookie,
  uniqueEmail,
} from "./helpers";

describe("POST /auth/login with a password", () => {
  it("cookie defaults to true: the session body has no refresh_token, the cookie has it", async () => {
    const s = await activeUser();
    const res = await call("/auth/login", { json: { email: s.email, password: PASSWORD } });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      jwt_token: expect.any(String),
      jwt_expires_in: 900_000,
      user: { id: s.userId, email: s.email, display_name: s.email, avatar_url: null },
    });
    const token = refreshCookie(res);
    expect(token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(res.headers.get("set-cookie")).toContain("HttpOnly");
    // The cookie's token refreshes through the cookie.
    const r = await call("/auth/token/refresh", { headers: { cookie: `refresh_token=${token}` } });
    expect(r.status).toBe(200);
  });

  it("cookie:false puts refresh_token in the body", async () => {
    const s = await activeUser();
    const res = await call("/auth/login", { json: { email: s.email, password: PASSWORD, cookie: false } });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      jwt_token: expect.any(String),
      jwt_expires_in: 900_000,
      refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/),
      user: { id: s.userId, email: s.email, display_name: s.email, avatar_url: null },
    });
    expect(refreshCookie(res)).toBeNull();
  });

  it("accepts the address in another case", async () => {
    const s = await activeUser();
    const res = await call("/auth/login", { json: { email: s.email.toUpperCase(), password: PASSWORD } });
    expect(res.status).toBe(200);
  });

  it("a wrong password is 401", async () => {
    const s = await activeUser();
    await expectBoom(
      await call("/auth/login", { json: { email: s.email, password: "wrong password" } }),
      401,
      "Username and password do not match",
    );
  });

  it("an unknown address gets the same 401 as a wrong password by default", async () => {
    await expectBoom(
      await call("/auth/login", { json: { email: uniqueEmail(), password: PASSWORD } }),
      401,
      "Username and password do not match",
    );
  });

  it("ACCOUNT_EXISTENCE_HINTS=true: an unknown address is 400 Account does not exist.", async () => {
    const vars = { ACCOUNT_EXISTENCE_HINTS: "true" };
    await expectBoom(
      await call("/auth/login", { json: { email: uniqueEmail(), password: PASSWORD }, vars }),
      400,
      "Account does not exist.",
    );
    const s = await activeUser();
    await expectBoom(
      await call("/auth/login", { json: { email: s.email, password: "wrong password" }, vars }),
      401,
      "Username and password do not match",
    );
  });

  it("an account not yet activated is 400 after the right password, 401 with a wrong one", async () => {
    const email = uniqueEmail();
    await call("/auth/register", { json: { email, password: PASSWORD } });
    await expectBoom(
      await call("/auth/login", { json: { email, password: "wrong password" } }),
      401,
      "Username and password do not match",
    );
    await expectBoom(
      await call("/auth/login", { json: { email, password: PASSWORD } }),
      400,
      "Account is not activated.",
    );
  });

  it("requires the password when MAGIC_LINK_ENABLED is false", async () => {
    const s = await activeUser();
    await expectBoom(await call("/auth/login", { json: { email: s.email } }), 400, '"password" is required');
    expect(await outbox(s.email)).toEqual([]);
  });

  it("requires email", async () => {
    await expectBoom(await call("/auth/login", { json: { password: PASSWORD } }), 400, '"email" is required');
  });

  it("rejects a non-string password", async () => {
    await expectBoom(
      await call("/auth/login", { json: { email: uniqueEmail(), password: 12345678 } }),
      400,
      '"password" must be a string',
    );
  });
});

describe("POST /auth/login, MAGIC_LINK_ENABLED=true", () => {
  const vars = { MAGIC_LINK_ENABLED: "true" };

  it("without a password mails a log-in link and answers {magicLink:true} with no session", async () => {
    const s = await activeUser();
    const res = await call("/auth/login", { json: { email: s.email }, vars });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ magicLink: true });
    expect(res.headers.get("set-cookie")).toBeNull();
    const mail = await lastMail(s.email, "magic_link");
    expect(mail.data.link).toBe(
      `http://localhost:8787/auth/magic-link?action=log-in&token=${encodeURIComponent(mail.data.token!)}`,
    );
  });

  it("answers the same for an unknown address, and mails nothing", async () => {
    const email = uniqueEmail();
    const res = await call("/auth/login", { json: { email }, vars });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ magicLink: true });
    expect(await outbox(email)).toEqual([]);
  });

  it("with a password logs in with the password", async () => {
    const s = await activeUser();
    const res = await call("/auth/login", {
      json: { email: s.email, password: PASSWORD, cookie: false },
      vars,
    });
    expect(res.status).toBe(200);
    expect((await json(res)).refresh_token).toEqual(expect.any(String));
  });
});

describe("POST /auth/login with MFA enabled", () => {
  it("answers {mfa:true, ticket} and no session", async () => {
    const s = await activeUser();
    await enableMfa(s);
    const res = await call("/auth/login", { json: { email: s.email, password: PASSWORD } });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ mfa: true, ticket: expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/) });
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("a wrong password still answers 401 without a ticket", async () => {
    const s = await activeUser();
    await enableMfa(s);
    await expectBoom(
      await call("/auth/login", { json: { email: s.email, password: "wrong password" } }),
      401,
      "Username and password do not match",
    );
  });
});
