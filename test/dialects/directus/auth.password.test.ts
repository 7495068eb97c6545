/** api/directus-auth.txt, Request a Password Reset / Reset a Password. */
import { describe, expect, it } from "vitest";
import { call, uniqueEmail } from "../../support/app";
import { activeUser, json, lastMail, outbox, PASSWORD, statuses, tokenWorks } from "../hbp/helpers";
import { D, directusLogin, directusUser, expectErrors } from "./helpers";

const ALLOWED = "https://app.example.com/reset";
const vars = { PASSWORD_RESET_URL_ALLOW_LIST: `${ALLOWED},https://other.example.com/r` };
const request = (body: unknown, headers: Record<string, string> = {}) =>
  call(`${D}/auth/password/request`, { json: body, vars, headers });
const reset = (body: unknown) => call(`${D}/auth/password/reset`, { json: body, vars });

async function resetToken(email: string): Promise<string> {
  const mail = await lastMail(email, "password_reset");
  return mail.data.ticket!;
}

describe("POST /auth/password/request", () => {
  it("answers 204 and mails a link to the default reset page with ?token=", async () => {
    const s = await activeUser();
    const res = await request({ email: s.email }, { authorization: "Bearer expired.old.token" });
    expect(res.status).toBe(204);
    const mail = await lastMail(s.email, "password_reset");
    expect(mail.data.link).toBe(`http://localhost:8787/admin/reset-password?token=${mail.data.ticket}`);
  });

  it("uses reset_url when it is on PASSWORD_RESET_URL_ALLOW_LIST", async () => {
    const s = await activeUser();
    expect((await request({ email: s.email, reset_url: ALLOWED })).status).toBe(204);
    const mail = await lastMail(s.email, "password_reset");
    expect(mail.data.link).toBe(`${ALLOWED}?token=${mail.data.ticket}`);
  });

  it("refuses a reset_url outside the allow-list (no prefix, look-alike or scheme tricks) and sends nothing", async () => {
    const s = await activeUser();
    for (const bad of [
      "https://evil.example.com/reset",
      `${ALLOWED}/../../evil`,
      `${ALLOWED}x`,
      "https://app.example.com.evil.com/reset",
      "javascript:alert(1)",
      "//evil.example.com/reset",
    ]) {
      await expectErrors(
        await request({ email: s.email, reset_url: bad }),
        400,
        "INVALID_PAYLOAD",
        `Invalid payload. URL "${bad}" can't be used to reset passwords.`,
        `URL "${bad}" can't be used to reset passwords`,
      );
    }
    expect(await outbox(s.email)).toEqual([]);
  });

  it("answers 204 for an address without an account, and mails nothing", async () => {
    const email = uniqueEmail();
    expect((await request({ email })).status).toBe(204);
    expect(await outbox(email)).toEqual([]);
  });
});

describe("POST /auth/password/reset", () => {
  it("refuses a common password with FAILED_VALIDATION and leaves the token usable", async () => {
    const u = await directusUser();
    await request({ email: u.email });
    const token = await resetToken(u.email);
    await expectErrors(
      await reset({ token, password: "password123" }),
      400,
      "FAILED_VALIDATION",
      "This password is too common and easy to guess. Choose a less common one.",
    );
    expect((await reset({ token, password: "a brand new password" })).status).toBe(204);
  });

  it("sets the new password, ends every session, and the token works once", async () => {
    const u = await directusUser();
    await request({ email: u.email });
    const token = await resetToken(u.email);
    const res = await reset({ token, password: "a brand new password" });
    expect(res.status).toBe(204);
    expect(await tokenWorks(u.access)).toBe(401);
    expect((await call(`${D}/auth/refresh`, { json: { refresh_token: u.rt } })).status).toBe(401);
    expect((await directusLogin({ email: u.email, password: PASSWORD })).status).toBe(401);
    expect((await directusLogin({ email: u.email, password: "a brand new password" })).status).toBe(200);
    await expectErrors(
      await reset({ token, password: "yet another password" }),
      401,
      "INVALID_TOKEN",
      "Invalid token.",
    );
  });

  it("only one of 30 parallel uses of one token succeeds", async () => {
    const u = await directusUser();
    await request({ email: u.email });
    const token = await resetToken(u.email);
    const rs = await Promise.all(
      Array.from({ length: 30 }, (_, i) => reset({ token, password: `parallel password ${i}` })),
    );
    expect(statuses(rs)).toEqual({ 204: 1, 401: 29 });
  });

  it("only the newest token works", async () => {
    const u = await directusUser();
    await request({ email: u.email });
    const first = await resetToken(u.email);
    await request({ email: u.email });
    const second = await resetToken(u.email);
    expect((await reset({ token: first, password: "a brand new password" })).status).toBe(401);
    expect((await reset({ token: second, password: "a brand new password" })).status).toBe(204);
  });

  it("refuses a too short password without spending the token", async () => {
    const u = await directusUser();
    await request({ email: u.email });
    const token = await resetToken(u.email);
    const res = await reset({ token, password: "short" });
    expect(res.status).toBe(400);
    expect((await json(res)).errors[0].extensions.code).toBe("FAILED_VALIDATION");
    expect((await reset({ token, password: "long enough now" })).status).toBe(204);
  });
});
