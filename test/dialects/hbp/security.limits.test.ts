/** Per-IP request windows and per-account lockouts hold under bursts of parallel requests. */
import { describe, expect, it } from "vitest";
import { atMinuteStart } from "../../support/clock";
import { activeUser, call, expectBoom, json, PASSWORD, statuses, uniqueEmail } from "./helpers";

const parallel = <T>(n: number, f: (i: number) => Promise<T>) =>
  Promise.all(Array.from({ length: n }, (_, i) => f(i)));

const oneIp = () => `203.0.113.${Math.floor(Math.random() * 250) + 1}-${crypto.randomUUID()}`;

describe("per-IP login window (20 per minute)", () => {
  it("a burst of 40 parallel logins from one IP admits exactly 20", async () => {
    const clock = atMinuteStart();
    const ip = oneIp();
    // Distinct unknown addresses, so the per-account counters stay out of the way.
    const rs = await parallel(40, () =>
      call("/auth/login", { json: { email: uniqueEmail(), password: PASSWORD }, ip, clock }),
    );
    expect(statuses(rs)).toEqual({ 401: 20, 429: 20 });
    const limited = rs.find((r) => r.status === 429)!;
    const retry = Number(limited.headers.get("retry-after"));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(60);
    expect(await json(limited)).toEqual({
      statusCode: 429,
      error: "Too Many Requests",
      message: "Too many requests. Try again later.",
    });
  });

  it("the limit holds for valid credentials too, and other IPs are unaffected", async () => {
    const s = await activeUser();
    const clock = atMinuteStart();
    const ip = oneIp();
    await parallel(20, () =>
      call("/auth/login", { json: { email: uniqueEmail(), password: PASSWORD }, ip, clock }),
    );
    const res = await call("/auth/login", { json: { email: s.email, password: PASSWORD }, ip, clock });
    expect(res.status).toBe(429);
    expect((await call("/auth/login", { json: { email: s.email, password: PASSWORD }, clock })).status).toBe(
      200,
    );
  });

  it("X-Forwarded-For does not open a new window", async () => {
    const clock = atMinuteStart();
    const ip = oneIp();
    const rs = await parallel(25, (i) =>
      call("/auth/login", {
        json: { email: uniqueEmail(), password: PASSWORD },
        ip,
        clock,
        headers: { "x-forwarded-for": `10.0.0.${i}` },
      }),
    );
    expect(statuses(rs)).toEqual({ 401: 20, 429: 5 });
  });

  it("RATE_LIMITS_ENABLED=false turns the window off", async () => {
    const vars = { RATE_LIMITS_ENABLED: "false" };
    const ip = oneIp();
    const rs = await parallel(25, () =>
      call("/auth/login", { json: { email: uniqueEmail(), password: PASSWORD }, ip, vars }),
    );
    expect(statuses(rs)).toEqual({ 401: 25 });
  });
});

describe("per-IP windows on the other credential routes", () => {
  it("register: 10 per 5 minutes", async () => {
    const ip = oneIp();
    const rs = await parallel(15, () =>
      call("/auth/register", { json: { email: uniqueEmail(), password: PASSWORD }, ip }),
    );
    expect(statuses(rs)).toEqual({ 200: 10, 429: 5 });
  });

  it("password-reset mail: 10 per hour", async () => {
    const ip = oneIp();
    const rs = await parallel(15, () =>
      call("/auth/change-password/request", { json: { email: uniqueEmail() }, ip }),
    );
    expect(statuses(rs)).toEqual({ 204: 10, 429: 5 });
  });

  it("ticket checks: 30 per 5 minutes", async () => {
    const ip = oneIp();
    const rs = await parallel(40, (i) => call(`/auth/activate?ticket=guess-${i}`, { ip }));
    expect(statuses(rs)).toEqual({ 401: 30, 429: 10 });
  });
});

describe("per-account lockout", () => {
  it("after ACCOUNT_MAX_FAILURES wrong passwords the account is locked, even for the right one", async () => {
    const s = await activeUser();
    for (let i = 0; i < 10; i++)
      await expectBoom(
        await call("/auth/login", { json: { email: s.email, password: `wrong ${i}` } }),
        401,
        "Username and password do not match",
      );
    const locked = await call("/auth/login", { json: { email: s.email, password: PASSWORD } });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThanOrEqual(25);
    expect(await json(locked)).toEqual({
      statusCode: 429,
      error: "Too Many Requests",
      message: "Too many attempts. Try again later.",
    });
    // Another account is not affected.
    const other = await activeUser();
    expect((await call("/auth/login", { json: { email: other.email, password: PASSWORD } })).status).toBe(
      200,
    );
  });

  it("30 parallel wrong passwords from 30 IPs: exactly ACCOUNT_MAX_FAILURES evaluated", async () => {
    const s = await activeUser();
    const rs = await parallel(30, (i) =>
      call("/auth/login", { json: { email: s.email, password: `wrong ${i}` } }),
    );
    expect(statuses(rs)).toEqual({ 401: 10, 429: 20 });
  });

  it("an unknown address locks the same way, so lockouts reveal nothing", async () => {
    const email = uniqueEmail();
    const rs = await parallel(12, () => call("/auth/login", { json: { email, password: PASSWORD } }));
    expect(statuses(rs)).toEqual({ 401: 10, 429: 2 });
  });

  it("the address is keyed in its canonical form (case does not open a new counter)", async () => {
    const s = await activeUser();
    const rs = await parallel(12, (i) =>
      call("/auth/login", { json: { email: i % 2 ? s.email.toUpperCase() : s.email, password: "wrong" } }),
    );
    expect(statuses(rs)).toEqual({ 401: 10, 429: 2 });
  });

  it("a success clears the count", async () => {
    const s = await activeUser();
    for (let i = 0; i < 9; i++) await call("/auth/login", { json: { email: s.email, password: "wrong" } });
    expect((await call("/auth/login", { json: { email: s.email, password: PASSWORD } })).status).toBe(200);
    for (let i = 0; i < 9; i++)
      expect((await call("/auth/login", { json: { email: s.email, password: "wrong" } })).status).toBe(401);
  });

  it("wrong current passwords on /auth/change-password lock too", async () => {
    const s = await activeUser();
    const rs = await parallel(12, () =>
      call("/auth/change-password", {
        json: { old_password: "wrong password", new_password: "another passphrase" },
        token: s.jwt,
      }),
    );
    expect(statuses(rs)).toEqual({ 401: 10, 429: 2 });
  });
});
