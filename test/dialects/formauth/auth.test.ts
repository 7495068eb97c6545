/** api/formauth.txt, Auth: register, login, two-factor, refresh, logout (contract). */
import { decodeJwt, decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { call, uniqueEmail } from "../../support/app";
import { confirmForm } from "../../support/links";
import { enableMfa, json, lastMail, PASSWORD, tokenWorks, totpCode, wrongCode } from "../hbp/helpers";
import { A, confirmedUser, expectError, uniqueName } from "./helpers";

const PENDING = {
  code: "PENDING_CONFIRMATION",
  error: "Please confirm your email address to complete the registration.",
};

describe("POST /auth/register", () => {
  it("answers PENDING_CONFIRMATION and mails a confirmation link", async () => {
    const email = uniqueEmail();
    const res = await call(`${A}/register`, { form: { username: uniqueName(), email, password: PASSWORD } });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual(PENDING);
    const mail = await lastMail(email, "activation");
    expect(mail.data.link).toBe(`http://localhost:8787/api/auth/confirm?token=${mail.data.ticket}`);
  });

  it("accepts JSON bodies too", async () => {
    const res = await call(`${A}/register`, {
      json: { username: uniqueName(), email: uniqueEmail(), password: PASSWORD },
    });
    expect(await json(res)).toEqual(PENDING);
  });

  it("usernames are unique, whatever their case", async () => {
    const name = uniqueName();
    await call(`${A}/register`, { form: { username: name, email: uniqueEmail(), password: PASSWORD } });
    await expectError(
      await call(`${A}/register`, {
        form: { username: name.toUpperCase(), email: uniqueEmail(), password: PASSWORD },
      }),
      409,
      "ACCOUNT_EXISTS",
      "An account with this email or username already exists.",
    );
  });

  it("refuses a missing field, a bad username and a short password", async () => {
    await expectError(
      await call(`${A}/register`, { form: { email: uniqueEmail(), password: PASSWORD } }),
      400,
      "INVALID_REQUEST",
      '"username" is required',
    );
    await expectError(
      await call(`${A}/register`, { form: { username: "a b", email: uniqueEmail(), password: PASSWORD } }),
      400,
      "INVALID_REQUEST",
      '"username" must be 3-32 letters, digits, dots, dashes or underscores',
    );
    const res = await call(`${A}/register`, {
      form: { username: uniqueName(), email: uniqueEmail(), password: "short" },
    });
    expect(res.status).toBe(400);
    expect((await json(res)).code).toBe("WEAK_PASSWORD");
  });

  it("refuses a common password with WEAK_PASSWORD and the reason", async () => {
    await expectError(
      await call(`${A}/register`, {
        form: { username: uniqueName(), email: uniqueEmail(), password: "password123" },
      }),
      400,
      "WEAK_PASSWORD",
      "This password is too common and easy to guess. Choose a less common one.",
    );
  });
});

describe("POST /auth/login", () => {
  it("before confirmation answers PENDING_CONFIRMATION", async () => {
    const email = uniqueEmail();
    await call(`${A}/register`, { form: { username: uniqueName(), email, password: PASSWORD } });
    await expectError(
      await call(`${A}/login`, { form: { email, password: PASSWORD } }),
      403,
      PENDING.code,
      PENDING.error,
    );
  });

  it("answers access_token, refresh_token (both JWTs) and twoFactor false", async () => {
    const u = await confirmedUser();
    expect(decodeProtectedHeader(u.access).typ).toBe("at+jwt");
    expect(decodeProtectedHeader(u.refresh).typ).toBe("rt+jwt");
    expect(decodeJwt(u.refresh).sub).toBe(decodeJwt(u.access).sub);
    expect(await tokenWorks(u.access)).toBe(400);
  });

  it("a username logs in too", async () => {
    const u = await confirmedUser();
    const res = await call(`${A}/login`, { form: { email: u.username.toUpperCase(), password: PASSWORD } });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      twoFactor: false,
    });
  });

  it("a wrong password, an unknown email and an unknown username look alike", async () => {
    const u = await confirmedUser();
    for (const email of [u.email, uniqueEmail(), uniqueName()]) {
      await expectError(
        await call(`${A}/login`, {
          form: { email, password: email === u.email ? "wrong password" : PASSWORD },
        }),
        401,
        "INVALID_CREDENTIALS",
        "Invalid email, username or password.",
      );
    }
  });
});

describe("POST /auth/two-factor", () => {
  it("login answers the two-factor token; /auth/two-factor with a code answers the tokens", async () => {
    const u = await confirmedUser();
    const secret = await enableMfa({ jwt: u.access } as never);
    const login = await json(await call(`${A}/login`, { form: { email: u.email, password: PASSWORD } }));
    expect(login).toEqual({
      access_token: expect.stringMatching(/^[\w-]{43}$/),
      refresh_token: null,
      twoFactor: true,
    });
    await expectError(
      await call(`${A}/two-factor`, { form: { token: login.access_token, code: wrongCode(secret) } }),
      401,
      "INVALID_TWO_FACTOR_CODE",
      "The two-factor code is invalid.",
    );
    const res = await call(`${A}/two-factor`, {
      form: { Token: login.access_token, Code: totpCode(secret, 1) },
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      twoFactor: true,
    });
    expect(await tokenWorks(body.access_token)).toBe(400);
    // The two-factor token works once.
    expect(
      (await call(`${A}/two-factor`, { form: { token: login.access_token, code: totpCode(secret, 1) } }))
        .status,
    ).toBe(401);
  });
});

describe("POST /auth/refresh", () => {
  it("answers a new pair and rotates: the old refresh JWT is spent", async () => {
    const u = await confirmedUser();
    const res = await call(`${A}/refresh`, { form: { refresh_token: u.refresh } });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({ access_token: expect.any(String), refresh_token: expect.any(String) });
    expect(body.refresh_token).not.toBe(u.refresh);
    const again = await call(`${A}/refresh`, { form: { refresh_token: body.refresh_token } });
    expect(again.status).toBe(200);
  });

  it("refuses an access token, garbage, and a missing field", async () => {
    const u = await confirmedUser();
    for (const t of [u.access, "not-a-jwt"])
      await expectError(
        await call(`${A}/refresh`, { form: { refresh_token: t } }),
        401,
        "INVALID_REFRESH_TOKEN",
        "The refresh token is invalid or has expired.",
      );
    expect((await call(`${A}/refresh`, { form: {} })).status).toBe(400);
  });
});

describe("POST /auth/logout", () => {
  it("answers LOGGED_OUT and ends the session: access and refresh tokens die", async () => {
    const u = await confirmedUser();
    const res = await call(`${A}/logout`, {
      method: "POST",
      token: u.access,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ code: "LOGGED_OUT", error: "You are now logged out." });
    expect(await tokenWorks(u.access)).toBe(401);
    expect((await call(`${A}/refresh`, { form: { refresh_token: u.refresh } })).status).toBe(401);
  });

  it("without a token answers UNAUTHORIZED", async () => {
    await expectError(
      await call(`${A}/logout`, { method: "POST" }),
      401,
      "UNAUTHORIZED",
      "You must be logged in.",
    );
  });
});

describe("GET and POST /auth/confirm", () => {
  it("the link opens a page; its button confirms once and redirects (303) to REDIRECT_URL_SUCCESS", async () => {
    const email = uniqueEmail();
    await call(`${A}/register`, { form: { username: uniqueName(), email, password: PASSWORD } });
    const link = (await lastMail(email, "activation")).data.link!;
    const page = await call(new URL(link).pathname + new URL(link).search);
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const { action, fields } = await confirmForm(page);
    expect(action).toBe("http://localhost:8787/api/auth/confirm");
    expect(fields).toEqual({ token: new URL(link).searchParams.get("token") });
    // Opening the page spent nothing: the account still waits for confirmation.
    await expectError(
      await call(`${A}/login`, { form: { email, password: PASSWORD } }),
      403,
      "PENDING_CONFIRMATION",
      "Please confirm your email address to complete the registration.",
    );
    const first = await call(`${A}/confirm`, { form: fields });
    expect(first.status).toBe(303);
    expect(first.headers.get("location")).toBe("http://localhost:8787/");
    expect((await call(`${A}/login`, { form: { email, password: PASSWORD } })).status).toBe(200);
    await expectError(
      await call(`${A}/confirm`, { form: fields }),
      401,
      "INVALID_TOKEN",
      "The token is invalid or has expired.",
    );
  });

  it("GET without a token is 400", async () => {
    expect((await call(`${A}/confirm`)).status).toBe(400);
  });
});
