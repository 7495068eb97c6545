/**
 * Exactly-once consumption under 30 parallel requests: activation, reset, email-change, magic-link
 * and MFA tickets; registration of one address; refresh-token rotation with its grace window and
 * reuse detection.
 */
import { describe, expect, it } from "vitest";
import { testClock } from "../../support/clock";
import {
  activeUser,
  call,
  enableMfa,
  json,
  lastMail,
  liveRefreshTokens,
  PASSWORD,
  refreshCookie,
  sleep,
  statuses,
  tokenWorks,
  totpCode,
  uniqueEmail,
  usersWithEmail,
} from "./helpers";

const N = 30;
const parallel = <T>(f: (i: number) => Promise<T>) => Promise.all(Array.from({ length: N }, (_, i) => f(i)));
const SUCCESS = "https://app.example.com/welcome";

describe("one ticket, 30 parallel uses: exactly one wins", () => {
  it("activation", async () => {
    const vars = { REDIRECT_URL_SUCCESS: SUCCESS };
    const email = uniqueEmail();
    await call("/auth/register", { json: { email, password: PASSWORD }, vars });
    const { ticket } = (await lastMail(email, "activation")).data;
    const rs = await parallel(() => call(`/auth/activate?ticket=${encodeURIComponent(ticket!)}`, { vars }));
    const wins = rs.filter((r) => r.status === 302 && r.headers.get("location")!.startsWith(SUCCESS));
    expect(wins).toHaveLength(1);
    expect(statuses(rs)).toEqual({ 302: 1, 401: N - 1 });
  });

  it("password reset", async () => {
    const s = await activeUser();
    await call("/auth/change-password/request", { json: { email: s.email } });
    const { ticket } = (await lastMail(s.email, "password_reset")).data;
    const rs = await parallel((i) =>
      call("/auth/change-password/change", { json: { ticket, new_password: `new passphrase ${i}` } }),
    );
    expect(statuses(rs)).toEqual({ 204: 1, 401: N - 1 });
    const winner = rs.findIndex((r) => r.status === 204);
    expect(
      (await call("/auth/login", { json: { email: s.email, password: `new passphrase ${winner}` } })).status,
    ).toBe(200);
  });

  it("email change", async () => {
    const s = await activeUser();
    const next = uniqueEmail("new");
    await call("/auth/change-email/request", { json: { new_email: next }, token: s.jwt });
    const { ticket } = (await lastMail(next, "email_change")).data;
    const rs = await parallel(() => call("/auth/change-email/change", { json: { ticket } }));
    expect(statuses(rs)).toEqual({ 204: 1, 401: N - 1 });
    expect(await usersWithEmail(next)).toBe(1);
  });

  it("magic link (log-in)", async () => {
    const vars = { MAGIC_LINK_ENABLED: "true", REDIRECT_URL_SUCCESS: SUCCESS };
    const s = await activeUser();
    await call("/auth/login", { json: { email: s.email }, vars });
    const { token } = (await lastMail(s.email, "magic_link")).data;
    const rs = await parallel(() =>
      call(`/auth/magic-link?action=log-in&token=${encodeURIComponent(token!)}`, { vars }),
    );
    expect(statuses(rs)).toEqual({ 302: 1, 401: N - 1 });
  });

  it("MFA ticket with a correct code", async () => {
    const s = await activeUser();
    const secret = await enableMfa(s);
    const { ticket } = await json(
      await call("/auth/login", { json: { email: s.email, password: PASSWORD } }),
    );
    const code = totpCode(secret, 1);
    const rs = await parallel(() => call("/auth/mfa/totp", { json: { ticket, code, cookie: false } }));
    const st = statuses(rs);
    expect(st[200]).toBe(1);
    expect(st[401]).toBe(N - 1);
  });
});

describe("one address, 30 parallel registrations", () => {
  it("leave exactly one account", async () => {
    const email = uniqueEmail();
    const rs = await parallel(() =>
      call("/auth/register", {
        json: { email, password: PASSWORD },
        vars: { AUTO_ACTIVATE_NEW_USERS: "true", ACCOUNT_EXISTENCE_HINTS: "true" },
      }),
    );
    expect(statuses(rs)).toEqual({ 200: 1, 400: N - 1 });
    expect(await usersWithEmail(email)).toBe(1);
    const loser = rs.find((r) => r.status === 400)!;
    expect((await json(loser)).message).toBe("Account already exists.");
  });
});

describe("one address, 30 parallel registrations, existence hints off (default)", () => {
  it("all answer 200 alike; exactly one account exists and one of the sessions is real", async () => {
    const email = uniqueEmail();
    const rs = await parallel(() =>
      call("/auth/register", {
        json: { email, password: PASSWORD, cookie: false },
        vars: { AUTO_ACTIVATE_NEW_USERS: "true" },
      }),
    );
    expect(statuses(rs)).toEqual({ 200: N });
    expect(await usersWithEmail(email)).toBe(1);
    const bodies = await Promise.all(rs.map((r) => json(r)));
    const working = await Promise.all(
      bodies.map(async (b) => (await call(`/auth/token/refresh?refresh_token=${b.refresh_token}`)).status),
    );
    expect(statuses(working.map((status) => new Response(null, { status })))).toEqual({ 200: 1, 401: N - 1 });
  });
});

describe("refresh-token rotation", () => {
  it("30 parallel refreshes of one token within the grace window all get the same successor", async () => {
    const s = await activeUser();
    const rs = await parallel(() => call(`/auth/token/refresh?refresh_token=${s.refresh}`));
    expect(statuses(rs)).toEqual({ 200: N });
    const bodies = await Promise.all(rs.map((r) => json(r)));
    const tokens = new Set(bodies.map((b) => b.refresh_token));
    expect(tokens.size).toBe(1);
    expect(tokens.has(s.refresh)).toBe(false);
    // One branch: exactly one refresh token of the session can still be rotated.
    expect(await liveRefreshTokens(s.jwt)).toBe(1);
    for (const b of bodies.slice(0, 3)) expect(await tokenWorks(b.jwt_token)).toBe(400);
    const [successor] = [...tokens];
    const next = await json(await call(`/auth/token/refresh?refresh_token=${successor}`));
    expect(next.refresh_token).toEqual(expect.any(String));
    expect(next.refresh_token).not.toBe(successor);
    expect(await liveRefreshTokens(s.jwt)).toBe(1);
    expect(await tokenWorks(s.jwt)).toBe(400);
  });

  it("a refresh repeated within the grace window, one by one, gets the same successor again", async () => {
    const s = await activeUser();
    const a = await json(await call(`/auth/token/refresh?refresh_token=${s.refresh}`));
    const b = await json(await call(`/auth/token/refresh?refresh_token=${s.refresh}`));
    expect(b.refresh_token).toBe(a.refresh_token);
    expect(await liveRefreshTokens(s.jwt)).toBe(1);
  });

  it("30 parallel cookie refreshes all succeed too, with one successor cookie", async () => {
    const s = await activeUser();
    const rs = await parallel(() =>
      call("/auth/token/refresh", { headers: { cookie: `refresh_token=${s.refresh}` } }),
    );
    expect(statuses(rs)).toEqual({ 200: N });
    expect(new Set(rs.map((r) => refreshCookie(r))).size).toBe(1);
    expect(await liveRefreshTokens(s.jwt)).toBe(1);
  });

  it("reuse of a rotated token after the grace window revokes the whole family", async () => {
    const vars = { REFRESH_REUSE_GRACE: "1" };
    const s = await activeUser(vars);
    const r1 = await json(await call(`/auth/token/refresh?refresh_token=${s.refresh}`, { vars }));
    const r2 = await json(await call(`/auth/token/refresh?refresh_token=${r1.refresh_token}`, { vars }));
    expect(r2.refresh_token).toEqual(expect.any(String));
    // Within the grace window, the rotated token is still honoured, with the same successor.
    const again = await call(`/auth/token/refresh?refresh_token=${r1.refresh_token}`, { vars });
    expect(again.status).toBe(200);
    expect((await json(again)).refresh_token).toBe(r2.refresh_token);
    const clock = testClock();
    clock.advance(2); // past the 1 s grace window
    const reuse = await call(`/auth/token/refresh?refresh_token=${s.refresh}`, { vars, clock });
    expect(reuse.status).toBe(401);
    expect(await json(reuse)).toEqual({
      statusCode: 401,
      error: "Unauthorized",
      message: "Invalid or expired refresh token.",
    });
    // The newest token and the family's access tokens stop working too.
    expect(
      (await call(`/auth/token/refresh?refresh_token=${r2.refresh_token}`, { vars, clock })).status,
    ).toBe(401);
    expect(await tokenWorks(r2.jwt_token)).toBe(401);
    expect(await tokenWorks(s.jwt)).toBe(401);
  });

  it("reuse detection ends only that family: the user's other sessions stay", async () => {
    const vars = { REFRESH_REUSE_GRACE: "1" };
    const s = await activeUser(vars);
    const other = await json(
      await call("/auth/login", { json: { email: s.email, password: PASSWORD, cookie: false }, vars }),
    );
    await call(`/auth/token/refresh?refresh_token=${s.refresh}`, { vars });
    const clock = testClock();
    clock.advance(2); // past the 1 s grace window
    expect((await call(`/auth/token/refresh?refresh_token=${s.refresh}`, { vars, clock })).status).toBe(401);
    expect(
      (await call(`/auth/token/refresh?refresh_token=${other.refresh_token}`, { vars, clock })).status,
    ).toBe(200);
  });

  it("REFRESH_REUSE_GRACE=0: a second use of a token fails and ends the family", async () => {
    const vars = { REFRESH_REUSE_GRACE: "0" };
    const s = await activeUser(vars);
    const r1 = await json(await call(`/auth/token/refresh?refresh_token=${s.refresh}`, { vars }));
    await sleep(5);
    expect((await call(`/auth/token/refresh?refresh_token=${s.refresh}`, { vars })).status).toBe(401);
    expect((await call(`/auth/token/refresh?refresh_token=${r1.refresh_token}`, { vars })).status).toBe(401);
  });
});
