/**
 * Step-up enforced in core, seen through each dialect's routes: a stale session gets the dialect's
 * 403 naming POST /v1/reauthenticate; a fresh sign-in works; a stale session works again after
 * /v1/reauthenticate. A request carrying its own proof (the old password, a TOTP code) needs nothing more.
 */
import { describe, expect, it } from "vitest";
import { DIRECTUS_ERRORS } from "../../../src/dialects/directus/errors";
import { FORMAUTH_ERRORS } from "../../../src/dialects/formauth/errors";
import { VAULT_ERRORS } from "../../../src/dialects/vault/errors";
import { type CallOptions, freshIp, uniqueEmail } from "../../support/app";
import { type TestClock, testClock } from "../../support/clock";
import { createCredential } from "../../support/soft-authenticator";
import { hcall, json as hjson, OPEN, signUp } from "../hanko/support";
import { activeUser, call, json, PASSWORD, totpCode } from "../hbp/helpers";

const STALE = 301;
const REAUTH = /POST \/v1\/reauthenticate/;

/** Moves the clock past STEP_UP_MAX_AGE, then confirms the password through /v1. */
async function staleThenReauth(clock: TestClock, token: string, proof: unknown = { password: PASSWORD }) {
  const res = await call("/v1/reauthenticate", { json: proof, token, ip: freshIp(), clock });
  expect(res.status, await res.clone().text()).toBe(200);
}

describe("hbp", () => {
  const NO_VERIFY = { VERIFY_EMAILS: "false" };
  const change = (jwt: string, opts: CallOptions) =>
    call("/auth/change-email", { json: { new_email: uniqueEmail() }, token: jwt, ...opts, vars: NO_VERIFY });

  it("POST /auth/change-email: fresh 204, stale 403 (boom), 204 after reauthenticate", async () => {
    const clock = testClock();
    const s = await activeUser();
    expect((await change(s.jwt, { clock })).status).toBe(204);
    clock.advance(STALE);
    const stale = await change(s.jwt, { clock });
    expect(stale.status).toBe(403);
    const body = await json(stale);
    expect(body).toEqual({ statusCode: 403, error: "Forbidden", message: expect.stringMatching(REAUTH) });
    await staleThenReauth(clock, s.jwt);
    expect((await change(s.jwt, { clock })).status).toBe(204);
  });

  it("POST /auth/change-email/request: stale 403, 204 after reauthenticate", async () => {
    const clock = testClock();
    const s = await activeUser();
    clock.advance(STALE);
    const req = () =>
      call("/auth/change-email/request", { json: { new_email: uniqueEmail() }, token: s.jwt, clock });
    expect((await req()).status).toBe(403);
    await staleThenReauth(clock, s.jwt);
    expect((await req()).status).toBe(204);
  });

  it("POST /auth/delete: stale 403 and the account stays; 204 after reauthenticate", async () => {
    const clock = testClock();
    const s = await activeUser();
    const vars = { ALLOW_USER_SELF_DELETE: "true" };
    clock.advance(STALE);
    const stale = await call("/auth/delete", { method: "POST", token: s.jwt, vars, clock });
    expect(stale.status).toBe(403);
    expect((await json(stale)).message).toMatch(REAUTH);
    expect((await call("/v1/sessions", { token: s.jwt, clock })).status).toBe(200);
    await staleThenReauth(clock, s.jwt);
    expect((await call("/auth/delete", { method: "POST", token: s.jwt, vars, clock })).status).toBe(204);
  });

  it("fresh delete works at once", async () => {
    const s = await activeUser();
    const vars = { ALLOW_USER_SELF_DELETE: "true" };
    expect((await call("/auth/delete", { method: "POST", token: s.jwt, vars })).status).toBe(204);
  });

  it("POST /auth/change-password with the old password is its own proof: works on a stale session", async () => {
    const clock = testClock();
    const s = await activeUser();
    clock.advance(STALE);
    const res = await call("/auth/change-password", {
      json: { old_password: PASSWORD, new_password: "another good passphrase" },
      token: s.jwt,
      clock,
    });
    expect(res.status).toBe(204);
  });

  it("POST /auth/change-password without a password (a passwordless account): stale 403, fresh 204", async () => {
    const clock = testClock();
    const u = await signUp();
    const body = { new_password: "a brand new passphrase" };
    clock.advance(STALE);
    const stale = await call("/auth/change-password", { json: body, token: u.token, clock });
    expect(stale.status).toBe(403);
    expect((await json(stale)).message).toMatch(REAUTH);
    // No password to confirm with (a passkey or TOTP would do): a fresh sign-in works at once.
    const fresh = await signUp();
    expect((await call("/auth/change-password", { json: body, token: fresh.token })).status).toBe(204);
  });

  it("POST /auth/mfa/disable takes a TOTP code: works on a stale session", async () => {
    const clock = testClock();
    const s = await activeUser();
    const { otp_secret: secret } = await json(await call("/auth/mfa/generate", { json: {}, token: s.jwt }));
    expect(
      (await call("/auth/mfa/enable", { json: { code: totpCode(secret, -1) }, token: s.jwt })).status,
    ).toBe(204);
    clock.advance(STALE);
    const code = totpCode(secret, Math.round(STALE / 30));
    expect((await call("/auth/mfa/disable", { json: { code }, token: s.jwt, clock })).status).toBe(204);
  });
});

describe("hanko 0.12", () => {
  const hanko403 = async (res: Response) => {
    expect(res.status).toBe(403);
    expect(await hjson(res)).toEqual({ code: 403, message: expect.stringMatching(REAUTH) });
  };

  it("PUT /password: stale 403 {code, message}, fresh 201, 200 after reauthenticate", async () => {
    const clock = testClock();
    const u = await signUp();
    const set = (password: string, opts: CallOptions = {}) =>
      hcall("/password", { method: "PUT", json: { user_id: u.userId, password }, token: u.token, ...opts });
    expect((await set("first good passphrase")).status).toBe(201);
    clock.advance(STALE);
    await hanko403(await set("second good passphrase", { clock }));
    await staleThenReauth(clock, u.token, { password: "first good passphrase" });
    expect((await set("second good passphrase", { clock })).status).toBe(200);
  });

  it("DELETE /webauthn/credentials/{id}: stale 403 and the passkey stays, 201 after a passkey-free reauthenticate", async () => {
    const clock = testClock();
    const u = await signUp();
    const init = await hcall("/webauthn/registration/initialize", { method: "POST", token: u.token });
    const { credential, response } = await createCredential(await hjson(init));
    expect((await hcall("/webauthn/registration/finalize", { token: u.token, json: response })).status).toBe(
      200,
    );
    expect(
      (
        await hcall("/password", {
          method: "PUT",
          json: { user_id: u.userId, password: PASSWORD },
          token: u.token,
        })
      ).status,
    ).toBe(201);
    clock.advance(STALE);
    const del = () =>
      hcall(`/webauthn/credentials/${credential.id}`, { method: "DELETE", token: u.token, clock });
    await hanko403(await del());
    expect(await hjson(await hcall("/webauthn/credentials", { token: u.token, clock }))).toHaveLength(1);
    await staleThenReauth(clock, u.token);
    expect((await del()).status).toBe(201);
    expect(await hjson(await hcall("/webauthn/credentials", { token: u.token, clock }))).toHaveLength(0);
  });

  it("DELETE /user: stale 403, fresh 204", async () => {
    const clock = testClock();
    const vars = { ...OPEN, ALLOW_USER_SELF_DELETE: "true" };
    const u = await signUp();
    clock.advance(STALE);
    await hanko403(await call("/user", { method: "DELETE", token: u.token, vars, clock }));
    const fresh = await signUp();
    expect((await call("/user", { method: "DELETE", token: fresh.token, vars })).status).toBe(204);
  });

  it("POST /emails (a new way to sign in): stale 403 and nothing added, fresh 201", async () => {
    const clock = testClock();
    const u = await signUp();
    clock.advance(STALE);
    await hanko403(await hcall("/emails", { token: u.token, json: { address: uniqueEmail() }, clock }));
    expect(await hjson(await hcall("/emails", { token: u.token, clock }))).toHaveLength(1);
    const fresh = await signUp();
    expect((await hcall("/emails", { token: fresh.token, json: { address: uniqueEmail() } })).status).toBe(
      201,
    );
  });

  it("POST /emails/{id}/set_primary: stale 403, 201 after reauthenticate", async () => {
    const clock = testClock();
    const u = await signUp();
    expect(
      (
        await hcall("/password", {
          method: "PUT",
          json: { user_id: u.userId, password: PASSWORD },
          token: u.token,
        })
      ).status,
    ).toBe(201);
    const added = await hjson(await hcall("/emails", { token: u.token, json: { address: uniqueEmail() } }));
    clock.advance(STALE);
    const primary = () => hcall(`/emails/${added.id}/set_primary`, { method: "POST", token: u.token, clock });
    await hanko403(await primary());
    await staleThenReauth(clock, u.token);
    expect((await primary()).status).toBe(201);
  });
});

describe("directus", () => {
  it("POST /users/me/tfa/disable takes an otp: works on a stale session", async () => {
    const clock = testClock();
    const s = await activeUser();
    const gen = await json(
      await call("/directus/users/me/tfa/generate", { json: { password: PASSWORD }, token: s.jwt }),
    );
    const secret = gen.data.secret;
    const en = await call("/directus/users/me/tfa/enable", {
      json: { secret, otp: totpCode(secret, -1) },
      token: s.jwt,
    });
    expect(en.status).toBe(204);
    clock.advance(STALE);
    const otp = totpCode(secret, Math.round(STALE / 30));
    expect(
      (await call("/directus/users/me/tfa/disable", { json: { otp }, token: s.jwt, clock })).status,
    ).toBe(204);
  });
});

describe("every dialect's error table", () => {
  it("renders REAUTHENTICATION_REQUIRED as a 403 naming POST /v1/reauthenticate", () => {
    for (const table of [DIRECTUS_ERRORS, FORMAUTH_ERRORS, VAULT_ERRORS]) {
      const [status, code, message] = table.REAUTHENTICATION_REQUIRED;
      expect({ status, code }).toEqual({ status: 403, code: "REAUTHENTICATION_REQUIRED" });
      expect(message).toMatch(REAUTH);
    }
  });
});
