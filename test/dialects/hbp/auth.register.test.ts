/** api/hbp.txt, POST /auth/register. */
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import {
  AUTO,
  activeUser,
  call,
  expectBoom,
  json,
  lastMail,
  outbox,
  PASSWORD,
  refreshCookie,
  uniqueEmail,
  usersWithEmail,
} from "./helpers";

const CLAIMS = "https://hasura.io/jwt/claims";

describe("POST /auth/register, AUTO_ACTIVATE_NEW_USERS=true", () => {
  it("logs the user in; cookie defaults to true: refresh_token only in an HttpOnly cookie", async () => {
    const email = uniqueEmail();
    const res = await call("/auth/register", { json: { email, password: PASSWORD }, vars: AUTO });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({
      jwt_token: expect.any(String),
      jwt_expires_in: 900_000,
      user: { id: expect.any(String), email, display_name: email, avatar_url: null },
    });
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^refresh_token=[A-Za-z0-9_-]{40,};/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Path=/auth");
    const claims = decodeJwt(body.jwt_token);
    expect(claims.sub).toBe(body.user.id);
    expect(claims[CLAIMS]).toEqual({
      "x-hasura-user-id": body.user.id,
      "x-hasura-allowed-roles": ["user"],
      "x-hasura-default-role": "user",
    });
  });

  it("with cookie:false puts refresh_token in the body and sets no cookie", async () => {
    const email = uniqueEmail();
    const res = await call("/auth/register", {
      json: { email, password: PASSWORD, cookie: false },
      vars: AUTO,
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({
      jwt_token: expect.any(String),
      jwt_expires_in: 900_000,
      refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/),
      user: { id: expect.any(String), email, display_name: email, avatar_url: null },
    });
    expect(refreshCookie(res)).toBeNull();
    // The refresh token works.
    const r = await call(`/auth/token/refresh?refresh_token=${body.refresh_token}`);
    expect(r.status).toBe(200);
  });

  it("jwt_expires_in follows ACCESS_TOKEN_TTL, in milliseconds", async () => {
    const res = await call("/auth/register", {
      json: { email: uniqueEmail(), password: PASSWORD, cookie: false },
      vars: { ...AUTO, ACCESS_TOKEN_TTL: "120" },
    });
    const body = await json(res);
    expect(body.jwt_expires_in).toBe(120_000);
    const claims = decodeJwt(body.jwt_token);
    expect(claims.exp! - claims.iat!).toBe(120);
  });

  it("takes display_name and avatar_url from user_data", async () => {
    const email = uniqueEmail();
    const res = await call("/auth/register", {
      json: {
        email,
        password: PASSWORD,
        cookie: false,
        user_data: { display_name: "Ada", avatar_url: "https://example.com/a.png" },
      },
      vars: AUTO,
    });
    expect(res.status).toBe(200);
    expect((await json(res)).user).toEqual({
      id: expect.any(String),
      email,
      display_name: "Ada",
      avatar_url: "https://example.com/a.png",
    });
  });

  it("stores the address lower-cased and trimmed", async () => {
    const email = uniqueEmail();
    const res = await call("/auth/register", {
      json: { email: `  ${email.toUpperCase()} `, password: PASSWORD, cookie: false },
      vars: AUTO,
    });
    expect(res.status).toBe(200);
    expect((await json(res)).user.email).toBe(email);
  });

  it("ACCOUNT_EXISTENCE_HINTS=true: refuses an address that already has an account", async () => {
    const vars = { ...AUTO, ACCOUNT_EXISTENCE_HINTS: "true" };
    const email = uniqueEmail();
    expect((await call("/auth/register", { json: { email, password: PASSWORD }, vars })).status).toBe(200);
    await expectBoom(
      await call("/auth/register", { json: { email: email.toUpperCase(), password: PASSWORD }, vars }),
      400,
      "Account already exists.",
    );
    expect(await usersWithEmail(email)).toBe(1);
  });
});

describe("POST /auth/register, AUTO_ACTIVATE_NEW_USERS=false (default)", () => {
  it("answers the user with null tokens, sets no cookie and mails an activation link", async () => {
    const email = uniqueEmail();
    const res = await call("/auth/register", { json: { email, password: PASSWORD } });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      jwt_token: null,
      jwt_expires_in: null,
      user: { id: expect.any(String), email, display_name: email, avatar_url: null },
    });
    expect(refreshCookie(res)).toBeNull();
    const mail = await lastMail(email, "activation");
    expect(mail.data.link).toBe(
      `http://localhost:8787/auth/activate?ticket=${encodeURIComponent(mail.data.ticket!)}`,
    );
  });

  it("the user cannot log in before activation", async () => {
    const email = uniqueEmail();
    await call("/auth/register", { json: { email, password: PASSWORD } });
    await expectBoom(
      await call("/auth/login", { json: { email, password: PASSWORD } }),
      400,
      "Account is not activated.",
    );
  });
});

describe("POST /auth/register, parameters", () => {
  it("requires email", async () => {
    await expectBoom(
      await call("/auth/register", { json: { password: PASSWORD } }),
      400,
      '"email" is required',
    );
  });

  it("requires a valid email", async () => {
    await expectBoom(
      await call("/auth/register", { json: { email: "nope", password: PASSWORD } }),
      400,
      "A valid email address is required.",
    );
  });

  it("requires password when MAGIC_LINK_ENABLED is false", async () => {
    const email = uniqueEmail();
    await expectBoom(await call("/auth/register", { json: { email } }), 400, '"password" is required');
    expect(await usersWithEmail(email)).toBe(0);
  });

  it("enforces the minimum password length", async () => {
    const email = uniqueEmail();
    await expectBoom(
      await call("/auth/register", { json: { email, password: "short" } }),
      400,
      "Password must be at least 8 characters long.",
    );
    expect(await usersWithEmail(email)).toBe(0);
  });

  it("rejects a non-boolean cookie", async () => {
    await expectBoom(
      await call("/auth/register", { json: { email: uniqueEmail(), password: PASSWORD, cookie: "yes" } }),
      400,
      '"cookie" must be a boolean',
    );
  });

  it("accepts a form-encoded body", async () => {
    const email = uniqueEmail();
    const res = await call("/auth/register", { form: { email, password: PASSWORD }, vars: AUTO });
    expect(res.status).toBe(200);
    expect((await json(res)).user.email).toBe(email);
  });

  it("MIN_PASSWORD_LENGTH sets the minimum", async () => {
    const vars = { ...AUTO, MIN_PASSWORD_LENGTH: "12" };
    await expectBoom(
      await call("/auth/register", { json: { email: uniqueEmail(), password: "elevenchars" }, vars }),
      400,
      "Password must be at least 12 characters long.",
    );
    const ok = await call("/auth/register", {
      json: { email: uniqueEmail(), password: "twelve chars" },
      vars,
    });
    expect(ok.status).toBe(200);
  });

  it("PASSWORDS_ENABLED=false refuses password registration and login", async () => {
    const vars = { ...AUTO, PASSWORDS_ENABLED: "false" };
    const email = uniqueEmail();
    await expectBoom(
      await call("/auth/register", { json: { email, password: PASSWORD }, vars }),
      404,
      "Not Found",
    );
    expect(await usersWithEmail(email)).toBe(0);
    const s = await activeUser();
    await expectBoom(
      await call("/auth/login", { json: { email: s.email, password: PASSWORD }, vars }),
      404,
      "Not Found",
    );
  });

  it("SIGNUP_ENABLED=false refuses registration", async () => {
    const email = uniqueEmail();
    await expectBoom(
      await call("/auth/register", {
        json: { email, password: PASSWORD },
        vars: { SIGNUP_ENABLED: "false" },
      }),
      403,
      "Registration is disabled.",
    );
    expect(await usersWithEmail(email)).toBe(0);
  });
});

describe("POST /auth/register, MAGIC_LINK_ENABLED=true", () => {
  const vars = { MAGIC_LINK_ENABLED: "true" };

  it("without a password registers by magic link: null tokens and a register link by mail", async () => {
    const email = uniqueEmail();
    const res = await call("/auth/register", { json: { email }, vars });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      jwt_token: null,
      jwt_expires_in: null,
      user: { id: expect.any(String), email, display_name: email, avatar_url: null },
    });
    expect(refreshCookie(res)).toBeNull();
    const mail = await lastMail(email, "magic_link");
    expect(mail.data.link).toBe(
      `http://localhost:8787/auth/magic-link?action=register&token=${encodeURIComponent(mail.data.token!)}`,
    );
  });

  it("without a password never logs in, even with AUTO_ACTIVATE_NEW_USERS", async () => {
    const email = uniqueEmail();
    const res = await call("/auth/register", { json: { email }, vars: { ...vars, ...AUTO } });
    expect(res.status).toBe(200);
    expect((await json(res)).jwt_token).toBeNull();
    expect(refreshCookie(res)).toBeNull();
  });

  it("with a password registers with the password", async () => {
    const email = uniqueEmail();
    const res = await call("/auth/register", {
      json: { email, password: PASSWORD },
      vars: { ...vars, ...AUTO },
    });
    expect(res.status).toBe(200);
    expect((await json(res)).jwt_token).toEqual(expect.any(String));
  });
});

describe("POST /auth/register, register_options and roles", () => {
  const roles = {
    ...AUTO,
    DEFAULT_USER_ROLE: "user",
    DEFAULT_ALLOWED_USER_ROLES: "user,me",
    ALLOWED_USER_ROLES: "user,me,editor",
  };
  const claimsOf = async (res: Response) => decodeJwt((await json(res)).jwt_token)[CLAIMS];

  it("without register_options the user gets DEFAULT_ALLOWED_USER_ROLES and DEFAULT_USER_ROLE", async () => {
    const res = await call("/auth/register", {
      json: { email: uniqueEmail(), password: PASSWORD },
      vars: roles,
    });
    expect(res.status).toBe(200);
    expect(await claimsOf(res)).toMatchObject({
      "x-hasura-allowed-roles": ["user", "me"],
      "x-hasura-default-role": "user",
    });
  });

  it("may pick roles from ALLOWED_USER_ROLES (default_role, as HBP and nhost-js-sdk send it)", async () => {
    const res = await call("/auth/register", {
      json: {
        email: uniqueEmail(),
        password: PASSWORD,
        register_options: { allowed_roles: ["user", "editor"], default_role: "editor" },
      },
      vars: roles,
    });
    expect(res.status).toBe(200);
    expect(await claimsOf(res)).toMatchObject({
      "x-hasura-allowed-roles": ["user", "editor"],
      "x-hasura-default-role": "editor",
    });
  });

  it("accepts default_roles, the document's spelling", async () => {
    const res = await call("/auth/register", {
      json: {
        email: uniqueEmail(),
        password: PASSWORD,
        register_options: { allowed_roles: ["me"], default_roles: "me" },
      },
      vars: roles,
    });
    expect(res.status).toBe(200);
    expect(await claimsOf(res)).toMatchObject({
      "x-hasura-allowed-roles": ["me"],
      "x-hasura-default-role": "me",
    });
  });

  it("asking for a role outside ALLOWED_USER_ROLES is a 400 and creates nothing", async () => {
    const email = uniqueEmail();
    await expectBoom(
      await call("/auth/register", {
        json: {
          email,
          password: PASSWORD,
          register_options: { allowed_roles: ["user", "admin"], default_role: "user" },
        },
        vars: roles,
      }),
      400,
      "allowed roles must be a subset of ALLOWED_ROLES",
    );
    expect(await usersWithEmail(email)).toBe(0);
    expect(await outbox(email)).toEqual([]);
  });

  it("a default role outside allowed_roles is a 400", async () => {
    const email = uniqueEmail();
    await expectBoom(
      await call("/auth/register", {
        json: {
          email,
          password: PASSWORD,
          register_options: { allowed_roles: ["user"], default_role: "editor" },
        },
        vars: roles,
      }),
      400,
      "Default role must be part of allowed roles.",
    );
    expect(await usersWithEmail(email)).toBe(0);
  });

  it("a default role outside the allow-list with no allowed_roles is a 400, never a grant", async () => {
    const email = uniqueEmail();
    await expectBoom(
      await call("/auth/register", {
        json: { email, password: PASSWORD, register_options: { default_role: "admin" } },
        vars: roles,
      }),
      400,
      "Default role must be part of allowed roles.",
    );
    expect(await usersWithEmail(email)).toBe(0);
  });

  it("with the default configuration only the role user may be asked for", async () => {
    await expectBoom(
      await call("/auth/register", {
        json: {
          email: uniqueEmail(),
          password: PASSWORD,
          register_options: { allowed_roles: ["admin"], default_role: "admin" },
        },
        vars: AUTO,
      }),
      400,
      "allowed roles must be a subset of ALLOWED_ROLES",
    );
  });
});
