import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, uniqueEmail, type Vars } from "../../support/app";
import { type TestClock, testClock } from "../../support/clock";
import { hcall, ISO, json, latestPasscode, OPEN, signUp, UUID } from "./support";

const HINTS: Vars = { ACCOUNT_EXISTENCE_HINTS: "true" };

/** A user created with verification on (no session yet), as <hanko-auth> sign-up does. */
async function pendingUser() {
  const email = uniqueEmail("pass");
  const res = await call("/users", { json: { email }, vars: HINTS });
  expect(res.status).toBe(200);
  const body = await json(res);
  return { email, userId: body.user_id as string, emailId: body.email_id as string };
}

async function init(userId: string, vars = HINTS, emailId?: string) {
  return call("/passcode/login/initialize", { json: { user_id: userId, email_id: emailId }, vars });
}

const finalize = (id: string, code: string, vars = HINTS, clock?: TestClock) =>
  call("/passcode/login/finalize", { json: { id, code }, vars, clock });

const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

describe("hanko: passcode login", () => {
  it("mails a 6-digit code, signs in with it and verifies the address", async () => {
    const u = await pendingUser();
    const res = await init(u.userId);
    expect(res.status).toBe(200);
    const passcode = await json(res);
    expect(passcode).toEqual({
      id: expect.stringMatching(UUID),
      ttl: 300,
      created_at: expect.stringMatching(ISO),
    });
    const code = await latestPasscode(u.email);
    expect(code).toMatch(/^\d{6}$/);

    const done = await finalize(passcode.id, code);
    expect(done.status).toBe(200);
    expect(done.headers.get("x-session-lifetime")).toBe("3600");
    const token = done.headers.get("x-auth-token")!;
    expect(await json(await call("/me", { token }))).toEqual({ id: u.userId });
    expect(await json(await call("/user", { json: { email: u.email }, vars: HINTS }))).toEqual({
      id: u.userId,
      email_id: u.emailId,
      verified: true,
      has_webauthn_credential: false,
    });
    // Spent: the same code does not work twice.
    expect((await finalize(passcode.id, code)).status).toBe(401);
  });

  it("stores only an HMAC of the code", async () => {
    const u = await pendingUser();
    const { id } = await json(await init(u.userId));
    const code = await latestPasscode(u.email);
    const row = await env.DB.prepare("SELECT code_mac FROM passcodes WHERE id = ?")
      .bind(id)
      .first<{ code_mac: string }>();
    expect(row!.code_mac).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.code_mac).not.toContain(code);
  });

  it("sends to the chosen address (email_id) and verifies that one", async () => {
    const owner = await signUp();
    const second = uniqueEmail("second");
    const added = await json(await call("/emails", { token: owner.token, json: { address: second } }));
    expect(added.is_verified).toBe(false);
    const { id } = await json(await init(owner.userId, OPEN, added.id));
    const code = await latestPasscode(second);
    expect((await finalize(id, code, OPEN)).status).toBe(200);
    const emails = await json(await hcall("/emails", { token: owner.token }));
    expect(emails.find((e: { id: string }) => e.id === added.id).is_verified).toBe(true);
    expect((await init(owner.userId, OPEN, crypto.randomUUID())).status).toBe(400);
  });

  it("401 for a wrong code, 410 at the third wrong try, and the right code is dead after that", async () => {
    const u = await pendingUser();
    const { id } = await json(await init(u.userId));
    const code = await latestPasscode(u.email);
    const first = await finalize(id, wrong(code));
    expect(first.status).toBe(401);
    expect(await json(first)).toEqual({ code: 401, message: "Unauthorized" });
    expect((await finalize(id, wrong(code))).status).toBe(401);
    const third = await finalize(id, wrong(code));
    expect(third.status).toBe(410);
    expect(await json(third)).toEqual({ code: 410, message: "Gone" });
    expect((await finalize(id, code)).status).toBe(410);
  });

  it("408 for an expired code", async () => {
    const u = await pendingUser();
    const { id } = await json(await init(u.userId));
    const code = await latestPasscode(u.email);
    const clock = testClock();
    clock.advance(300 + 1); // PASSCODE_TTL defaults to 300 s
    const res = await finalize(id, code, HINTS, clock);
    expect(res.status).toBe(408);
    expect(await json(res)).toEqual({ code: 408, message: "Request Timeout" });
  });

  it("400 for malformed input, 401 for an unknown passcode id", async () => {
    expect((await finalize("nope", "123456")).status).toBe(400);
    expect((await finalize(crypto.randomUUID(), "12345")).status).toBe(400);
    expect((await finalize(crypto.randomUUID(), "123456")).status).toBe(401);
    expect((await call("/passcode/login/initialize", { json: {}, vars: HINTS })).status).toBe(400);
  });

  it("429 with Retry-After after three sends a minute", async () => {
    const u = await pendingUser();
    for (let i = 0; i < 3; i++) expect((await init(u.userId)).status).toBe(200);
    const limited = await init(u.userId);
    expect(limited.status).toBe(429);
    expect(await json(limited)).toEqual({ code: 429, message: "Too Many Requests" });
    const after = Number(limited.headers.get("retry-after"));
    expect(after).toBeGreaterThan(0);
    expect(after).toBeLessThanOrEqual(60);
  });

  it("a refused send stores no passcode and mails nothing", async () => {
    const u = await pendingUser();
    for (let i = 0; i < 3; i++) expect((await init(u.userId)).status).toBe(200);
    expect((await init(u.userId)).status).toBe(429);
    const rows = await env.DB.prepare(
      `SELECT (SELECT COUNT(*) FROM passcodes WHERE user_id = ?1) AS codes,
              (SELECT COUNT(*) FROM outbox WHERE "to" = ?2 AND kind = 'passcode') AS mails`,
    )
      .bind(u.userId, u.email)
      .first();
    expect(rows).toEqual({ codes: 3, mails: 3 });
  });

  it("hints off: an unknown user id gets the same answer and limit, and no mail", async () => {
    const ghost = crypto.randomUUID();
    const res = await call("/passcode/login/initialize", { json: { user_id: ghost } });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({
      id: expect.stringMatching(UUID),
      ttl: 300,
      created_at: expect.stringMatching(ISO),
    });
    expect((await call("/passcode/login/finalize", { json: { id: body.id, code: "123456" } })).status).toBe(
      401,
    );
    for (let i = 0; i < 2; i++)
      expect((await call("/passcode/login/initialize", { json: { user_id: ghost } })).status).toBe(200);
    expect((await call("/passcode/login/initialize", { json: { user_id: ghost } })).status).toBe(429);
    // With hints on an unknown user is a 400, as in Hanko.
    expect((await init(crypto.randomUUID())).status).toBe(400);
  });
});

describe("hanko: passcode brute force", () => {
  it("tries count against the account across codes (ACCOUNT_MAX_FAILURES, then 429 + Retry-After)", async () => {
    const vars: Vars = { ...HINTS, ACCOUNT_MAX_FAILURES: "3" };
    const u = await pendingUser();
    const first = await json(await init(u.userId, vars));
    const code1 = await latestPasscode(u.email);
    for (const expected of [401, 401, 410])
      expect((await finalize(first.id, wrong(code1), vars)).status).toBe(expected);
    const second = await json(await init(u.userId, vars));
    const code2 = await latestPasscode(u.email);
    const locked = await finalize(second.id, code2, vars);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("30 parallel guesses: at most 3 are evaluated", async () => {
    const u = await pendingUser();
    const { id } = await json(await init(u.userId));
    const code = await latestPasscode(u.email);
    const guesses = Array.from({ length: 30 }, (_, i) =>
      String((Number(code) + 1 + i) % 1_000_000).padStart(6, "0"),
    );
    const results = await Promise.all(guesses.map((g) => finalize(id, g)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(2);
    expect(statuses.filter((s) => s === 200)).toHaveLength(0);
    expect(statuses.every((s) => s === 401 || s === 410)).toBe(true);
    const row = await env.DB.prepare("SELECT tries FROM passcodes WHERE id = ?")
      .bind(id)
      .first<{ tries: number }>();
    expect(row!.tries).toBe(3);
    expect((await finalize(id, code)).status).toBe(410);
  });

  it("30 parallel submissions including the right code: at most one session", async () => {
    const u = await pendingUser();
    const { id } = await json(await init(u.userId));
    const code = await latestPasscode(u.email);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => finalize(id, i === 0 ? code : wrong(code))),
    );
    expect(results.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
    const row = await env.DB.prepare("SELECT tries FROM passcodes WHERE id = ?")
      .bind(id)
      .first<{ tries: number }>();
    expect(row!.tries).toBeLessThanOrEqual(3);
  });

  it("30 parallel submissions of the right code: exactly one session, and the code is spent into it", async () => {
    const u = await pendingUser();
    const { id } = await json(await init(u.userId));
    const code = await latestPasscode(u.email);
    const results = await Promise.all(Array.from({ length: 30 }, () => finalize(id, code)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const sessions = await env.DB.prepare("SELECT id FROM sessions WHERE user_id = ?")
      .bind(u.userId)
      .all<{ id: string }>();
    expect(sessions.results).toHaveLength(1);
    const row = await env.DB.prepare("SELECT spent_into FROM passcodes WHERE id = ?")
      .bind(id)
      .first<{ spent_into: string }>();
    expect(row!.spent_into).toBe(sessions.results[0]!.id);
  });

  it("a disabled account is refused with the right code: 403, no session, not activated", async () => {
    const u = await pendingUser();
    const { id } = await json(await init(u.userId));
    const code = await latestPasscode(u.email);
    await env.DB.prepare("UPDATE users SET disabled = 1 WHERE id = ?").bind(u.userId).run();
    expect((await finalize(id, code)).status).toBe(403);
    const state = await env.DB.prepare(
      `SELECT u.active, e.verified, (SELECT COUNT(*) FROM sessions WHERE user_id = u.id) AS sessions
       FROM users u JOIN emails e ON e.user_id = u.id WHERE u.id = ?`,
    )
      .bind(u.userId)
      .first();
    expect(state).toEqual({ active: 0, verified: 0, sessions: 0 });
  });
});

describe("hanko: a passcode verifies the address, which makes the default team once", () => {
  const teamsOf = async (userId: string) =>
    (await env.DB.prepare("SELECT COUNT(*) AS n FROM teams WHERE owner_id = ?")
      .bind(userId)
      .first<{ n: number }>())!.n;

  it("no team before; one after the first sign-in; still one after a second", async () => {
    const u = await pendingUser();
    expect(await teamsOf(u.userId)).toBe(0);
    for (const round of [1, 2]) {
      const passcode = await json(await init(u.userId));
      const res = await finalize(passcode.id, await latestPasscode(u.email));
      expect(res.status, `sign-in ${round}`).toBe(200);
      expect(await teamsOf(u.userId)).toBe(1);
    }
  });

  it("a sign-in that activates nothing makes no team (a deleted one stays deleted)", async () => {
    const u = await pendingUser();
    const first = await json(await init(u.userId));
    expect((await finalize(first.id, await latestPasscode(u.email))).status).toBe(200);
    await env.DB.prepare("DELETE FROM teams WHERE owner_id = ?").bind(u.userId).run();
    const second = await json(await init(u.userId));
    expect((await finalize(second.id, await latestPasscode(u.email))).status).toBe(200);
    expect(await teamsOf(u.userId)).toBe(0);
  });
});
