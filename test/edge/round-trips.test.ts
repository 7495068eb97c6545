/**
 * Round-trip budgets: D1 round trips (a batch is one) and KV operations per credential route of every
 * dialect, read from the meter's Server-Timing header (src/lib/meter.ts). In production each D1
 * round trip is a trip to the primary, often 50-200 ms away, so these numbers are latency; KV writes
 * are billed and rate-limited per key. Each row asserts its budget so it cannot regress; the
 * measured table is printed (ROUNDTRIPS line) for bench/run.mjs to write into bench/RESULTS.md.
 */
import { env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { D, directusUser } from "../dialects/directus/helpers";
import { A, confirmedUser } from "../dialects/formauth/helpers";
import { hcall, latestPasscode, OPEN, signUp } from "../dialects/hanko/support";
import {
  AUTO,
  activeUser,
  call,
  enableMfa,
  json,
  lastMail,
  PASSWORD,
  totpCode,
} from "../dialects/hbp/helpers";
import { PNG_1PX, uploadOk } from "../dialects/hbp/storage.helpers";
import { acall, adminUser } from "../dialects/latchkey/helpers";
import { V, verified } from "../dialects/vault/helpers";
import { submit } from "../pages/support";
import { uniqueEmail } from "../support/app";
import { type Measured, measured } from "../support/meter";
import { createCredential, getAssertion } from "../support/soft-authenticator";

/**
 * The hourly mail windows are counted in D1 across isolates (src/core/rate-limit/ip-limiter.ts; the
 * Rate Limiting binding only has 10 and 60 s periods): every mail route counts its per-IP mail
 * window and the recipient's window in the batch it makes anyway (IpLimiter.deferred), so neither
 * costs a round trip of its own.
 */

const table: ({ dialect: string; route: string; budget: number } & Measured)[] = [];

/** Records the route's figures and asserts its status and D1 budget. */
async function expectBudget(
  dialect: string,
  route: string,
  budget: number,
  res: Response,
  status: number,
): Promise<Measured> {
  const body = await res.text();
  expect(res.status, body).toBe(status);
  const m = measured(res);
  table.push({ dialect, route, budget, ...m });
  expect.soft(m.d1, `${dialect} ${route}: D1 round trips`).toBeLessThanOrEqual(budget);
  return m;
}

// Warm the isolate first: the first request of an isolate loads the development signing keys from
// D1 (production keys come from JWT_PRIVATE_KEYS), which no later request repeats.
beforeAll(async () => {
  await activeUser();
});

afterAll(() => {
  console.log(`ROUNDTRIPS ${JSON.stringify(table)}`);
});

describe("hbp", () => {
  it("register, login (good and bad password), refresh, logout", async () => {
    const email = uniqueEmail();
    await expectBudget(
      "hbp",
      "register (auto-activated)",
      2,
      await call("/auth/register", { json: { email, password: PASSWORD, cookie: false }, vars: AUTO }),
      200,
    );
    const login = await call("/auth/login", { json: { email, password: PASSWORD, cookie: false } });
    const session = JSON.parse(await login.clone().text());
    await expectBudget("hbp", "login", 2, login, 200);
    await expectBudget(
      "hbp",
      "login, wrong password",
      1,
      await call("/auth/login", { json: { email, password: "not the password" } }),
      401,
    );
    const refresh = await call(`/auth/token/refresh?refresh_token=${session.refresh_token}`);
    const next = JSON.parse(await refresh.clone().text());
    await expectBudget("hbp", "refresh", 1, refresh, 200);
    await expectBudget(
      "hbp",
      "logout",
      2,
      await call(`/auth/logout?refresh_token=${next.refresh_token}`, { method: "POST" }),
      204,
    );
  });

  it("activation link, password reset, MFA ticket", async () => {
    const email = uniqueEmail();
    await call("/auth/register", { json: { email, password: PASSWORD } });
    const { ticket } = (await lastMail(email, "activation")).data;
    await expectBudget(
      "hbp",
      "activation link",
      2,
      await call(`/auth/activate?ticket=${encodeURIComponent(ticket!)}`),
      302,
    );

    await expectBudget(
      "hbp",
      "reset request (mail)",
      // The route's mail window, the holder, its recipient window, the open tickets spent and
      // the new one in one batch; the outbox write (development transport).
      2,
      await call("/auth/change-password/request", { json: { email } }),
      204,
    );
    await expectBudget(
      "hbp",
      "reset request (unknown address)",
      // The same batch; no mail, so no outbox write (a production transport writes no D1 for
      // either, so known and unknown addresses cost the same round trips there).
      1,
      await call("/auth/change-password/request", { json: { email: uniqueEmail() } }),
      204,
    );
    const reset = (await lastMail(email, "password_reset")).data.ticket!;
    await expectBudget(
      "hbp",
      "reset with ticket",
      // The spend, the end of every session and the new password in one batch; the notice goes
      // out after the response (uncounted).
      1,
      await call("/auth/change-password/change", {
        json: { ticket: reset, new_password: "a new passphrase 1" },
      }),
      204,
    );

    const magic = { MAGIC_LINK_ENABLED: "true" };
    const passwordless = uniqueEmail();
    await call("/auth/register", { json: { email: passwordless }, vars: magic });
    const { token: registerLink } = (await lastMail(passwordless, "magic_link")).data;
    await expectBudget(
      "hbp",
      "magic link (register)",
      2,
      await call(`/auth/magic-link?action=register&token=${encodeURIComponent(registerLink!)}`, {
        vars: magic,
      }),
      302,
    );
    await expectBudget(
      "hbp",
      "magic link request (mail)",
      // The route's mail window, the holder, its recipient window and the link in one batch; the
      // outbox write (development transport).
      2,
      await call("/auth/login", { json: { email: passwordless }, vars: magic }),
      200,
    );
    const { token: loginLink } = (await lastMail(passwordless, "magic_link")).data;
    await expectBudget(
      "hbp",
      "magic link (log-in)",
      2,
      await call(`/auth/magic-link?action=log-in&token=${encodeURIComponent(loginLink!)}`, { vars: magic }),
      302,
    );

    const s = await activeUser();
    const secret = await enableMfa(s);
    const first = await call("/auth/login", { json: { email: s.email, password: PASSWORD } });
    const { ticket: mfa } = JSON.parse(await first.clone().text());
    await expectBudget("hbp", "login with MFA on (ticket)", 3, first, 200);
    await expectBudget(
      "hbp",
      "MFA ticket + TOTP code",
      3,
      await call("/auth/mfa/totp", { json: { ticket: mfa, code: totpCode(secret, 1), cookie: false } }),
      200,
    );
  });

  it("MFA ticket + recovery code", async () => {
    const s = await activeUser();
    const { otp_secret: secret } = JSON.parse(
      await (await call("/auth/mfa/generate", { json: {}, token: s.jwt })).text(),
    );
    // TOTP on with the previous step's code, the recovery codes made with the current one.
    expect(
      (await call("/auth/mfa/enable", { json: { code: totpCode(secret, -1) }, token: s.jwt })).status,
    ).toBe(204);
    const made = await call("/v1/mfa/recovery-codes", { json: { code: totpCode(secret) }, token: s.jwt });
    const { codes } = JSON.parse(await made.text());
    const first = await call("/auth/login", { json: { email: s.email, password: PASSWORD } });
    const { ticket } = JSON.parse(await first.text());
    await expectBudget(
      "hbp",
      "MFA ticket + recovery code",
      // The ticket's attempt with the TOTP state; the account's attempt with the code's lookup;
      // the code and the ticket spent into the session with the codes left counted. The notice
      // goes out after the response (uncounted).
      3,
      await call("/auth/mfa/totp", { json: { ticket, code: codes[0], cookie: false } }),
      200,
    );
  });

  it("authenticated write, upload, download, image variant", async () => {
    const s = await activeUser();
    await expectBudget(
      "hbp",
      "authenticated write (change email)",
      // The two notices (old and new address) go out after the response (uncounted).
      3,
      await call("/auth/change-email", {
        json: { new_email: uniqueEmail() },
        token: s.jwt,
        vars: { VERIFY_EMAILS: "false" },
      }),
      204,
    );
    const v = await activeUser();
    const to = uniqueEmail();
    await expectBudget(
      "hbp",
      "email change request (verified, mail)",
      // The session check; the mail window, the user and the address's holder, the recipient's
      // window and the ticket in one batch; the outbox write (development transport).
      3,
      await call("/auth/change-email/request", { json: { new_email: to }, token: v.jwt }),
      204,
    );
    const { ticket: change } = (await lastMail(to, "email_change")).data;
    await expectBudget(
      "hbp",
      "email change confirm (ticket)",
      // The spend with the user's read, the change; the two notices go out after the response.
      2,
      await call("/auth/change-email/change", { json: { ticket: change } }),
      204,
    );
    const path = `user/${s.userId}/pic.png`;
    const up = await call(`/storage/o/${path}`, {
      method: "POST",
      body: (() => {
        const f = new FormData();
        f.append("file", new File([PNG_1PX], "pic.png", { type: "image/png" }));
        return f;
      })(),
      token: s.jwt,
    });
    await expectBudget("hbp", "upload", 1, up, 200);
    await expectBudget("hbp", "download (read)", 0, await call(`/storage/o/${path}`, { token: s.jwt }), 200);
    await expectBudget(
      "hbp",
      "image variant",
      0,
      await call(`/storage/o/${path}?w=1`, { token: s.jwt }),
      200,
    );
    void uploadOk;
  });
});

describe("hanko", () => {
  it("sign-up, passcode login, WebAuthn login, authenticated read", async () => {
    const email = uniqueEmail("hanko");
    const up = await call("/users", { json: { email }, vars: OPEN });
    const { user_id: userId, email_id: emailId } = JSON.parse(await up.clone().text());
    // The account, its address and its first session in one batch (with any unverified secondary
    // holder of the address released first).
    await expectBudget("hanko", "sign-up (session)", 1, up, 200);
    // Hints off: the hidden owner's read (primary or verified holders only), then the same batch;
    // an unverified secondary holder is freed there, not in a round trip of its own.
    await expectBudget(
      "hanko",
      "sign-up (session, hints off)",
      2,
      await call("/users", {
        json: { email: uniqueEmail("hanko") },
        vars: { ...OPEN, ACCOUNT_EXISTENCE_HINTS: "false" },
      }),
      200,
    );

    const init = await call("/passcode/login/initialize", {
      json: { user_id: userId, email_id: emailId },
      vars: OPEN,
    });
    const { id } = JSON.parse(await init.clone().text());
    // The mail window, the send windows, the recipient's window and the passcode in one batch;
    // the outbox write (development transport).
    await expectBudget("hanko", "passcode initialize (mail)", 2, init, 200);
    const code = await latestPasscode(email);
    const fin = await call("/passcode/login/finalize", { json: { id, code }, vars: OPEN });
    const token = fin.headers.get("x-auth-token")!;
    await expectBudget("hanko", "passcode finalize", 2, fin, 200);

    await expectBudget("hanko", "GET /me (authenticated read)", 1, await hcall("/me", { token }), 200);

    const regInit = await hcall("/webauthn/registration/initialize", {
      method: "POST",
      token,
      headers: { "content-type": "application/json" },
    });
    const { credential, response } = await createCredential(JSON.parse(await regInit.clone().text()));
    await expectBudget("hanko", "WebAuthn registration initialize", 2, regInit, 200);
    await expectBudget(
      "hanko",
      "WebAuthn registration finalize",
      // The session check, then the challenge spent and the passkey stored in one batch; the
      // notice goes out after the response (uncounted).
      2,
      await hcall("/webauthn/registration/finalize", { token, json: response }),
      200,
    );
    const loginInit = await call("/webauthn/login/initialize", { json: {}, vars: OPEN });
    const options = JSON.parse(await loginInit.clone().text());
    await expectBudget("hanko", "WebAuthn login initialize", 1, loginInit, 200);
    await expectBudget(
      "hanko",
      "WebAuthn login finalize",
      2,
      await call("/webauthn/login/finalize", { json: await getAssertion(options, credential), vars: OPEN }),
      200,
    );
  });

  it("just-in-time sign-up with hints off: lookup, passcode, finalize creating the account", async () => {
    // The defaults: hints off, sign-up on. Each step costs what it costs for an existing account.
    const email = uniqueEmail("jit");
    const lookup = await call("/user", { json: { email } });
    const ids = JSON.parse(await lookup.clone().text());
    // The owner read and the pending sign-up in one batch.
    await expectBudget("hanko", "POST /user (hints off, sign-up pending)", 1, lookup, 200);
    const init = await call("/passcode/login/initialize", {
      json: { user_id: ids.id, email_id: ids.email_id },
    });
    const { id } = JSON.parse(await init.clone().text());
    await expectBudget("hanko", "passcode initialize (sign-up mail)", 2, init, 200);
    const row = await env.DB.prepare(
      `SELECT data FROM outbox WHERE "to" = ? AND kind = 'passcode' ORDER BY created_at DESC LIMIT 1`,
    )
      .bind(email)
      .first<{ data: string }>();
    const fin = await call("/passcode/login/finalize", { json: { id, code: JSON.parse(row!.data).code } });
    // The try counted; then the code spent into the new account, its team and session in one batch.
    await expectBudget("hanko", "passcode finalize (just-in-time sign-up)", 2, fin, 200);
  });
});

describe("directus", () => {
  it("login, refresh, authenticated read and write, logout", async () => {
    const s = await activeUser();
    const login = await call(`${D}/auth/login`, {
      json: { email: s.email, password: PASSWORD, mode: "json" },
    });
    const { data } = JSON.parse(await login.clone().text());
    await expectBudget("directus", "login", 2, login, 200);
    const refresh = await call(`${D}/auth/refresh`, {
      json: { refresh_token: data.refresh_token, mode: "json" },
    });
    const next = JSON.parse(await refresh.clone().text()).data;
    await expectBudget("directus", "refresh", 1, refresh, 200);
    await expectBudget(
      "directus",
      "GET /users/me (authenticated read)",
      2,
      await call(`${D}/users/me`, { token: next.access_token }),
      200,
    );
    await expectBudget(
      "directus",
      "logout",
      2,
      await call(`${D}/auth/logout`, { json: { refresh_token: next.refresh_token } }),
      204,
    );
    void directusUser;
  });
});

describe("formauth", () => {
  it("login, refresh, logout", async () => {
    const u = await confirmedUser();
    const login = await call(`${A}/login`, { form: { email: u.email, password: PASSWORD } });
    await expectBudget("formauth", "login", 2, login, 200);
    await expectBudget(
      "formauth",
      "refresh",
      1,
      await call(`${A}/refresh`, { form: { refresh_token: u.refresh } }),
      200,
    );
  });
});

describe("vault", () => {
  it("login, refresh (access-token reissue)", async () => {
    const u = await verified();
    const login = await call(`${V}/login`, { json: { email: u.email, password: PASSWORD } });
    const body = JSON.parse(await login.clone().text());
    await expectBudget("vault", "login", 3, login, 200);
    await expectBudget(
      "vault",
      "refresh (reissue)",
      // The claim, its time, the touch, the user and the session's state in one batch; the
      // default team for the vaultToken.
      2,
      await call(`${V}/refresh`, { token: body.userToken }),
      200,
    );
    void json;
    void signUp;
  });
});

describe("pages", () => {
  it("sign-in with an emailed passcode", async () => {
    const s = await activeUser();
    await expectBudget(
      "pages",
      "POST /login (passcode mail)",
      // The address's lookup; the route's mail window, the send windows, the recipient's window
      // and the passcode in one batch; the outbox write (development transport).
      3,
      await submit("/login", { email: s.email, method: "code" }),
      200,
    );
    await expectBudget(
      "pages",
      "POST /reset-password (mail)",
      // As the hbp reset request: one batch and the outbox write.
      2,
      await submit("/reset-password", { email: s.email }),
      200,
    );
  });
});

describe("latchkey admin", () => {
  it("list and get users, with the service key and as an admin user", async () => {
    const s = await activeUser();
    const admin = await adminUser();
    // The service key costs no D1: the list is one statement, the detail one batch.
    await expectBudget(
      "latchkey",
      "admin list (service key)",
      1,
      await acall("/v1/admin/users?limit=20"),
      200,
    );
    await expectBudget(
      "latchkey",
      "admin get (service key)",
      1,
      await acall(`/v1/admin/users/${s.userId}`),
      200,
    );
    // An admin user: the session check, the roles as D1 has them now, then the read.
    await expectBudget(
      "latchkey",
      "admin list (admin user)",
      3,
      await acall("/v1/admin/users?limit=20", { token: admin.jwt }),
      200,
    );
    await expectBudget(
      "latchkey",
      "admin get (admin user)",
      3,
      await acall(`/v1/admin/users/${s.userId}`, { token: admin.jwt }),
      200,
    );
  });
});
