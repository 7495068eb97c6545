/** GET /users/me and the TOTP set-up Directus clients use: POST /users/me/tfa/generate|enable|disable. */
import { describe, expect, it } from "vitest";
import { call } from "../../support/app";
import { json, PASSWORD, totpCode, wrongCode } from "../hbp/helpers";
import { D, directusLogin, directusUser, expectErrors } from "./helpers";

describe("GET /users/me", () => {
  it("answers the signed-in user as a directus_users item", async () => {
    const u = await directusUser();
    const res = await call(`${D}/users/me`, { token: u.access });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      data: {
        id: u.userId,
        first_name: u.email,
        last_name: null,
        email: u.email,
        password: "**********",
        location: null,
        title: null,
        description: null,
        tags: null,
        avatar: null,
        language: null,
        tfa_secret: null,
        status: "active",
        role: "user",
        token: null,
        provider: "default",
        external_identifier: null,
        email_notifications: true,
      },
    });
  });

  it("honours ?fields= (readMe({fields}))", async () => {
    const u = await directusUser();
    expect(await json(await call(`${D}/users/me?fields=id,email`, { token: u.access }))).toEqual({
      data: { id: u.userId, email: u.email },
    });
    expect(await json(await call(`${D}/users/me?fields[]=id`, { token: u.access }))).toEqual({
      data: { id: u.userId },
    });
  });

  it("answers INVALID_CREDENTIALS without a token and INVALID_TOKEN with a bad one", async () => {
    await expectErrors(await call(`${D}/users/me`), 401, "INVALID_CREDENTIALS", "Invalid user credentials.");
    await expectErrors(
      await call(`${D}/users/me`, { token: "not.a.jwt" }),
      401,
      "INVALID_TOKEN",
      "Invalid token.",
    );
  });

  it("unknown routes under the prefix answer ROUTE_NOT_FOUND", async () => {
    await expectErrors(await call(`${D}/users`), 404, "ROUTE_NOT_FOUND", "Route /users doesn't exist.");
  });
});

describe("POST /users/me/tfa/*", () => {
  it("generate (with the password) -> enable with a code -> login needs otp -> disable", async () => {
    const u = await directusUser();
    await expectErrors(
      await call(`${D}/users/me/tfa/generate`, { json: { password: "wrong password" }, token: u.access }),
      401,
      "INVALID_CREDENTIALS",
      "Invalid user credentials.",
    );
    const gen = await call(`${D}/users/me/tfa/generate`, { json: { password: PASSWORD }, token: u.access });
    expect(gen.status).toBe(200);
    const { data } = await json(gen);
    expect(data).toEqual({
      secret: expect.stringMatching(/^[A-Z2-7]{32}$/),
      otpauth_url: expect.any(String),
    });
    expect(data.otpauth_url).toMatch(/^otpauth:\/\/totp\//);

    await expectErrors(
      await call(`${D}/users/me/tfa/enable`, {
        json: { secret: data.secret, otp: wrongCode(data.secret) },
        token: u.access,
      }),
      401,
      "INVALID_OTP",
      "Invalid user OTP.",
    );
    const en = await call(`${D}/users/me/tfa/enable`, {
      json: { secret: data.secret, otp: totpCode(data.secret, -1) },
      token: u.access,
    });
    expect(en.status).toBe(204);
    const me = await json(await call(`${D}/users/me?fields=tfa_secret`, { token: u.access }));
    expect(me).toEqual({ data: { tfa_secret: "**********" } });

    expect((await directusLogin({ email: u.email, password: PASSWORD })).status).toBe(401);
    const ok = await directusLogin({ email: u.email, password: PASSWORD, otp: totpCode(data.secret) });
    expect(ok.status).toBe(200);

    // Each step works once (enable -1, login 0, disable +1).
    const dis = await call(`${D}/users/me/tfa/disable`, {
      json: { otp: totpCode(data.secret, 1) },
      token: u.access,
    });
    expect(dis.status).toBe(204);
    expect((await directusLogin({ email: u.email, password: PASSWORD })).status).toBe(200);
  });

  it("enable before generate is INVALID_PAYLOAD", async () => {
    const u = await directusUser();
    const res = await call(`${D}/users/me/tfa/enable`, {
      json: { secret: "A".repeat(32), otp: "123456" },
      token: u.access,
    });
    expect(res.status).toBe(400);
    expect((await json(res)).errors[0].extensions.code).toBe("INVALID_PAYLOAD");
  });

  it("needs a token", async () => {
    await expectErrors(
      await call(`${D}/users/me/tfa/generate`, { json: { password: PASSWORD } }),
      401,
      "INVALID_CREDENTIALS",
      "Invalid user credentials.",
    );
  });
});
