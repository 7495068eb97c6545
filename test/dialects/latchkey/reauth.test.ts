/**
 * Step-up (/v1/reauthenticate): a session proves a credential again so that sensitive changes in
 * any dialect go through for STEP_UP_MAX_AGE seconds; refreshing never renews it.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type CallOptions, freshIp } from "../../support/app";
import { testClock } from "../../support/clock";
import { createCredential, getAssertion, type SoftCredential } from "../../support/soft-authenticator";
import { activeUser, call, json, PASSWORD, type Session, statuses, totpCode } from "../hbp/helpers";
import { expectError } from "./helpers";

const STALE = 301;

/** An hbp email-change request: a change that needs a recent sign-in (204 when it goes through). */
const changeEmail = (jwt: string, opts: CallOptions = {}) =>
  call("/auth/change-email/request", {
    json: { new_email: `new-${crypto.randomUUID()}@example.com` },
    token: jwt,
    ...opts,
  });

const reauth = (jwt: string, body: unknown, opts: CallOptions = {}) =>
  call("/v1/reauthenticate", { json: body, token: jwt, ip: freshIp(), ...opts });

async function authAt(jwt: string): Promise<number> {
  const sid = JSON.parse(atob(jwt.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))).sid;
  const row = await env.DB.prepare("SELECT auth_at FROM sessions WHERE id = ?")
    .bind(sid)
    .first<{ auth_at: number }>();
  return row!.auth_at;
}

/** A passkey registered for the hbp user through Hanko's routes (same core, same token). */
async function passkeyFor(s: Session): Promise<SoftCredential> {
  const init = await call("/webauthn/registration/initialize", { method: "POST", token: s.jwt });
  expect(init.status).toBe(200);
  const { credential, response } = await createCredential(await init.json());
  const fin = await call("/webauthn/registration/finalize", { token: s.jwt, json: response });
  expect(fin.status).toBe(200);
  return credential;
}

async function passkeyOptions(jwt: string, opts: CallOptions = {}) {
  const res = await call("/v1/reauthenticate/passkey/options", { method: "POST", token: jwt, ...opts });
  expect(res.status).toBe(200);
  return { publicKey: await json(res) };
}

async function totpUser(): Promise<{ s: Session; secret: string }> {
  const s = await activeUser();
  const { otp_secret: secret } = await json(await call("/auth/mfa/generate", { json: {}, token: s.jwt }));
  expect(
    (await call("/auth/mfa/enable", { json: { code: totpCode(secret, -1) }, token: s.jwt })).status,
  ).toBe(204);
  return { s, secret };
}

describe("step-up: the session's last proven credential", () => {
  it("a sign-in is fresh; after STEP_UP_MAX_AGE the change is 403 REAUTHENTICATION_REQUIRED naming the route", async () => {
    const clock = testClock();
    const s = await activeUser();
    expect((await changeEmail(s.jwt, { clock })).status).toBe(204);
    clock.advance(STALE);
    const res = await changeEmail(s.jwt, { clock });
    expect(res.status).toBe(403);
    expect((await json(res)).message).toContain("POST /v1/reauthenticate");
  });

  it("STEP_UP_MAX_AGE=0 turns the check off", async () => {
    const clock = testClock();
    const s = await activeUser();
    clock.advance(600);
    const res = await changeEmail(s.jwt, { clock, vars: { STEP_UP_MAX_AGE: "0" } });
    expect(res.status).toBe(204);
  });

  it("refreshing does not renew it", async () => {
    const clock = testClock();
    const s = await activeUser();
    const before = await authAt(s.jwt);
    clock.advance(STALE);
    const r = await call(`/auth/token/refresh?refresh_token=${s.refresh}`, { clock });
    expect(r.status).toBe(200);
    const jwt = (await json(r)).jwt_token;
    expect(await authAt(jwt)).toBe(before);
    expect((await changeEmail(jwt, { clock })).status).toBe(403);
  });
});

describe("POST /v1/reauthenticate", () => {
  it("with the password: 200 {auth_at}, recorded, the change goes through, an audit row", async () => {
    const clock = testClock();
    const s = await activeUser();
    clock.advance(STALE);
    const res = await reauth(s.jwt, { password: PASSWORD }, { clock });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toEqual({ auth_at: new Date(clock.now()).toISOString() });
    expect(await authAt(s.jwt)).toBe(clock.now());
    expect((await changeEmail(s.jwt, { clock })).status).toBe(204);
    // Fresh again only for STEP_UP_MAX_AGE.
    clock.advance(STALE);
    expect((await changeEmail(s.jwt, { clock })).status).toBe(403);
    const rows = await env.DB.prepare(
      "SELECT type, data FROM audit_events WHERE user_id = ? AND type LIKE 'reauth.%' ORDER BY at",
    )
      .bind(s.userId)
      .all<{ type: string; data: string }>();
    expect(rows.results.map((r) => [r.type, JSON.parse(r.data).method])).toEqual([
      ["reauth.succeeded", "password"],
    ]);
  });

  it("a wrong password: 401 INVALID_CREDENTIALS, nothing recorded, a reauth.failed row; counted per account (429)", async () => {
    const clock = testClock();
    const s = await activeUser();
    clock.advance(STALE);
    const before = await authAt(s.jwt);
    await expectError(
      await reauth(s.jwt, { password: "wrong password!" }, { clock }),
      401,
      "INVALID_CREDENTIALS",
    );
    expect(await authAt(s.jwt)).toBe(before);
    const failed = await env.DB.prepare(
      "SELECT data FROM audit_events WHERE user_id = ? AND type = 'reauth.failed'",
    )
      .bind(s.userId)
      .first<{ data: string }>();
    expect(JSON.parse(failed!.data)).toMatchObject({ method: "password", reason: "invalid_credentials" });
    // Each try from another IP: the account's counter is what stops the guessing.
    const tries = await Promise.all(
      Array.from({ length: 12 }, () => reauth(s.jwt, { password: "still wrong!!" }, { clock })),
    );
    expect(statuses(tries)[429]).toBeGreaterThan(0);
    await expectError(await reauth(s.jwt, { password: PASSWORD }, { clock }), 429, "TOO_MANY_ATTEMPTS");
    expect(await authAt(s.jwt)).toBe(before);
  });

  it("with a TOTP code: 200; a replayed or wrong code 401 INVALID_OTP; without TOTP 409", async () => {
    const clock = testClock();
    const { s, secret } = await totpUser();
    clock.advance(STALE);
    // The clock moved: the code of its time.
    const now = totpCode(secret, Math.round(STALE / 30));
    const ok = await reauth(s.jwt, { totp: now }, { clock });
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect((await changeEmail(s.jwt, { clock })).status).toBe(204);
    await expectError(await reauth(s.jwt, { totp: now }, { clock }), 401, "INVALID_OTP");
    const other = await activeUser();
    await expectError(await reauth(other.jwt, { totp: "123456" }), 409, "MFA_NOT_ENABLED");
  });

  it("400 unless exactly one proof; 401 without a token", async () => {
    const s = await activeUser();
    await expectError(await reauth(s.jwt, {}), 400, "INVALID_REQUEST");
    await expectError(await reauth(s.jwt, { password: PASSWORD, totp: "123456" }), 400, "INVALID_REQUEST");
    await expectError(await reauth(s.jwt, { totp: "ABCDE-FGHIJ" }), 400, "INVALID_REQUEST");
    await expectError(
      await call("/v1/reauthenticate", { json: { password: PASSWORD } }),
      401,
      "UNAUTHENTICATED",
    );
  });

  it("a revoked session cannot be renewed (401), and renewing one session leaves the others stale", async () => {
    const clock = testClock();
    const s = await activeUser();
    const second = await json(
      await call("/auth/login", {
        json: { email: s.email, password: PASSWORD, cookie: false },
        ip: freshIp(),
      }),
    );
    clock.advance(STALE);
    expect((await reauth(s.jwt, { password: PASSWORD }, { clock })).status).toBe(200);
    // Only the caller's own session: the other one is still stale.
    expect((await changeEmail(second.jwt_token, { clock })).status).toBe(403);
    expect(
      (await call("/auth/logout", { json: { refresh_token: s.refresh }, token: s.jwt, clock })).status,
    ).toBe(204);
    await expectError(await reauth(s.jwt, { password: PASSWORD }, { clock }), 401, "INVALID_TOKEN");
  });

  it("with a passkey: options list the user's own credentials; the assertion records a fresh authentication", async () => {
    const clock = testClock();
    const s = await activeUser();
    const cred = await passkeyFor(s);
    clock.advance(STALE);
    const options = await passkeyOptions(s.jwt, { clock });
    expect(options.publicKey.allowCredentials).toEqual([expect.objectContaining({ id: cred.id })]);
    expect(options.publicKey.userVerification).toBe("required");
    const res = await reauth(s.jwt, { webauthn: await getAssertion(options, cred) }, { clock });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await authAt(s.jwt)).toBe(clock.now());
    expect((await changeEmail(s.jwt, { clock })).status).toBe(204);
  });

  it("a passkey challenge is bound to its user: another user's challenge or credential is 401", async () => {
    const a = await activeUser();
    const b = await activeUser();
    const credA = await passkeyFor(a);
    const credB = await passkeyFor(b);
    // A's credential against B's challenge, presented by B; B's credential against A's challenge by A.
    await expectError(
      await reauth(b.jwt, { webauthn: await getAssertion(await passkeyOptions(b.jwt), credA) }),
      401,
      "INVALID_CREDENTIALS",
    );
    await expectError(
      await reauth(a.jwt, { webauthn: await getAssertion(await passkeyOptions(b.jwt), credB) }),
      401,
      "INVALID_CREDENTIALS",
    );
    // A sign-in challenge is not a re-authentication challenge.
    const login = await json(await call("/webauthn/login/initialize", { json: {} }));
    await expectError(
      await reauth(a.jwt, { webauthn: await getAssertion(login, credA) }),
      401,
      "INVALID_CREDENTIALS",
    );
  });

  it("one passkey challenge verifies once, even in parallel", async () => {
    const clock = testClock();
    const s = await activeUser();
    const cred = await passkeyFor(s);
    clock.advance(STALE);
    const options = await passkeyOptions(s.jwt, { clock });
    const assertion = await getAssertion(options, cred);
    const rs = await Promise.all(
      Array.from({ length: 10 }, () => reauth(s.jwt, { webauthn: assertion }, { clock })),
    );
    expect(statuses(rs)).toEqual({ 200: 1, 401: 9 });
  });
});
