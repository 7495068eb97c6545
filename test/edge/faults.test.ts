/**
 * Faults: every multi-step flow, with each of its D1 round trips failed in turn (the meter's
 * X-Dev-D1-Fail switch, src/lib/meter.ts), answers a clear 503 with Retry-After and leaves nothing
 * half-written: afterwards the account is either untouched or whole, and repeating the request
 * succeeds. R2 failures during an upload leave no object behind.
 */
import { env } from "cloudflare:test";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { hcall, latestPasscode, OPEN, signUp } from "../dialects/hanko/support";
import {
  AUTO,
  activeUser,
  call,
  enableMfa,
  json,
  lastMail,
  liveRefreshTokens,
  PASSWORD,
  totpCode,
  usersWithEmail,
} from "../dialects/hbp/helpers";
import { fileForm, PNG_1PX } from "../dialects/hbp/storage.helpers";
import { V, verified } from "../dialects/vault/helpers";
import { uniqueEmail } from "../support/app";
import { measured } from "../support/meter";
import { createCredential, getAssertion } from "../support/soft-authenticator";

// The first request of an isolate loads the development signing keys from D1 (production keys come
// from JWT_PRIVATE_KEYS): warm it so each sweep fails the flow's own round trips.
beforeAll(async () => {
  await activeUser();
});

const DELETE = { ALLOW_USER_SELF_DELETE: "true" };
const failAt = (n: number) => ({ "x-dev-d1-fail": String(n) });

/** The request's round trips without a fault, then each one failed in turn (a fresh setup each time). */
async function sweep<S>(
  setup: () => Promise<S>,
  run: (s: S, headers: Record<string, string>) => Promise<Response>,
  after: (s: S, failedAt: number) => Promise<void>,
): Promise<number> {
  const clean = await run(await setup(), {});
  expect(clean.status, await clean.clone().text()).toBeLessThan(400);
  const trips = measured(clean).d1;
  expect(trips).toBeGreaterThan(0);
  for (let n = 1; n <= trips; n++) {
    const s = await setup();
    const res = await run(s, failAt(n));
    expect(res.status, `round trip ${n} of ${trips} failed: ${await res.clone().text()}`).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    await after(s, n);
  }
  return trips;
}

const login = (email: string, headers: Record<string, string> = {}) =>
  call("/auth/login", { json: { email, password: PASSWORD, cookie: false }, headers });

async function liveSessions(userId: string) {
  const row = await env.DB.prepare(
    "SELECT COUNT(*) AS n FROM sessions WHERE user_id = ? AND revoked_at IS NULL",
  )
    .bind(userId)
    .first<{ n: number }>();
  return row!.n;
}

/** A new passkey's creation response for the session `token` (registration initialized, not finalized). */
async function newCredential(token: string) {
  const init = await hcall("/webauthn/registration/initialize", {
    method: "POST",
    token,
    headers: { "content-type": "application/json" },
  });
  return createCredential(await json(init));
}

async function sessionsWithoutToken(userId: string) {
  const row = await env.DB.prepare(
    "SELECT COUNT(*) AS n FROM sessions s WHERE s.user_id = ? AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = s.id)",
  )
    .bind(userId)
    .first<{ n: number }>();
  return row!.n;
}

async function userRows(email: string) {
  const row = await env.DB.prepare(
    `SELECT (SELECT COUNT(*) FROM users u JOIN emails e ON e.user_id = u.id WHERE e.address = ?1) AS complete,
            (SELECT COUNT(*) FROM users WHERE id NOT IN (SELECT user_id FROM emails)) AS orphans`,
  )
    .bind(email)
    .first<{ complete: number; orphans: number }>();
  return row!;
}

/** The ticket's row: whether it is spent, and how many attempts it has counted. */
async function ticketState(ticket: string) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(ticket));
  const hash = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return env.DB.prepare("SELECT used_at AS usedAt, spent_into AS spentInto FROM tickets WHERE hash = ?")
    .bind(hash)
    .first<{ usedAt: number | null; spentInto: string | null }>();
}

/** The account of `address`: active, address verified, default teams. */
async function activation(address: string) {
  return (await env.DB.prepare(
    `SELECT u.id AS userId, u.active AS active, e.verified AS verified,
            (SELECT COUNT(*) FROM teams t WHERE t.owner_id = u.id) AS teams
       FROM users u JOIN emails e ON e.user_id = u.id WHERE e.address = ?`,
  )
    .bind(address)
    .first<{ userId: string; active: number; verified: number; teams: number }>())!;
}

describe("D1 faults leave no partial state", () => {
  it("register: no account or a whole one; repeating answers 200 or 409 and the password works", async () => {
    await sweep(
      async () => ({ email: uniqueEmail() }),
      (s, headers) =>
        call("/auth/register", {
          json: { email: s.email, password: PASSWORD, cookie: false },
          vars: AUTO,
          headers,
        }),
      async (s) => {
        const rows = await userRows(s.email);
        expect(rows.orphans).toBe(0);
        expect(rows.complete).toBeLessThanOrEqual(1);
        const again = await call("/auth/register", {
          json: { email: s.email, password: PASSWORD, cookie: false },
          vars: AUTO,
        });
        expect([200, 409]).toContain(again.status);
        expect((await login(s.email)).status).toBe(200);
      },
    );
  });

  it("hanko sign-up: no account or a whole one with its session; repeating answers 200 or 409", async () => {
    const trips = await sweep(
      async () => ({ email: uniqueEmail("hanko") }),
      (s, headers) => call("/users", { json: { email: s.email }, vars: OPEN, headers }),
      async (s) => {
        const rows = await userRows(s.email);
        expect(rows.orphans).toBe(0);
        expect(rows.complete).toBe(0);
        const again = await call("/users", { json: { email: s.email }, vars: OPEN });
        expect(again.status).toBe(200);
        const { user_id } = await json(again);
        expect(await liveSessions(user_id)).toBe(1);
        expect(await sessionsWithoutToken(user_id)).toBe(0);
      },
    );
    expect(trips).toBe(1);
  });

  it("login: the next login works (a failed one is not left counted against the account)", async () => {
    await sweep(
      () => activeUser(),
      (s, headers) => login(s.email, headers),
      async (s) => {
        for (let i = 0; i < 12; i++) {
          // More retries than ACCOUNT_MAX_FAILURES would allow if each fault left a failure counted.
          const r = await login(s.email, failAt(1));
          expect(r.status).toBe(503);
        }
        expect((await login(s.email)).status).toBe(200);
      },
    );
  });

  it("refresh: presenting the same token again succeeds, and the family stays one chain", async () => {
    await sweep(
      () => activeUser(),
      (s, headers) => call(`/auth/token/refresh?refresh_token=${s.refresh}`, { headers }),
      async (s) => {
        const again = await call(`/auth/token/refresh?refresh_token=${s.refresh}`);
        expect(again.status).toBe(200);
        const body = await json(again);
        expect(await liveRefreshTokens(body.jwt_token)).toBe(1);
        const next = await call(`/auth/token/refresh?refresh_token=${body.refresh_token}`);
        expect(next.status).toBe(200);
      },
    );
  });

  it("email change: the old address stays until the change is confirmed; repeating works", async () => {
    const trips = await sweep(
      async () => ({ ...(await activeUser()), to: uniqueEmail() }),
      (s, headers) =>
        call("/auth/change-email/request", { json: { new_email: s.to }, token: s.jwt, headers }),
      async (s) => {
        expect(await usersWithEmail(s.email)).toBe(1);
        expect(await usersWithEmail(s.to)).toBe(0);
        const again = await call("/auth/change-email/request", { json: { new_email: s.to }, token: s.jwt });
        expect(again.status).toBe(204);
        const { ticket } = (await lastMail(s.to, "email_change")).data;
        const confirm = await call("/auth/change-email/change", { json: { ticket } });
        expect(confirm.status).toBe(204);
        expect(await usersWithEmail(s.to)).toBe(1);
      },
    );
    expect(trips).toBe(3);
  });

  it("passcode: after a failed finalize no session exists, the code is unspent and works again", async () => {
    const setup = async () => {
      const email = uniqueEmail("hanko");
      const up = await call("/users", { json: { email }, vars: OPEN });
      const { user_id, email_id } = await json(up);
      const init = await call("/passcode/login/initialize", { json: { user_id, email_id }, vars: OPEN });
      const { id } = await json(init);
      return {
        email,
        userId: user_id as string,
        emailId: email_id as string,
        id,
        code: await latestPasscode(email),
        // The sign-up's own session (verification off).
        sessions: await liveSessions(user_id),
      };
    };
    await sweep(
      setup,
      (s, headers) =>
        call("/passcode/login/finalize", { json: { id: s.id, code: s.code }, vars: OPEN, headers }),
      async (s) => {
        // The code's spend and the session are one batch: after any failed round trip there is no
        // new session, the code is unspent, and the same code signs in (a failed try may have been
        // counted, which leaves it two more).
        expect(await sessionsWithoutToken(s.userId)).toBe(0);
        expect(await liveSessions(s.userId)).toBe(s.sessions);
        const spent = await env.DB.prepare("SELECT used_at, spent_into FROM passcodes WHERE id = ?")
          .bind(s.id)
          .first<{ used_at: number | null; spent_into: string | null }>();
        expect(spent).toEqual({ used_at: null, spent_into: null });
        const again = await call("/passcode/login/finalize", {
          json: { id: s.id, code: s.code },
          vars: OPEN,
        });
        expect(again.status, await again.clone().text()).toBe(200);
        expect(await liveSessions(s.userId)).toBe(s.sessions + 1);
      },
    );
  });

  it("passcode initialize: after a failure the repeated request mails a code that signs in", async () => {
    const trips = await sweep(
      () => signUp(),
      (s, headers) =>
        call("/passcode/login/initialize", { json: { user_id: s.userId }, vars: OPEN, headers }),
      async (s) => {
        const again = await call("/passcode/login/initialize", { json: { user_id: s.userId }, vars: OPEN });
        expect(again.status).toBe(200);
        const { id } = await json(again);
        const fin = await call("/passcode/login/finalize", {
          json: { id, code: await latestPasscode(s.email) },
          vars: OPEN,
        });
        expect(fin.status, await fin.clone().text()).toBe(200);
      },
    );
    expect(trips).toBe(2);
  });

  it("WebAuthn login: after a failed finalize no session exists, and the same assertion works", async () => {
    const setup = async () => {
      const u = await signUp();
      const { credential, response } = await newCredential(u.token);
      expect(
        (await hcall("/webauthn/registration/finalize", { token: u.token, json: response })).status,
      ).toBe(200);
      const options = await json(await call("/webauthn/login/initialize", { json: {}, vars: OPEN }));
      return {
        ...u,
        assertion: await getAssertion(options, credential),
        sessions: await liveSessions(u.userId),
      };
    };
    await sweep(
      setup,
      (s, headers) => call("/webauthn/login/finalize", { json: s.assertion, vars: OPEN, headers }),
      async (s) => {
        // The challenge's spend, the recorded use and the session are one batch.
        expect(await sessionsWithoutToken(s.userId)).toBe(0);
        expect(await liveSessions(s.userId)).toBe(s.sessions);
        const used = await env.DB.prepare("SELECT last_used_at FROM webauthn_credentials WHERE user_id = ?")
          .bind(s.userId)
          .first<{ last_used_at: number | null }>();
        expect(used!.last_used_at).toBeNull();
        const again = await call("/webauthn/login/finalize", { json: s.assertion, vars: OPEN });
        expect(again.status, await again.clone().text()).toBe(200);
        expect(await liveSessions(s.userId)).toBe(s.sessions + 1);
      },
    );
  });

  it("WebAuthn registration: a failed finalize stores no passkey and the same response registers it", async () => {
    const setup = async () => {
      const u = await signUp();
      return { ...u, response: (await newCredential(u.token)).response };
    };
    const finalize = (s: Awaited<ReturnType<typeof setup>>, headers: Record<string, string> = {}) =>
      hcall("/webauthn/registration/finalize", { token: s.token, json: s.response, headers });
    const passkeys = async (userId: string) =>
      (await env.DB.prepare("SELECT COUNT(*) AS n FROM webauthn_credentials WHERE user_id = ?")
        .bind(userId)
        .first<{ n: number }>())!.n;
    const clean = await finalize(await setup());
    expect(clean.status).toBe(200);
    const trips = measured(clean).d1;
    for (let n = 1; n <= trips; n++) {
      const s = await setup();
      const res = await finalize(s, failAt(n));
      if (res.status === 200) {
        // A failed notice never undoes the change it reports (accounts/notices.ts).
        expect(await passkeys(s.userId), `round trip ${n}`).toBe(1);
        continue;
      }
      expect(res.status, `round trip ${n} of ${trips}`).toBe(503);
      expect(await passkeys(s.userId)).toBe(0);
      expect((await finalize(s)).status).toBe(200);
      expect(await passkeys(s.userId)).toBe(1);
    }
  });

  it("MFA step: no session, the ticket unspent and the code unused; the same ticket and code then sign in", async () => {
    const setup = async () => {
      const s = await activeUser();
      const secret = await enableMfa(s);
      const first = await json(await login(s.email));
      return {
        ...s,
        ticket: first.ticket as string,
        code: totpCode(secret, 1),
        sessions: await liveSessions(s.userId),
      };
    };
    await sweep(
      setup,
      (s, headers) =>
        call("/auth/mfa/totp", { json: { ticket: s.ticket, code: s.code, cookie: false }, headers }),
      async (s) => {
        expect(await sessionsWithoutToken(s.userId)).toBe(0);
        expect(await liveSessions(s.userId)).toBe(s.sessions);
        expect(await ticketState(s.ticket)).toEqual({ usedAt: null, spentInto: null });
        const again = await call("/auth/mfa/totp", {
          json: { ticket: s.ticket, code: s.code, cookie: false },
        });
        expect(again.status, await again.clone().text()).toBe(200);
        expect(await ticketState(s.ticket)).toEqual({
          usedAt: expect.any(Number),
          spentInto: expect.any(String),
        });
        expect(await liveSessions(s.userId)).toBe(s.sessions + 1);
      },
    );
  });

  it("MFA step with a recovery code: no session, the ticket unspent and the code unused; both then sign in", async () => {
    const codesLeft = async (userId: string) =>
      (await env.DB.prepare("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL")
        .bind(userId)
        .first<{ n: number }>())!.n;
    const setup = async () => {
      const s = await activeUser();
      const { otp_secret: secret } = await json(await call("/auth/mfa/generate", { json: {}, token: s.jwt }));
      expect(
        (await call("/auth/mfa/enable", { json: { code: totpCode(secret, -1) }, token: s.jwt })).status,
      ).toBe(204);
      const made = await call("/v1/mfa/recovery-codes", { json: { code: totpCode(secret) }, token: s.jwt });
      const { codes } = await json(made);
      const first = await json(await login(s.email));
      return {
        ...s,
        ticket: first.ticket as string,
        code: codes[0] as string,
        sessions: await liveSessions(s.userId),
      };
    };
    const trips = await sweep(
      setup,
      (s, headers) =>
        call("/auth/mfa/totp", { json: { ticket: s.ticket, code: s.code, cookie: false }, headers }),
      async (s) => {
        expect(await sessionsWithoutToken(s.userId)).toBe(0);
        expect(await liveSessions(s.userId)).toBe(s.sessions);
        expect(await ticketState(s.ticket)).toEqual({ usedAt: null, spentInto: null });
        expect(await codesLeft(s.userId)).toBe(10);
        const again = await call("/auth/mfa/totp", {
          json: { ticket: s.ticket, code: s.code, cookie: false },
        });
        expect(again.status, await again.clone().text()).toBe(200);
        expect(await codesLeft(s.userId)).toBe(9);
        expect(await liveSessions(s.userId)).toBe(s.sessions + 1);
      },
    );
    expect(trips).toBe(3);
  });

  it("activation link: the account stays inactive without a session or team; the same link then works", async () => {
    const setup = async () => {
      const email = uniqueEmail();
      expect((await call("/auth/register", { json: { email, password: PASSWORD } })).status).toBe(200);
      const { ticket } = (await lastMail(email, "activation")).data;
      return { email, ticket: ticket! };
    };
    await sweep(
      setup,
      (s, headers) => call(`/auth/activate?ticket=${encodeURIComponent(s.ticket)}`, { headers }),
      async (s) => {
        const before = await activation(s.email);
        expect(before).toMatchObject({ active: 0, verified: 0, teams: 0 });
        expect(await liveSessions(before.userId)).toBe(0);
        expect(await ticketState(s.ticket)).toEqual({ usedAt: null, spentInto: null });
        const again = await call(`/auth/activate?ticket=${encodeURIComponent(s.ticket)}`);
        expect(again.status).toBe(302);
        expect(await activation(s.email)).toMatchObject({ active: 1, verified: 1, teams: 1 });
        expect(await liveSessions(before.userId)).toBe(1);
        expect((await login(s.email)).status).toBe(200);
      },
    );
  });

  it("reset with ticket: a failed write leaves the old password, the sessions and the ticket; the notice is best effort", async () => {
    const setup = async () => {
      const s = await activeUser();
      expect((await call("/auth/change-password/request", { json: { email: s.email } })).status).toBe(204);
      const { ticket } = (await lastMail(s.email, "password_reset")).data;
      return { ...s, ticket: ticket!, sessions: await liveSessions(s.userId) };
    };
    const next = "a new passphrase 1";
    const reset = (s: { ticket: string }, headers: Record<string, string> = {}) =>
      call("/auth/change-password/change", { json: { ticket: s.ticket, new_password: next }, headers });
    const clean = await reset(await setup());
    expect(clean.status).toBe(204);
    const trips = measured(clean).d1;
    for (let n = 1; n <= trips; n++) {
      const s = await setup();
      const res = await reset(s, failAt(n));
      if (n === 1) {
        // The one write: nothing of it happened.
        expect(res.status).toBe(503);
        expect(await ticketState(s.ticket)).toEqual({ usedAt: null, spentInto: null });
        expect(await liveSessions(s.userId)).toBe(s.sessions);
        expect((await login(s.email)).status).toBe(200);
        expect((await reset(s)).status).toBe(204);
      } else {
        // The notice's mail (its window, the outbox): a notice never undoes the change (notices.ts).
        expect(res.status).toBe(204);
      }
      expect(await liveSessions(s.userId)).toBe(0);
      expect((await login(s.email)).status).toBe(401);
    }
  });

  it("reset request: after a failure the repeated request mails a link that works", async () => {
    const trips = await sweep(
      () => activeUser(),
      (s, headers) => call("/auth/change-password/request", { json: { email: s.email }, headers }),
      async (s) => {
        expect((await call("/auth/change-password/request", { json: { email: s.email } })).status).toBe(204);
        const { ticket } = (await lastMail(s.email, "password_reset")).data;
        const res = await call("/auth/change-password/change", {
          json: { ticket, new_password: "a new passphrase 1" },
        });
        expect(res.status).toBe(204);
      },
    );
    // The mail window, the holder, its recipient window and the ticket in one batch; the outbox.
    expect(trips).toBe(2);
  });

  it("magic-link request: a failed batch counts and stores nothing; after any failure the repeated request mails a link that signs in", async () => {
    const magic = { MAGIC_LINK_ENABLED: "true" };
    const ip = () => `203.0.113.${crypto.randomUUID()}`;
    const trips = await sweep(
      async () => {
        const email = uniqueEmail("magic");
        expect((await call("/auth/register", { json: { email }, vars: magic })).status).toBe(200);
        const { token } = (await lastMail(email, "magic_link")).data;
        const activated = await call(`/auth/magic-link?action=register&token=${encodeURIComponent(token!)}`, {
          vars: magic,
        });
        expect(activated.status).toBe(302);
        return { email, ip: ip() };
      },
      (s, headers) => call("/auth/login", { json: { email: s.email }, vars: magic, headers, ip: s.ip }),
      async (s, failedAt) => {
        const state = await env.DB.prepare(
          `SELECT (SELECT count(*) FROM tickets t JOIN emails e ON e.user_id = t.user_id
                    WHERE e.address = ?1 AND t.purpose = 'magic_link') AS links,
                  (SELECT count FROM rate_windows WHERE key = 'mail:3600:' || ?2) AS route,
                  (SELECT count FROM rate_windows WHERE key = 'recipient:3600:' || ?1) AS recipient`,
        )
          .bind(s.email, s.ip)
          .first<{ links: number; route: number | null; recipient: number | null }>();
        // The first round trip is the batch: all of it or nothing.
        if (failedAt === 1) expect(state).toEqual({ links: 0, route: null, recipient: 1 });
        else expect(state).toEqual({ links: 1, route: 1, recipient: 2 });
        const again = await call("/auth/login", { json: { email: s.email }, vars: magic, ip: s.ip });
        expect(again.status).toBe(200);
        const { token } = (await lastMail(s.email, "magic_link")).data;
        const signIn = await call(`/auth/magic-link?action=log-in&token=${encodeURIComponent(token!)}`, {
          vars: magic,
        });
        expect(signIn.status).toBe(302);
      },
    );
    expect(trips).toBe(2);
  });

  it("vault reissue: a failed claim leaves none; after any failure the same userToken still reissues", async () => {
    const claims = async (userId: string) =>
      (await env.DB.prepare(
        "SELECT COUNT(*) AS n FROM tickets WHERE purpose = 'access_reissue' AND user_id = ?",
      )
        .bind(userId)
        .first<{ n: number }>())!.n;
    const trips = await sweep(
      async () => {
        const u = await verified();
        const res = await call(`${V}/login`, { json: { email: u.email, password: PASSWORD } });
        const { userToken } = (await res.json()) as { userToken: string };
        return { userToken, userId: decodeJwt(userToken).sub as string };
      },
      (s, headers) => call(`${V}/refresh`, { token: s.userToken, headers }),
      async (s, failedAt) => {
        // The first round trip is the claim's batch: all of it or nothing.
        expect(await claims(s.userId)).toBe(failedAt === 1 ? 0 : 1);
        expect((await call(`${V}/refresh`, { token: s.userToken })).status).toBe(200);
        expect(await claims(s.userId)).toBe(1);
      },
    );
    expect(trips).toBe(2);
  });

  it("account deletion: the account is either still whole or gone", async () => {
    await sweep(
      () => activeUser(DELETE),
      (s, headers) => call("/auth/delete", { method: "POST", token: s.jwt, headers, vars: DELETE }),
      async (s) => {
        const rows = await userRows(s.email);
        expect(rows.orphans).toBe(0);
        if (rows.complete === 1) expect((await login(s.email)).status).toBe(200);
        else expect((await login(s.email)).status).toBe(401);
      },
    );
  });
});

describe("R2 faults", () => {
  it("an upload whose R2 write fails answers 503 and leaves no object", async () => {
    const s = await activeUser();
    const path = `user/${s.userId}/fault.png`;
    const res = await call(`/storage/o/${path}`, {
      method: "POST",
      body: fileForm(PNG_1PX, "fault.png", "image/png"),
      token: s.jwt,
      headers: { "x-dev-r2-fail": "all" },
    });
    expect(res.status).toBe(503);
    expect(await env.FILES.head(path)).toBeNull();
    const retry = await call(`/storage/o/${path}`, {
      method: "POST",
      body: fileForm(PNG_1PX, "fault.png", "image/png"),
      token: s.jwt,
    });
    expect(retry.status).toBe(200);
    expect(decodeJwt(s.jwt).sub).toBe(s.userId);
  });
});
