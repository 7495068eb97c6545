/** TOTP: every wrong code counts, even in parallel; a code is accepted once. */
import { describe, expect, it } from "vitest";
import {
  activeUser,
  call,
  enableMfa,
  expectBoom,
  json,
  PASSWORD,
  statuses,
  totpCode,
  wrongCode,
} from "./helpers";

const N = 30;
const parallel = <T>(f: (i: number) => Promise<T>) => Promise.all(Array.from({ length: N }, (_, i) => f(i)));

const mfaTicket = async (email: string) =>
  (await json(await call("/auth/login", { json: { email, password: PASSWORD } }))).ticket as string;

describe("30 parallel wrong TOTP codes", () => {
  it("on /auth/mfa/disable: exactly ACCOUNT_MAX_FAILURES are evaluated, the rest are 429 with Retry-After", async () => {
    const s = await activeUser();
    const secret = await enableMfa(s);
    const bad = wrongCode(secret);
    const rs = await parallel(() => call("/auth/mfa/disable", { json: { code: bad }, token: s.jwt }));
    expect(statuses(rs)).toEqual({ 401: 10, 429: 20 });
    for (const r of rs.filter((r) => r.status === 429)) {
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await json(r)).toEqual({
        statusCode: 429,
        error: "Too Many Requests",
        message: "Too many attempts. Try again later.",
      });
    }
    // Locked: even the right code is not evaluated now.
    const locked = await call("/auth/mfa/disable", { json: { code: totpCode(secret, 1) }, token: s.jwt });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThanOrEqual(25);
  });

  it("with ACCOUNT_MAX_FAILURES=3: exactly 3 evaluated", async () => {
    const vars = { ACCOUNT_MAX_FAILURES: "3" };
    const s = await activeUser(vars);
    const secret = await enableMfa(s, vars);
    const rs = await parallel(() =>
      call("/auth/mfa/disable", { json: { code: wrongCode(secret) }, token: s.jwt, vars }),
    );
    expect(statuses(rs)).toEqual({ 401: 3, 429: 27 });
  });

  it("on one MFA login ticket: at most 5 codes are tried against it, none gets a session", async () => {
    const s = await activeUser();
    const secret = await enableMfa(s);
    const ticket = await mfaTicket(s.email);
    const bad = wrongCode(secret);
    const rs = await parallel(() => call("/auth/mfa/totp", { json: { ticket, code: bad } }));
    const bodies = await Promise.all(rs.map((r) => json(r)));
    expect(statuses(rs)).toEqual({ 401: N });
    expect(bodies.filter((b) => b.message === "Invalid two-factor code.")).toHaveLength(5);
    expect(bodies.filter((b) => b.message === "Invalid or expired ticket.")).toHaveLength(N - 5);
    // The ticket is spent by its attempts: the right code no longer helps.
    await expectBoom(
      await call("/auth/mfa/totp", { json: { ticket, code: totpCode(secret, 1) } }),
      401,
      "Invalid or expired ticket.",
    );
  });

  it("across many login tickets: the account counter still stops at ACCOUNT_MAX_FAILURES", async () => {
    const s = await activeUser();
    const secret = await enableMfa(s);
    const tickets = await Promise.all(Array.from({ length: 6 }, () => mfaTicket(s.email)));
    const bad = wrongCode(secret);
    const rs = await Promise.all(
      tickets.flatMap((ticket) =>
        Array.from({ length: 5 }, () => call("/auth/mfa/totp", { json: { ticket, code: bad } })),
      ),
    );
    const st = statuses(rs);
    expect(st[429]).toBe(20);
    expect(st[401]).toBe(10);
    expect(rs.filter((r) => r.status === 200)).toHaveLength(0);
  });
});

describe("TOTP replay", () => {
  it("the code that enabled MFA cannot log in", async () => {
    const s = await activeUser();
    const gen = await json(await call("/auth/mfa/generate", { json: {}, token: s.jwt }));
    const code = totpCode(gen.otp_secret);
    expect((await call("/auth/mfa/enable", { json: { code }, token: s.jwt })).status).toBe(204);
    const ticket = await mfaTicket(s.email);
    await expectBoom(
      await call("/auth/mfa/totp", { json: { ticket, code } }),
      401,
      "Invalid two-factor code.",
    );
    // The next step's code works.
    expect(
      (await call("/auth/mfa/totp", { json: { ticket, code: totpCode(gen.otp_secret, 1) } })).status,
    ).toBe(200);
  });

  it("a code that logged in once cannot log in again, nor an older one", async () => {
    const s = await activeUser();
    const secret = await enableMfa(s);
    const code = totpCode(secret, 1);
    expect((await call("/auth/mfa/totp", { json: { ticket: await mfaTicket(s.email), code } })).status).toBe(
      200,
    );
    const ticket = await mfaTicket(s.email);
    await expectBoom(
      await call("/auth/mfa/totp", { json: { ticket, code } }),
      401,
      "Invalid two-factor code.",
    );
    await expectBoom(
      await call("/auth/mfa/totp", { json: { ticket, code: totpCode(secret, -1) } }),
      401,
      "Invalid two-factor code.",
    );
  });

  it("one correct code sent 30 times in parallel to /auth/mfa/disable is accepted once", async () => {
    const s = await activeUser();
    const secret = await enableMfa(s);
    const code = totpCode(secret, 1);
    const rs = await parallel(() => call("/auth/mfa/disable", { json: { code }, token: s.jwt }));
    const st = statuses(rs);
    expect(st[204]).toBe(1);
    expect((st[400] ?? 0) + (st[401] ?? 0) + (st[429] ?? 0)).toBe(N - 1);
  });
});
