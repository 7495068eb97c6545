/**
 * Just-in-time sign-up with ACCOUNT_EXISTENCE_HINTS off (the default): POST /user never answers
 * 404, so <hanko-auth> goes straight to a passcode for the ids it got. For an address with no
 * account that passcode is really mailed ("use this code to create your account") and its right
 * code creates the account (verified) and signs in. To a caller who cannot read the mailbox, an
 * unknown and a known address look the same at every step.
 */
import { env } from "cloudflare:test";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { call, uniqueEmail, type Vars } from "../../support/app";
import { ISO, json, latestPasscode, signUp, UUID } from "./support";

/** The defaults: hints off, verification on, sign-up on. */
const DEFAULTS: Vars = {};

const lookup = (email: string, vars = DEFAULTS) => call("/user", { json: { email }, vars });
const init = (userId: string, emailId?: string, vars = DEFAULTS) =>
  call("/passcode/login/initialize", { json: { user_id: userId, email_id: emailId }, vars });
const finalize = (id: string, code: string, vars = DEFAULTS) =>
  call("/passcode/login/finalize", { json: { id, code }, vars });
const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

async function latestSignupCode(to: string): Promise<string | null> {
  const row = await env.DB.prepare(
    // The sign-up wording of the passcode mail (its kind stays "passcode", as for an account).
    `SELECT data FROM outbox WHERE "to" = ? AND kind = 'passcode' AND subject LIKE '%sign-up code%' ORDER BY created_at DESC, rowid DESC LIMIT 1`,
  )
    .bind(to)
    .first<{ data: string }>();
  return row ? JSON.parse(row.data).code : null;
}

async function accounts(address: string) {
  const { results } = await env.DB.prepare(
    "SELECT u.id, u.active, e.id AS email_id, e.verified, e.is_primary FROM emails e JOIN users u ON u.id = e.user_id WHERE e.address = ?",
  )
    .bind(address)
    .all<{ id: string; active: number; email_id: string; verified: number; is_primary: number }>();
  return results;
}

/** The header names an answer carries, without the per-response ones. */
const headerNames = (res: Response) =>
  [...res.headers.keys()].filter((k) => !["server-timing", "x-latchkey-bookmark"].includes(k)).sort();

/** POST /user, then a passcode for the ids it answered (what <hanko-auth> does with hints off). */
async function start(email: string, vars = DEFAULTS) {
  const ids = await json(await lookup(email, vars));
  const res = await init(ids.id, ids.email_id, vars);
  expect(res.status).toBe(200);
  return { ids, passcode: await json(res) };
}

describe("hanko: just-in-time sign-up (hints off)", () => {
  it("mails a code to an unknown address; the code creates the verified account under the ids POST /user gave, and signs in", async () => {
    const email = uniqueEmail("jit");
    const { ids, passcode } = await start(email);
    expect(passcode).toEqual({
      id: expect.stringMatching(UUID),
      ttl: 300,
      created_at: expect.stringMatching(ISO),
    });
    const code = await latestSignupCode(email);
    expect(code).toMatch(/^\d{6}$/);
    const { results } = await env.DB.prepare(
      `SELECT subject, text FROM outbox WHERE "to" = ? AND kind = 'passcode'`,
    )
      .bind(email)
      .all<{ subject: string; text: string }>();
    expect(results).toHaveLength(1);
    expect(results[0]!.text).toContain("to create your");
    expect(results[0]!.text).toContain(code!);
    expect(await accounts(email)).toEqual([]);

    const done = await finalize(passcode.id, code!);
    expect(done.status).toBe(200);
    expect(await json(done)).toEqual({ id: passcode.id });
    expect(done.headers.get("x-session-lifetime")).toBe("3600");
    const token = done.headers.get("x-auth-token")!;
    expect(await json(await call("/me", { token }))).toEqual({ id: ids.id });
    expect(await accounts(email)).toEqual([
      { id: ids.id, active: 1, email_id: ids.email_id, verified: 1, is_primary: 1 },
    ]);
    const user = await json(await call(`/users/${ids.id}`, { token }));
    expect(user).toMatchObject({ id: ids.id, email, verified: true });
    // POST /user answers the same ids before and after: nothing changes for an observer.
    expect(await json(await lookup(email))).toEqual(ids);
    // The default team comes with the account, as with any verified sign-up.
    const team = await env.DB.prepare("SELECT COUNT(*) AS n FROM teams WHERE owner_id = ?")
      .bind(ids.id)
      .first<{ n: number }>();
    expect(team!.n).toBe(1);
    // Spent.
    expect((await finalize(passcode.id, code!)).status).toBe(401);
  });

  it("a decoy handed out for the address later never carries the new account's id (signature-only checks such as Hasura's)", async () => {
    const email = uniqueEmail("decoy");
    const { ids, passcode } = await start(email);
    expect((await finalize(passcode.id, (await latestSignupCode(email))!)).status).toBe(200);
    // hanko POST /users with verification off: a taken address gets tokens of a session that does not exist.
    const hanko = await call("/users", { json: { email }, vars: { VERIFY_EMAILS: "false" } });
    expect(hanko.status).toBe(200);
    expect((await json(hanko)).user_id).not.toBe(ids.id);
    expect(decodeJwt(hanko.headers.get("x-auth-token")!).sub).not.toBe(ids.id);
    // hbp sign-up signed in at once: its decoy's Hasura claims name another id.
    const hbp = await call("/auth/register", {
      json: { email, password: "correct horse battery", cookie: false },
      vars: { AUTO_ACTIVATE_NEW_USERS: "true" },
    });
    expect(hbp.status).toBe(200);
    const claims = decodeJwt((await json(hbp)).jwt_token);
    expect(claims.sub).not.toBe(ids.id);
    expect(JSON.stringify(claims)).not.toContain(ids.id);
  });

  it("an unknown and a known address look the same: status, body shape, headers, at each step", async () => {
    const known = await signUp(uniqueEmail("known"), { VERIFY_EMAILS: "false" });
    const unknown = uniqueEmail("unknown");
    const [a, b] = [await lookup(known.email), await lookup(unknown)];
    expect(a.status).toBe(b.status);
    expect(headerNames(a)).toEqual(headerNames(b));
    const [ka, kb] = [await json(a), await json(b)];
    expect(Object.keys(ka).sort()).toEqual(Object.keys(kb).sort());
    expect([ka.verified, ka.has_webauthn_credential]).toEqual([kb.verified, kb.has_webauthn_credential]);

    const [ia, ib] = [await init(ka.id, ka.email_id), await init(kb.id, kb.email_id)];
    expect(ia.status).toBe(200);
    expect(ib.status).toBe(200);
    expect(headerNames(ia)).toEqual(headerNames(ib));
    const [pa, pb] = [await json(ia), await json(ib)];
    expect(Object.keys(pa).sort()).toEqual(Object.keys(pb).sort());
    expect(pa.ttl).toBe(pb.ttl);
    // Both mailboxes got a code; the caller did not.
    expect(await latestPasscode(known.email)).toMatch(/^\d{6}$/);
    expect(await latestSignupCode(unknown)).toMatch(/^\d{6}$/);

    const codeA = (await latestPasscode(known.email))!;
    const codeB = (await latestSignupCode(unknown))!;
    const [fa, fb] = [await finalize(pa.id, wrong(codeA)), await finalize(pb.id, wrong(codeB))];
    expect([fa.status, fb.status]).toEqual([401, 401]);
    expect(await json(fa)).toEqual(await json(fb));
    expect(headerNames(fa)).toEqual(headerNames(fb));
  });

  it("20 parallel finalizes with the right code: one account, one session", async () => {
    const email = uniqueEmail("race");
    const { ids, passcode } = await start(email);
    const code = (await latestSignupCode(email))!;
    // Tries are counted before the code is compared, so at most 3 of the 20 are evaluated.
    const results = await Promise.all(Array.from({ length: 20 }, () => finalize(passcode.id, code)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.every((s) => s === 200 || s === 401 || s === 410)).toBe(true);
    expect(await accounts(email)).toHaveLength(1);
    const { results: sessions } = await env.DB.prepare("SELECT id FROM sessions WHERE user_id = ?")
      .bind(ids.id)
      .all();
    expect(sessions).toHaveLength(1);
  });

  it("two codes for one address, both right, in parallel: one account", async () => {
    const email = uniqueEmail("two");
    const first = await start(email);
    const codeA = (await latestSignupCode(email))!;
    const second = await init(first.ids.id, first.ids.email_id);
    const codeB = (await latestSignupCode(email))!;
    const idB = (await json(second)).id;
    const [ra, rb] = await Promise.all([finalize(first.passcode.id, codeA), finalize(idB, codeB)]);
    expect([ra.status, rb.status].sort()).toEqual([200, 401]);
    expect(await accounts(email)).toHaveLength(1);
  });

  it("an address registered meanwhile by someone else: the right code fails as a wrong one and changes nothing", async () => {
    const email = uniqueEmail("taken");
    const { passcode } = await start(email);
    const code = (await latestSignupCode(email))!;
    // Someone signs the address up through POST /users (verification on: inactive, unverified).
    const other = await call("/users", { json: { email } });
    expect(other.status).toBe(200);
    const otherId = (await json(other)).user_id;
    const res = await finalize(passcode.id, code);
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ code: 401, message: "Unauthorized" });
    expect(res.headers.get("x-auth-token")).toBeNull();
    // Only the other account, still neither active nor verified.
    expect(await accounts(email)).toEqual([
      { id: otherId, active: 0, email_id: expect.any(String), verified: 0, is_primary: 1 },
    ]);
  });

  it("an address that got an account after POST /user: no sign-up code is mailed", async () => {
    const email = uniqueEmail("late");
    const ids = await json(await lookup(email));
    await signUp(email, { VERIFY_EMAILS: "false" });
    expect((await init(ids.id, ids.email_id)).status).toBe(200);
    expect(await latestSignupCode(email)).toBeNull();
  });

  it("sign-up disabled: the same answers, no code mailed, and a code sent before fails as a wrong one", async () => {
    const off: Vars = { SIGNUP_ENABLED: "false" };
    const email = uniqueEmail("off");
    const { passcode } = await start(email, off);
    expect(await latestSignupCode(email)).toBeNull();
    expect((await finalize(passcode.id, "123456", off)).status).toBe(401);

    // Sent while sign-up was on, finalized after it was turned off.
    const later = uniqueEmail("later");
    const sent = await start(later);
    const code = (await latestSignupCode(later))!;
    const res = await finalize(sent.passcode.id, code, off);
    expect(res.status).toBe(401);
    expect(await accounts(later)).toEqual([]);
  });

  it("a wrong code counts a try (3 per code) and against the address across codes", async () => {
    const vars: Vars = { ACCOUNT_MAX_FAILURES: "3" };
    const email = uniqueEmail("guess");
    const { passcode } = await start(email, vars);
    const code = (await latestSignupCode(email))!;
    expect((await finalize(passcode.id, wrong(code), vars)).status).toBe(401);
    expect((await finalize(passcode.id, wrong(code), vars)).status).toBe(401);
    expect((await finalize(passcode.id, wrong(code), vars)).status).toBe(410);
    expect((await finalize(passcode.id, code, vars)).status).toBe(410);
    // A fresh code for the same address: the address is locked out for now, the right code too.
    const again = await start(email, vars);
    const locked = await finalize(again.passcode.id, (await latestSignupCode(email))!, vars);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await accounts(email)).toEqual([]);
  });

  it("with hints on nothing changes: an unknown address is a 404 and no sign-up is pending", async () => {
    const vars: Vars = { ACCOUNT_EXISTENCE_HINTS: "true" };
    const email = uniqueEmail("hints");
    expect((await lookup(email, vars)).status).toBe(404);
    const { results } = await env.DB.prepare(
      "SELECT hash FROM tickets WHERE purpose = 'signup_pending' AND data LIKE ?",
    )
      .bind(`%${email}%`)
      .all();
    expect(results).toEqual([]);
  });
});
