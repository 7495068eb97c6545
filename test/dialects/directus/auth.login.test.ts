/** api/directus-auth.txt, Login: POST /auth/login in json, cookie and session mode, with otp. */
import { describe, expect, it } from "vitest";
import { call, uniqueEmail } from "../../support/app";
import { activeUser, enableMfa, json, PASSWORD, totpCode, wrongCode } from "../hbp/helpers";
import { cookie, D, directusLogin, expectErrors } from "./helpers";

describe("POST /auth/login", () => {
  it("json mode: answers access_token, expires in milliseconds and refresh_token, as application/json", async () => {
    const s = await activeUser();
    const res = await directusLogin({ email: s.email, password: PASSWORD, mode: "json" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = await json(res);
    expect(body).toEqual({
      data: { access_token: expect.any(String), expires: 900_000, refresh_token: expect.any(String) },
    });
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it("without mode answers in json mode (Directus's server default)", async () => {
    const s = await activeUser();
    const body = await json(await directusLogin({ email: s.email, password: PASSWORD }));
    expect(Object.keys(body.data).sort()).toEqual(["access_token", "expires", "refresh_token"]);
  });

  it("cookie mode: the refresh token only in the HttpOnly directus_refresh_token cookie", async () => {
    const s = await activeUser();
    const res = await directusLogin({ email: s.email, password: PASSWORD, mode: "cookie" });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ data: { access_token: expect.any(String), expires: 900_000 } });
    const set = res.headers.getSetCookie().find((l) => l.startsWith("directus_refresh_token="))!;
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/Path=\/directus/);
    expect(set).toMatch(/SameSite=Lax/);
    expect(cookie(res, "directus_refresh_token")).toMatch(/^[\w-]{43}$/);
  });

  it("session mode: the session token in the HttpOnly directus_session_token cookie and no token in the body", async () => {
    const s = await activeUser();
    const res = await directusLogin({ email: s.email, password: PASSWORD, mode: "session" });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ data: { expires: 900_000 } });
    const session = cookie(res, "directus_session_token")!;
    const me = await call(`${D}/users/me?fields=email`, {
      headers: { cookie: `directus_session_token=${session}` },
    });
    expect(await json(me)).toEqual({ data: { email: s.email } });
  });

  it("refuses a wrong password and an unknown account alike", async () => {
    const s = await activeUser();
    await expectErrors(
      await directusLogin({ email: s.email, password: "wrong password", mode: "json" }),
      401,
      "INVALID_CREDENTIALS",
      "Invalid user credentials.",
    );
    await expectErrors(
      await directusLogin({ email: uniqueEmail(), password: PASSWORD, mode: "json" }),
      401,
      "INVALID_CREDENTIALS",
      "Invalid user credentials.",
    );
  });

  it("refuses a user who has not confirmed the address", async () => {
    const email = uniqueEmail();
    expect((await call("/auth/register", { json: { email, password: PASSWORD } })).status).toBe(200);
    await expectErrors(
      await directusLogin({ email, password: PASSWORD }),
      401,
      "INVALID_CREDENTIALS",
      "Invalid user credentials.",
    );
  });

  it("answers INVALID_PAYLOAD for a missing email or an unknown mode", async () => {
    await expectErrors(
      await directusLogin({ password: PASSWORD }),
      400,
      "INVALID_PAYLOAD",
      'Invalid payload. "email" is required.',
      '"email" is required',
    );
    const res = await directusLogin({ email: uniqueEmail(), password: PASSWORD, mode: "jwt" });
    expect(res.status).toBe(400);
    expect((await json(res)).errors[0].extensions.code).toBe("INVALID_PAYLOAD");
  });

  describe("with TOTP on", () => {
    it("needs otp: none or a wrong one is INVALID_OTP, the right one signs in", async () => {
      const s = await activeUser();
      const secret = await enableMfa(s);
      await expectErrors(
        await directusLogin({ email: s.email, password: PASSWORD, mode: "json" }),
        401,
        "INVALID_OTP",
        "Invalid user OTP.",
      );
      await expectErrors(
        await directusLogin({ email: s.email, password: PASSWORD, mode: "json", otp: wrongCode(secret) }),
        401,
        "INVALID_OTP",
        "Invalid user OTP.",
      );
      const ok = await directusLogin({
        email: s.email,
        password: PASSWORD,
        mode: "json",
        otp: totpCode(secret, 1),
      });
      expect(ok.status).toBe(200);
      expect((await json(ok)).data.access_token).toEqual(expect.any(String));
    });

    it("a wrong password with a right otp is INVALID_CREDENTIALS", async () => {
      const s = await activeUser();
      const secret = await enableMfa(s);
      await expectErrors(
        await directusLogin({ email: s.email, password: "wrong password", otp: totpCode(secret, 1) }),
        401,
        "INVALID_CREDENTIALS",
        "Invalid user credentials.",
      );
    });
  });
});
