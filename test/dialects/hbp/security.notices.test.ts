/**
 * Security changes (TOTP on/off, email change, password change and reset) end every other session
 * of the user, the current one stays, and the user is told by mail what happened, when and from
 * which client.
 */
import { describe, expect, it } from "vitest";
import {
  activeUser,
  call,
  json,
  lastMail,
  login,
  PASSWORD,
  type Session,
  tokenWorks,
  totpCode,
  uniqueEmail,
} from "./helpers";

const UA = "NoticeTest/1.0 (security)";
const IP = "203.0.113.77";

/** A second session of the same user, through a fresh login. */
async function otherSession(s: Session) {
  const body = await login(s.email);
  return { jwt: body.jwt_token as string, refresh: body.refresh_token as string };
}

const refreshes = async (refresh: string) =>
  (await call(`/auth/token/refresh?refresh_token=${encodeURIComponent(refresh)}`)).status;

/** The notice names the change, the time and the client (user agent and network, not the host). */
function expectNotice(mail: { text: string; data: Record<string, string> }, what: RegExp) {
  expect(mail.text).toMatch(what);
  expect(mail.text).toContain(UA);
  expect(mail.text).toContain("203.0.113.0/24");
  expect(mail.text).not.toContain(IP);
  expect(mail.data.when).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  expect(Date.now() - Date.parse(mail.data.when!)).toBeLessThan(60_000);
  expect(mail.text).toMatch(/If this was not you/);
}

const client = { headers: { "user-agent": UA }, ip: IP };

describe("hbp: security changes end the other sessions and send a notice", () => {
  it("TOTP enabled: other sessions end, this one stays, mail 'turned on'", async () => {
    const s = await activeUser();
    const other = await otherSession(s);
    const gen = await json(await call("/auth/mfa/generate", { json: {}, token: s.jwt }));
    const en = await call("/auth/mfa/enable", {
      json: { code: totpCode(gen.otp_secret) },
      token: s.jwt,
      ...client,
    });
    expect(en.status).toBe(204);
    expect(await tokenWorks(other.jwt)).toBe(401);
    expect(await refreshes(other.refresh)).toBe(401);
    expect(await tokenWorks(s.jwt)).toBe(400);
    expect(await refreshes(s.refresh)).toBe(200);
    expectNotice(await lastMail(s.email, "totp_enabled"), /Two-factor authentication .* was turned on/);
  });

  it("TOTP disabled: other sessions end, this one stays, mail 'turned off'", async () => {
    const s = await activeUser();
    // Enabled with the previous step, the second login uses the current one, disabling the next.
    const gen = await json(await call("/auth/mfa/generate", { json: {}, token: s.jwt }));
    const secret = gen.otp_secret as string;
    expect(
      (await call("/auth/mfa/enable", { json: { code: totpCode(secret, -1) }, token: s.jwt })).status,
    ).toBe(204);
    const ticket = (await json(await call("/auth/login", { json: { email: s.email, password: PASSWORD } })))
      .ticket;
    const second = await json(
      await call("/auth/mfa/totp", { json: { ticket, code: totpCode(secret), cookie: false } }),
    );
    expect(await tokenWorks(second.jwt_token)).toBe(400);
    const dis = await call("/auth/mfa/disable", {
      json: { code: totpCode(secret, 1) },
      token: s.jwt,
      ...client,
    });
    expect(
      dis.status,
      JSON.stringify(
        await dis
          .clone()
          .json()
          .catch(() => null),
      ),
    ).toBe(204);
    expect(await tokenWorks(second.jwt_token)).toBe(401);
    expect(await tokenWorks(s.jwt)).toBe(400);
    expectNotice(await lastMail(s.email, "totp_disabled"), /turned off/);
  });

  it("password changed: the other sessions end (as before) and the user gets a notice", async () => {
    const s = await activeUser();
    const other = await otherSession(s);
    const res = await call("/auth/change-password", {
      json: { old_password: PASSWORD, new_password: "another good password" },
      token: s.jwt,
      ...client,
    });
    expect(res.status).toBe(204);
    expect(await tokenWorks(other.jwt)).toBe(401);
    expect(await tokenWorks(s.jwt)).toBe(400);
    expectNotice(
      await lastMail(s.email, "password_changed"),
      /password of your Latchkey account was changed/,
    );
  });

  it("password reset: every session ends and the user gets a notice", async () => {
    const s = await activeUser();
    expect((await call("/auth/change-password/request", { json: { email: s.email } })).status).toBe(204);
    const ticket = (await lastMail(s.email, "password_reset")).data.ticket;
    const res = await call("/auth/change-password/change", {
      json: { ticket, new_password: "a brand new password" },
      ...client,
    });
    expect(res.status).toBe(204);
    expect(await tokenWorks(s.jwt)).toBe(401);
    expectNotice(
      await lastMail(s.email, "password_reset_done"),
      /password of your Latchkey account was reset/,
    );
  });

  it("email changed directly (VERIFY_EMAILS=false): other sessions end, both addresses are told", async () => {
    const vars = { VERIFY_EMAILS: "false" };
    const s = await activeUser();
    const other = await otherSession(s);
    const next = uniqueEmail("next");
    const res = await call("/auth/change-email", {
      json: { new_email: next },
      token: s.jwt,
      vars,
      ...client,
    });
    expect(res.status).toBe(204);
    expect(await tokenWorks(other.jwt)).toBe(401);
    expect(await tokenWorks(s.jwt)).toBe(400);
    for (const to of [s.email, next]) {
      const mail = await lastMail(to, "email_changed");
      expectNotice(mail, /email address of your Latchkey account was changed/);
      expect(mail.data.new_email).toBe(next);
    }
  });

  it("email changed by link: every session but the requesting one ends, both addresses are told", async () => {
    const s = await activeUser();
    const other = await otherSession(s);
    const next = uniqueEmail("next");
    const req = await call("/auth/change-email/request", { json: { new_email: next }, token: s.jwt });
    expect(req.status).toBe(204);
    const ticket = (await lastMail(next, "email_change")).data.ticket;
    expect((await call("/auth/change-email/change", { json: { ticket }, ...client })).status).toBe(204);
    expect(await tokenWorks(other.jwt)).toBe(401);
    expect(await tokenWorks(s.jwt)).toBe(400);
    expectNotice(await lastMail(s.email, "email_changed"), /changed\. The new address is/);
    expect((await lastMail(next, "email_changed")).data.new_email).toBe(next);
  });
});
