/**
 * Login CSRF and cross-site cookie use on the HBP routes that set, use or clear the refresh cookie:
 * a request whose Origin is not the Worker's, PUBLIC_URL's or one of CORS_ORIGINS (or, without
 * Origin, whose Sec-Fetch-Site is cross-site/same-site) is refused with a Boom 403 before anything
 * happens. Non-browser clients (no Origin, no Sec-Fetch-Site) keep working.
 */
import { describe, expect, it } from "vitest";
import {
  AUTO,
  activeUser,
  call,
  expectBoom,
  json,
  PASSWORD,
  refreshCookie,
  tokenWorks,
  uniqueEmail,
  usersWithEmail,
} from "./helpers";

const REFUSED = "Cross-site request refused.";
const EVIL = "https://evil.example";
const APP = "http://localhost:5173";

/** The headers of a cross-site browser request, with and without Origin. */
const CROSS_SITE: Record<string, string>[] = [
  { origin: EVIL, "sec-fetch-site": "cross-site" },
  { origin: "null" },
  { "sec-fetch-site": "cross-site" },
  { "sec-fetch-site": "same-site" },
];

describe("cross-site requests on the HBP cookie routes", () => {
  it("a cross-site form POST /auth/login is 403 and sets no cookie", async () => {
    const s = await activeUser();
    for (const headers of CROSS_SITE) {
      const res = await call("/auth/login", { form: { email: s.email, password: PASSWORD }, headers });
      expect(refreshCookie(res)).toBeNull();
      await expectBoom(res, 403, REFUSED);
    }
  });

  it("the same login from the Worker's origin, a CORS_ORIGINS origin or a non-browser client works", async () => {
    const s = await activeUser();
    const vars = { CORS_ORIGINS: APP };
    const trusted: Record<string, string>[] = [
      { origin: "http://localhost:8787", "sec-fetch-site": "same-origin" },
      { origin: APP, "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-origin" },
      { "sec-fetch-site": "none" },
      {},
    ];
    for (const headers of trusted) {
      const res = await call("/auth/login", { json: { email: s.email, password: PASSWORD }, headers, vars });
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect(refreshCookie(res)).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    }
  });

  it("PUBLIC_URL's origin is trusted too (the Worker behind another host name)", async () => {
    const s = await activeUser();
    const res = await call("/auth/login", {
      json: { email: s.email, password: PASSWORD },
      headers: { origin: "https://auth.example.com" },
      vars: { PUBLIC_URL: "https://auth.example.com" },
    });
    expect(res.status).toBe(200);
  });

  it("a cross-site POST /auth/logout with the cookie is 403 and the session lives on", async () => {
    const s = await activeUser();
    for (const headers of CROSS_SITE) {
      const res = await call("/auth/logout", {
        json: {},
        headers: { ...headers, cookie: `refresh_token=${s.refresh}` },
      });
      expect(res.headers.get("set-cookie")).toBeNull();
      await expectBoom(res, 403, REFUSED);
    }
    expect(await tokenWorks(s.jwt)).toBe(400);
    const same = await call("/auth/logout", {
      json: {},
      headers: { origin: "http://localhost:8787", cookie: `refresh_token=${s.refresh}` },
    });
    expect(same.status).toBe(204);
    expect(await tokenWorks(s.jwt)).toBe(401);
  });

  it("cross-site register, TOTP step, refresh, revoke and delete are 403 with nothing done", async () => {
    const email = uniqueEmail();
    const reg = await call("/auth/register", {
      form: { email, password: PASSWORD },
      headers: { origin: EVIL },
      vars: AUTO,
    });
    await expectBoom(reg, 403, REFUSED);
    expect(await usersWithEmail(email)).toBe(0);

    const s = await activeUser();
    const headers = { origin: EVIL, cookie: `refresh_token=${s.refresh}` };
    await expectBoom(
      await call("/auth/mfa/totp", { json: { ticket: "t", code: "123456" }, headers }),
      403,
      REFUSED,
    );
    await expectBoom(await call("/auth/token/refresh", { headers }), 403, REFUSED);
    await expectBoom(
      await call("/auth/token/refresh", {
        headers: { "sec-fetch-site": "cross-site", cookie: headers.cookie },
      }),
      403,
      REFUSED,
    );
    await expectBoom(
      await call("/auth/token/revoke", { method: "POST", token: s.jwt, headers }),
      403,
      REFUSED,
    );
    await expectBoom(
      await call("/auth/delete", {
        method: "POST",
        token: s.jwt,
        headers,
        vars: { ALLOW_USER_SELF_DELETE: "true" },
      }),
      403,
      REFUSED,
    );
    // Nothing was rotated or revoked: the refresh token still works once, from a non-browser client.
    const r = await call(`/auth/token/refresh?refresh_token=${s.refresh}`);
    expect(r.status).toBe(200);
    expect((await json(r)).user.email).toBe(s.email);
  });

  it("the refresh cookie still refreshes same-origin (nhost-js-sdk in the app's page)", async () => {
    const s = await activeUser();
    const res = await call("/auth/token/refresh", {
      headers: { "sec-fetch-site": "same-origin", cookie: `refresh_token=${s.refresh}` },
    });
    expect(res.status).toBe(200);
    expect(refreshCookie(res)).toMatch(/^[A-Za-z0-9_-]{40,}$/);
  });
});
