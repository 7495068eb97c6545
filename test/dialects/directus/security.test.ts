/**
 * Directus dialect security: cross-site refusal on cookie-mode routes (with and without a
 * Content-Type), expiring reset tokens, revoked sessions, refresh-token reuse.
 */
import { describe, expect, it } from "vitest";
import { TICKET_TTL } from "../../../src/core/accounts/accounts.service";
import { CAPPED, call } from "../../support/app";
import { testClock } from "../../support/clock";
import {
  activeUser,
  awayFromMinuteEdge,
  burstIp,
  json,
  lastMail,
  liveRefreshTokens,
  PASSWORD,
  sleep,
  statuses,
  tokenWorks,
  totpCode,
} from "../hbp/helpers";
import { cookie, D, directusLogin, directusUser, expectErrors } from "./helpers";

const EVIL = { origin: "https://evil.example" };

async function cookieSession(mode: "cookie" | "session" = "cookie") {
  const s = await activeUser();
  const login = await directusLogin({ email: s.email, password: PASSWORD, mode });
  const name = mode === "cookie" ? "directus_refresh_token" : "directus_session_token";
  return { ...s, header: `${name}=${cookie(login, name)!}` };
}

describe("cross-site requests on cookie-mode routes", () => {
  it("refresh with a foreign Origin is refused, JSON or not, with a body or none", async () => {
    const s = await cookieSession();
    const attempts = [
      call(`${D}/auth/refresh`, { json: { mode: "cookie" }, headers: { ...EVIL, cookie: s.header } }),
      call(`${D}/auth/refresh`, { method: "POST", headers: { ...EVIL, cookie: s.header } }),
      call(`${D}/auth/refresh`, {
        body: "mode=cookie",
        headers: { ...EVIL, cookie: s.header, "content-type": "application/x-www-form-urlencoded" },
      }),
      call(`${D}/auth/refresh`, {
        body: '{"mode":"cookie"}',
        headers: { ...EVIL, cookie: s.header, "content-type": "text/plain" },
      }),
      call(`${D}/auth/refresh`, { method: "POST", headers: { origin: "null", cookie: s.header } }),
    ];
    for (const res of await Promise.all(attempts))
      await expectErrors(res, 403, "FORBIDDEN", "You don't have permission to access this.");
    // The cookie still works from the app's own origin.
    const ok = await call(`${D}/auth/refresh`, {
      json: { mode: "cookie" },
      headers: { origin: "http://localhost:8787", "sec-fetch-site": "same-origin", cookie: s.header },
    });
    expect(ok.status).toBe(200);
  });

  it("Sec-Fetch-Site cross-site or same-site without Origin is refused", async () => {
    const s = await cookieSession();
    for (const site of ["cross-site", "same-site"]) {
      const res = await call(`${D}/auth/refresh`, {
        method: "POST",
        headers: { "sec-fetch-site": site, cookie: s.header },
      });
      expect(res.status).toBe(403);
    }
  });

  it("an origin listed in CORS_ORIGINS is trusted", async () => {
    const s = await cookieSession();
    const res = await call(`${D}/auth/refresh`, {
      json: { mode: "cookie" },
      headers: { origin: "https://app.example.com", "sec-fetch-site": "cross-site", cookie: s.header },
      vars: { CORS_ORIGINS: "https://app.example.com" },
    });
    expect(res.status).toBe(200);
  });

  it("logout with a foreign Origin is refused and leaves the session alive", async () => {
    const s = await cookieSession();
    const res = await call(`${D}/auth/logout`, { method: "POST", headers: { ...EVIL, cookie: s.header } });
    expect(res.status).toBe(403);
    expect((await call(`${D}/auth/refresh`, { method: "POST", headers: { cookie: s.header } })).status).toBe(
      200,
    );
  });

  it("login in cookie or session mode from a foreign Origin is refused (login CSRF)", async () => {
    const s = await activeUser();
    for (const mode of ["cookie", "session"]) {
      const res = await directusLogin({ email: s.email, password: PASSWORD, mode }, { headers: EVIL });
      expect(res.status).toBe(403);
      expect(res.headers.getSetCookie()).toEqual([]);
    }
  });

  it("session-cookie requests to /users/me from a foreign Origin are refused", async () => {
    const s = await cookieSession("session");
    const res = await call(`${D}/users/me`, { headers: { ...EVIL, cookie: s.header } });
    expect(res.status).toBe(403);
    expect((await call(`${D}/users/me`, { headers: { cookie: s.header } })).status).toBe(200);
  });
});

describe("tokens", () => {
  it("an expired reset token is refused", async () => {
    const u = await directusUser();
    await call(`${D}/auth/password/request`, { json: { email: u.email } });
    const token = (await lastMail(u.email, "password_reset")).data.ticket!;
    const clock = testClock();
    clock.advance(TICKET_TTL.passwordReset / 1000 + 1);
    await expectErrors(
      await call(`${D}/auth/password/reset`, { json: { token, password: "a brand new password" }, clock }),
      401,
      "INVALID_TOKEN",
      "Invalid token.",
    );
  });

  it("a session revoked elsewhere cannot refresh here", async () => {
    const u = await directusUser();
    // HBP's revoke-all ends every session of the user.
    expect((await call("/auth/token/revoke", { method: "POST", token: u.access })).status).toBe(204);
    await expectErrors(
      await call(`${D}/auth/refresh`, { json: { refresh_token: u.rt } }),
      401,
      "INVALID_CREDENTIALS",
      "Invalid user credentials.",
    );
  });

  it("a rotated refresh token presented after the grace window revokes the session", async () => {
    const vars = { REFRESH_REUSE_GRACE: "0" };
    const u = await directusUser();
    const first = await json(await call(`${D}/auth/refresh`, { json: { refresh_token: u.rt }, vars }));
    await sleep(5);
    expect((await call(`${D}/auth/refresh`, { json: { refresh_token: u.rt }, vars })).status).toBe(401);
    expect(
      (await call(`${D}/auth/refresh`, { json: { refresh_token: first.data.refresh_token }, vars })).status,
    ).toBe(401);
  });

  it("30 parallel refreshes of one token within the grace window all get the same successor", async () => {
    const u = await directusUser();
    const rs = await Promise.all(
      Array.from({ length: 30 }, () => call(`${D}/auth/refresh`, { json: { refresh_token: u.rt } })),
    );
    expect(statuses(rs)).toEqual({ 200: 30 });
    const tokens = new Set(await Promise.all(rs.map(async (r) => (await json(r)).data.refresh_token)));
    expect(tokens.size).toBe(1);
    expect(tokens.has(u.rt)).toBe(false);
    expect(await liveRefreshTokens(u.access)).toBe(1);
  });

  it("30 parallel cookie-mode refreshes set one successor cookie", async () => {
    const s = await cookieSession("cookie");
    const rs = await Promise.all(
      Array.from({ length: 30 }, () =>
        call(`${D}/auth/refresh`, { json: { mode: "cookie" }, headers: { cookie: s.header } }),
      ),
    );
    expect(statuses(rs)).toEqual({ 200: 30 });
    expect(new Set(rs.map((r) => cookie(r, "directus_refresh_token"))).size).toBe(1);
  });

  it("a rotated session cookie stops authenticating /users/me after the grace window", async () => {
    const vars = { REFRESH_REUSE_GRACE: "0" };
    const s = await cookieSession("session");
    const res = await call(`${D}/auth/refresh`, {
      json: { mode: "session" },
      headers: { cookie: s.header },
      vars,
    });
    expect(res.status).toBe(200);
    await sleep(5);
    expect((await call(`${D}/users/me`, { headers: { cookie: s.header }, vars })).status).toBe(401);
    const fresh = `directus_session_token=${cookie(res, "directus_session_token")}`;
    expect((await call(`${D}/users/me`, { headers: { cookie: fresh }, vars })).status).toBe(200);
  });
});

describe("DIRECTUS_PREFIX", () => {
  const vars = { DIRECTUS_PREFIX: "/cms/v1" };

  it("moves every route, the cookie path and 404s with it", async () => {
    const s = await activeUser();
    const login = await call("/cms/v1/auth/login", {
      json: { email: s.email, password: PASSWORD, mode: "cookie" },
      vars,
    });
    expect(login.status).toBe(200);
    expect(login.headers.get("cache-control")).toBe("no-store");
    const set = login.headers.getSetCookie().find((l) => l.startsWith("directus_refresh_token="))!;
    expect(set).toMatch(/Path=\/cms\/v1;/);
    const { data } = await json(login);
    expect((await call("/cms/v1/users/me?fields=email", { token: data.access_token, vars })).status).toBe(
      200,
    );
    await expectErrors(
      await call("/cms/v1/nothing", { vars }),
      404,
      "ROUTE_NOT_FOUND",
      "Route /nothing doesn't exist.",
    );
    // The default prefix is free again.
    expect(
      (await call(`${D}/auth/login`, { json: { email: s.email, password: PASSWORD }, vars })).status,
    ).toBe(404);
  });

  it("follows DIALECTS: off means 404 under the prefix too", async () => {
    const res = await call("/cms/v1/auth/login", {
      json: { email: "a@example.com", password: PASSWORD },
      vars: { ...vars, DIALECTS: "hbp" },
    });
    expect(res.status).toBe(404);
  });

  it("refuses a prefix that is not a plain path", async () => {
    for (const bad of ["directus", "/", "/a/../b", "/a b"]) {
      const res = await call("/health", { vars: { DIRECTUS_PREFIX: bad } });
      expect(res.status).toBe(500);
      expect(await json(res)).toEqual({
        error:
          "Configuration error: DIRECTUS_PREFIX: must be a path such as /directus (segments of letters, digits, . _ -)",
      });
    }
  });
});

describe("directus: TOTP on and off end the other sessions and send a notice", () => {
  it("enable and disable: the other session ends, this one stays, mails 'turned on' / 'turned off'", async () => {
    // directusUser has two sessions: an hbp one (jwt) and a directus one (access).
    const u = await directusUser();
    const gen = await json(
      await call(`${D}/users/me/tfa/generate`, { json: { password: PASSWORD }, token: u.access }),
    );
    const secret = gen.data.secret as string;
    const en = await call(`${D}/users/me/tfa/enable`, {
      json: { secret, otp: totpCode(secret, -1) },
      token: u.access,
    });
    expect(en.status).toBe(204);
    expect(await tokenWorks(u.jwt)).toBe(401);
    expect(await tokenWorks(u.access)).toBe(400);
    expect((await lastMail(u.email, "totp_enabled")).text).toMatch(/turned on/);

    const second = await json(
      await directusLogin({ email: u.email, password: PASSWORD, otp: totpCode(secret) }),
    );
    const other = second.data.access_token as string;
    expect(await tokenWorks(other)).toBe(400);
    const dis = await call(`${D}/users/me/tfa/disable`, {
      json: { otp: totpCode(secret, 1) },
      token: u.access,
    });
    expect(dis.status).toBe(204);
    expect(await tokenWorks(other)).toBe(401);
    expect(await tokenWorks(u.access)).toBe(400);
    expect((await lastMail(u.email, "totp_disabled")).text).toMatch(/turned off/);
  });

  it("a password reset ends every session and mails a notice", async () => {
    const u = await directusUser();
    expect((await call(`${D}/auth/password/request`, { json: { email: u.email } })).status).toBe(204);
    const token = (await lastMail(u.email, "password_reset")).data.ticket!;
    const res = await call(`${D}/auth/password/reset`, { json: { token, password: "a new good password" } });
    expect(res.status).toBe(204);
    expect(await tokenWorks(u.access)).toBe(401);
    const notice = (await lastMail(u.email, "password_reset_done")).text;
    expect(notice).toMatch(/was reset/);
  });
});

describe("WWW-Authenticate on 401s (RFC 6750 §3)", () => {
  it("bare Bearer without credentials, invalid_token for a bad token, none for a failed login", async () => {
    expect((await call(`${D}/users/me`)).headers.get("www-authenticate")).toBe("Bearer");
    const bad = await call(`${D}/users/me`, { token: "a.b.c" });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toBe(
      'Bearer error="invalid_token", error_description="The access token is invalid"',
    );
    const s = await activeUser();
    const login = await directusLogin({ email: s.email, password: "wrong password" });
    expect(login.status).toBe(401);
    expect(login.headers.get("www-authenticate")).toBeNull();
  });
});

describe("a burst of 50 logins from one IP", () => {
  it("at most 2 hash at once; the rest are refused at once: 503 SERVICE_UNAVAILABLE, then 429", async () => {
    await awayFromMinuteEdge();
    const s = await activeUser();
    const ip = burstIp();
    const rs = await Promise.all(
      Array.from({ length: 50 }, () =>
        directusLogin({ email: s.email, password: PASSWORD, mode: "json" }, { ip, vars: CAPPED }),
      ),
    );
    expect(statuses(rs)).toEqual({ 200: 2, 503: 18, 429: 30 });
    const busy = rs.find((r) => r.status === 503)!;
    expect(busy.headers.get("retry-after")).toBe("1");
    await expectErrors(busy, 503, "SERVICE_UNAVAILABLE", "Service is unavailable. Try again later.");
  });
});
