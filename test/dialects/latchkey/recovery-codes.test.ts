/**
 * TOTP recovery codes (/v1/mfa/recovery-codes): shown once, hashed, single-use, accepted wherever a
 * TOTP code is at sign-in (hbp /auth/mfa/totp, Directus `otp`, formauth /two-factor).
 */
import { describe, expect, it } from "vitest";
import { freshIp } from "../../support/app";
import { D } from "../directus/helpers";
import { A } from "../formauth/helpers";
import {
  activeUser,
  call,
  enableMfa,
  json,
  lastMail,
  outbox,
  PASSWORD,
  type Session,
  statuses,
  totpCode,
} from "../hbp/helpers";

const CODE = /^[A-Z2-7]{5}-[A-Z2-7]{5}$/;

/**
 * A user with TOTP on (enabled with the previous step's code) and a set of recovery codes made
 * with the current step's code, so step +1 is still free for one more TOTP use.
 */
async function withCodes(): Promise<{ s: Session; secret: string; codes: string[] }> {
  const s = await activeUser();
  const { otp_secret: secret } = await json(await call("/auth/mfa/generate", { json: {}, token: s.jwt }));
  const en = await call("/auth/mfa/enable", { json: { code: totpCode(secret, -1) }, token: s.jwt });
  expect(en.status).toBe(204);
  const res = await call("/v1/mfa/recovery-codes", { json: { code: totpCode(secret) }, token: s.jwt });
  const body = await json(res);
  expect(res.status, JSON.stringify(body)).toBe(200);
  return { s, secret, codes: body.codes };
}

async function ticketFor(email: string): Promise<string> {
  const body = await json(await call("/auth/login", { json: { email, password: PASSWORD }, ip: freshIp() }));
  expect(body.mfa).toBe(true);
  return body.ticket;
}

const hbpStep = (ticket: string, code: string) =>
  call("/auth/mfa/totp", { json: { ticket, code, cookie: false }, ip: freshIp() });

const remaining = async (jwt: string) =>
  (await json(await call("/v1/mfa/recovery-codes", { token: jwt }))).remaining;

describe("POST /v1/mfa/recovery-codes", () => {
  it("answers 10 distinct codes once, for a current TOTP code; GET counts them", async () => {
    const { s, codes } = await withCodes();
    expect(codes).toHaveLength(10);
    for (const c of codes) expect(c).toMatch(CODE);
    expect(new Set(codes).size).toBe(10);
    expect(await remaining(s.jwt)).toBe(10);
  });

  it("needs a fresh TOTP code: a wrong or replayed code is 401, a recovery code is 400", async () => {
    const { s, secret, codes } = await withCodes();
    // The code that made the set was claimed: it cannot make another.
    const replay = await call("/v1/mfa/recovery-codes", { json: { code: totpCode(secret) }, token: s.jwt });
    expect(replay.status).toBe(401);
    expect(await replay.json()).toEqual({ error: { code: "INVALID_OTP", message: "The code is invalid." } });
    const withRecovery = await call("/v1/mfa/recovery-codes", { json: { code: codes[0] }, token: s.jwt });
    expect(withRecovery.status).toBe(400);
    expect(await remaining(s.jwt)).toBe(10);
  });

  it("is 409 MFA_NOT_ENABLED without TOTP, 401 without a token", async () => {
    const s = await activeUser();
    const res = await call("/v1/mfa/recovery-codes", { json: { code: "123456" }, token: s.jwt });
    expect(res.status).toBe(409);
    expect((await json(res)).error.code).toBe("MFA_NOT_ENABLED");
    expect(await remaining(s.jwt)).toBe(0);
    expect((await call("/v1/mfa/recovery-codes")).status).toBe(401);
    expect((await call("/v1/mfa/recovery-codes", { json: { code: "123456" } })).status).toBe(401);
  });

  it("a regenerated set voids the old one", async () => {
    const { s, secret, codes: old } = await withCodes();
    const res = await call("/v1/mfa/recovery-codes", { json: { code: totpCode(secret, 1) }, token: s.jwt });
    expect(res.status).toBe(200);
    const fresh: string[] = (await json(res)).codes;
    expect(fresh).not.toEqual(old);
    expect((await hbpStep(await ticketFor(s.email), old[0]!)).status).toBe(401);
    const ok = await hbpStep(await ticketFor(s.email), fresh[0]!);
    expect(ok.status).toBe(200);
    expect(await remaining(s.jwt)).toBe(9);
  });
});

describe("signing in with a recovery code", () => {
  it("works once in the hbp MFA step, the user is told how many are left", async () => {
    const { s, codes } = await withCodes();
    const res = await hbpStep(await ticketFor(s.email), codes[3]!.toLowerCase());
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.jwt_token).toEqual(expect.any(String));
    expect(await remaining(s.jwt)).toBe(9);
    const notice = await lastMail(s.email, "recovery_code_used");
    expect(notice.text).toContain("9");
    // Once only, with or without the dash.
    const again = await hbpStep(await ticketFor(s.email), codes[3]!.replace("-", ""));
    expect(again.status).toBe(401);
    expect((await json(again)).message).toBe("Invalid two-factor code.");
    expect(await remaining(s.jwt)).toBe(9);
  });

  it("30 parallel uses of one code: exactly one session", async () => {
    const { s, codes } = await withCodes();
    const tickets: string[] = [];
    for (let i = 0; i < 30; i++) tickets.push(await ticketFor(s.email));
    const rs = await Promise.all(tickets.map((t) => hbpStep(t, codes[0]!)));
    const st = statuses(rs);
    expect(st[200]).toBe(1);
    expect((st[401] ?? 0) + (st[429] ?? 0)).toBe(29);
    expect(await remaining(s.jwt)).toBe(9);
    expect((await outbox(s.email)).filter((m) => m.kind === "recovery_code_used")).toHaveLength(1);
  });

  it("30 parallel submissions of one ticket with one code: one session, the code spent once", async () => {
    const { s, codes } = await withCodes();
    const ticket = await ticketFor(s.email);
    const rs = await Promise.all(Array.from({ length: 30 }, () => hbpStep(ticket, codes[1]!)));
    expect(statuses(rs)[200]).toBe(1);
    expect(await remaining(s.jwt)).toBe(9);
  });

  it("is accepted as Directus `otp` and formauth's two-factor code", async () => {
    const { s, codes } = await withCodes();
    const d = await call(`${D}/auth/login`, {
      json: { email: s.email, password: PASSWORD, otp: codes[0], mode: "json" },
      ip: freshIp(),
    });
    expect(d.status, await d.clone().text()).toBe(200);
    expect((await json(d)).data.access_token).toEqual(expect.any(String));
    const login = await json(await call(`${A}/login`, { form: { email: s.email, password: PASSWORD } }));
    expect(login.twoFactor).toBe(true);
    const f = await call(`${A}/two-factor`, { form: { token: login.access_token, code: codes[1]! } });
    expect(f.status, await f.clone().text()).toBe(200);
    expect(await remaining(s.jwt)).toBe(8);
  });

  it("a code is no TOTP code elsewhere, and not another user's code", async () => {
    const { s, codes } = await withCodes();
    const other = await withCodes();
    expect((await hbpStep(await ticketFor(other.s.email), codes[0]!)).status).toBe(401);
    // Turning TOTP off takes a TOTP code, never a recovery code.
    const off = await call("/auth/mfa/disable", { json: { code: codes[0] }, token: s.jwt });
    expect(off.status).toBe(400);
    expect(await remaining(s.jwt)).toBe(10);
    expect(await remaining(other.s.jwt)).toBe(10);
  });

  it("turning TOTP off deletes the codes", async () => {
    const { s, secret, codes } = await withCodes();
    const off = await call("/auth/mfa/disable", { json: { code: totpCode(secret, 1) }, token: s.jwt });
    expect(off.status).toBe(204);
    expect(await remaining(s.jwt)).toBe(0);
    // TOTP on again with a new secret: the old codes stay void.
    const secret2 = await enableMfa(s);
    expect(secret2).not.toBe(secret);
    expect((await hbpStep(await ticketFor(s.email), codes[0]!)).status).toBe(401);
  });
});
