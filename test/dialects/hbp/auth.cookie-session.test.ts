/**
 * HBP's cookie mode: after a login with `cookie` (HBP's default) the HttpOnly session cookie
 * authenticates later HBP requests without any Authorization header, as HBP's
 * `permission_variables` cookie did (upstream middlewares/auth.ts), storage included. The bearer
 * header wins when sent; state-changing requests carrying the cookie must be same-origin (or from
 * CORS_ORIGINS); a logout or revocation ends the cookie at once.
 */
import { describe, expect, it } from "vitest";
import { call, uniqueEmail, type Vars } from "../../support/app";
import { AUTO, activeUser, expectBoom, json, PASSWORD } from "./helpers";
import { fileForm, uploadOk } from "./storage.helpers";

const ORIGIN = "http://localhost:8787";

/** The cookies a response sets, as a Cookie request header (cleared ones left out). */
function cookiesOf(res: Response, jar: Record<string, string> = {}) {
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const at = pair!.indexOf("=");
    const name = pair!.slice(0, at);
    const value = pair!.slice(at + 1);
    if (value === "" || /Max-Age=0/i.test(line)) delete jar[name];
    else jar[name] = value;
  }
  return jar;
}
const header = (jar: Record<string, string>) =>
  Object.entries(jar)
    .map(([k, v]) => `${k}=${v}`)
    .join("; ");

/** Registers and signs in with cookie mode, as a browser SPA relying on cookies does. */
async function cookieSession(vars: Vars = {}) {
  const email = uniqueEmail("cookie");
  const reg = await call("/auth/register", {
    json: { email, password: PASSWORD },
    vars: { ...AUTO, ...vars },
  });
  const body = await json(reg);
  expect(reg.status).toBe(200);
  expect(body.refresh_token).toBeUndefined();
  const jar = cookiesOf(reg);
  return { email, userId: body.user.id as string, jwt: body.jwt_token as string, jar };
}

/** A same-origin browser request with the cookies and no Authorization header. */
const browser = (jar: Record<string, string>, extra: Record<string, string> = {}) => ({
  cookie: header(jar),
  origin: ORIGIN,
  "sec-fetch-site": "same-origin",
  ...extra,
});

describe("the session cookie", () => {
  it("login and register set it HttpOnly, SameSite=Strict, Path=/, next to the refresh cookie", async () => {
    const { email } = await cookieSession();
    const res = await call("/auth/login", { json: { email, password: PASSWORD } });
    expect(res.status).toBe(200);
    const lines = res.headers.getSetCookie();
    const session = lines.find((l) => l.startsWith("permission_variables="))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Strict/);
    expect(session).toMatch(/Path=\/(;|$)/);
    expect(session).toMatch(/Max-Age=2592000/);
    expect(lines.some((l) => l.startsWith("refresh_token="))).toBe(true);
    // cookie: false keeps HBP's bearer mode: no cookie at all.
    const bearer = await call("/auth/login", { json: { email, password: PASSWORD, cookie: false } });
    expect(bearer.headers.getSetCookie()).toEqual([]);
  });

  it("authenticates storage: upload by form, read, metadata, list, delete, all without a token", async () => {
    const s = await cookieSession();
    const path = `/storage/o/user/${s.userId}/photo.txt`;
    const up = await call(path, { method: "POST", body: fileForm("by cookie"), headers: browser(s.jar) });
    const meta = await json(up);
    expect(up.status, JSON.stringify(meta)).toBe(200);
    const read = await call(path, { headers: { cookie: header(s.jar) } });
    expect(read.status).toBe(200);
    expect(await read.text()).toBe("by cookie");
    expect(
      await json(await call(`/storage/m/user/${s.userId}/photo.txt`, { headers: browser(s.jar) })),
    ).toEqual(meta);
    expect(await json(await call(`/storage/m/user/${s.userId}/`, { headers: browser(s.jar) }))).toEqual([
      meta,
    ]);
    expect((await call(path, { method: "DELETE", headers: browser(s.jar) })).status).toBe(204);
  });

  it("authenticates the account routes: MFA generate, change-password", async () => {
    const s = await cookieSession();
    const gen = await call("/auth/mfa/generate", { json: {}, headers: browser(s.jar) });
    expect(gen.status).toBe(200);
    expect((await json(gen)).otp_secret).toMatch(/^[A-Z2-7]+$/);
    const change = await call("/auth/change-password", {
      json: { old_password: PASSWORD, new_password: "another good password" },
      headers: browser(s.jar),
    });
    expect(change.status).toBe(204);
  });

  it("is refused on state-changing requests from another site; reads are left to SameSite", async () => {
    const s = await cookieSession({ CORS_ORIGINS: "https://app.example.com" });
    const vars = { CORS_ORIGINS: "https://app.example.com" };
    const path = `/storage/o/user/${s.userId}/x.txt`;
    const cross: Record<string, string>[] = [
      { origin: "https://evil.example", cookie: header(s.jar) },
      { "sec-fetch-site": "cross-site", cookie: header(s.jar) },
      { origin: "null", cookie: header(s.jar) },
    ];
    for (const headers of cross) {
      await expectBoom(
        await call(path, { method: "POST", body: fileForm("x"), headers, vars }),
        403,
        "Cross-site request refused.",
      );
      await expectBoom(
        await call("/auth/mfa/generate", { json: {}, headers, vars }),
        403,
        "Cross-site request refused.",
      );
      await expectBoom(
        await call("/auth/token/revoke", { json: {}, headers, vars }),
        403,
        "Cross-site request refused.",
      );
    }
    // Login CSRF: a cross-site login may not plant a session cookie either.
    await expectBoom(
      await call("/auth/login", {
        json: { email: s.email, password: PASSWORD },
        headers: { origin: "https://evil.example" },
        vars,
      }),
      403,
      "Cross-site request refused.",
    );
    // `Origin: null` from a cross-site or sandboxed page stays refused...
    await expectBoom(
      await call(path, {
        method: "POST",
        body: fileForm("x"),
        headers: { origin: "null", "sec-fetch-site": "cross-site", cookie: header(s.jar) },
        vars,
      }),
      403,
      "Cross-site request refused.",
    );
    // ...but a plain form post of a same-origin page with Referrer-Policy: no-referrer sends
    // `Origin: null` too, and Sec-Fetch-Site tells it apart.
    const form = await call(path, {
      method: "POST",
      body: fileForm("from a same-origin form"),
      headers: { origin: "null", "sec-fetch-site": "same-origin", cookie: header(s.jar) },
      vars,
    });
    expect(form.status).toBe(200);
    // A configured CORS origin may, with credentials.
    const ok = await call(path, {
      method: "POST",
      body: fileForm("from the app"),
      headers: { origin: "https://app.example.com", cookie: header(s.jar) },
      vars,
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-credentials")).toBe("true");
    // The session is still alive: nothing above revoked it.
    expect((await call("/auth/mfa/generate", { json: {}, headers: browser(s.jar), vars })).status).toBe(200);
  });

  it("the bearer header wins over the cookie; a bad bearer token is a 401 even with a good cookie", async () => {
    const a = await cookieSession();
    const b = await activeUser();
    await uploadOk(`user/${b.userId}/b.txt`, "B", b.jwt);
    const asB = await call(`/storage/o/user/${b.userId}/b.txt`, {
      token: b.jwt,
      headers: { cookie: header(a.jar) },
    });
    expect(asB.status).toBe(200);
    const asBnotA = await call(`/storage/m/user/${a.userId}/`, {
      token: b.jwt,
      headers: { cookie: header(a.jar) },
    });
    expect(await json(asBnotA)).toEqual([]);
    await expectBoom(
      await call(`/storage/m/user/${a.userId}/`, { token: "not.a.jwt", headers: { cookie: header(a.jar) } }),
      401,
      "Invalid or expired JWT token.",
    );
  });

  it("is not an access token, and an access token is not a session cookie", async () => {
    const s = await cookieSession();
    await expectBoom(
      await call("/auth/mfa/generate", { json: {}, token: s.jar.permission_variables }),
      401,
      "Invalid or expired JWT token.",
    );
    const res = await call("/auth/mfa/generate", {
      json: {},
      headers: browser({ permission_variables: s.jwt }),
    });
    await expectBoom(res, 401, "Not logged in");
    // The unusable cookie is cleared.
    expect(res.headers.getSetCookie().some((l) => /^permission_variables=;.*Max-Age=0/.test(l))).toBe(true);
  });
});

describe("revocation ends the cookie at once", () => {
  it("logout (by the refresh cookie) clears both cookies and the old cookie no longer reads", async () => {
    const s = await cookieSession();
    const path = `/storage/o/user/${s.userId}/r.txt`;
    expect((await call(path, { method: "POST", body: fileForm("r"), headers: browser(s.jar) })).status).toBe(
      200,
    );
    const stale = { ...s.jar };
    // Warm every cache there is with a read first.
    expect((await call(path, { headers: { cookie: header(stale) } })).status).toBe(200);
    const out = await call("/auth/logout", { json: {}, headers: browser(s.jar) });
    expect(out.status).toBe(204);
    expect(cookiesOf(out, { ...s.jar })).toEqual({});
    await expectBoom(await call(path, { headers: { cookie: header(stale) } }), 403, "Forbidden");
    await expectBoom(
      await call("/auth/mfa/generate", { json: {}, headers: browser(stale) }),
      401,
      "Not logged in",
    );
  });

  it("a revocation made with the bearer token elsewhere ends the cookie too", async () => {
    const s = await cookieSession();
    const path = `/storage/o/user/${s.userId}/r.txt`;
    expect((await call(path, { method: "POST", body: fileForm("r"), headers: browser(s.jar) })).status).toBe(
      200,
    );
    expect((await call(path, { headers: { cookie: header(s.jar) } })).status).toBe(200);
    expect((await call("/auth/token/revoke", { json: {}, token: s.jwt })).status).toBe(204);
    await expectBoom(await call(path, { headers: { cookie: header(s.jar) } }), 403, "Forbidden");
  });

  it("logout with only the session cookie ends that session", async () => {
    const s = await cookieSession();
    const only = { permission_variables: s.jar.permission_variables! };
    expect((await call("/auth/logout", { json: {}, headers: browser(only) })).status).toBe(204);
    await expectBoom(
      await call("/auth/mfa/generate", { json: {}, headers: browser(only) }),
      401,
      "Not logged in",
    );
  });

  it("token revoke and account deletion work by the cookie alone", async () => {
    const s = await cookieSession();
    const revoked = await call("/auth/token/revoke", { json: {}, headers: browser(s.jar) });
    expect(revoked.status).toBe(204);
    expect(cookiesOf(revoked, { ...s.jar })).toEqual({});
    await expectBoom(
      await call("/auth/mfa/generate", { json: {}, headers: browser(s.jar) }),
      401,
      "Not logged in",
    );

    const vars = { ALLOW_USER_SELF_DELETE: "true" };
    const d = await cookieSession(vars);
    expect((await call("/auth/delete", { json: {}, headers: browser(d.jar), vars })).status).toBe(204);
    expect(
      (await call("/auth/login", { json: { email: d.email, password: PASSWORD }, vars })).status,
    ).not.toBe(200);
  });

  it("change-email by the cookie (direct change, VERIFY_EMAILS off)", async () => {
    const vars = { VERIFY_EMAILS: "false" };
    const s = await cookieSession(vars);
    const to = uniqueEmail("moved");
    const res = await call("/auth/change-email", { json: { new_email: to }, headers: browser(s.jar), vars });
    expect(res.status).toBe(204);
    expect(
      (await call("/auth/login", { json: { email: to, password: PASSWORD, cookie: false }, vars })).status,
    ).toBe(200);
  });

  it("a cookie refresh sets a new session cookie for the same session", async () => {
    const s = await cookieSession();
    const res = await call("/auth/token/refresh", { headers: browser(s.jar) });
    expect(res.status).toBe(200);
    const jar = cookiesOf(res, { ...s.jar });
    expect(jar.permission_variables).toBeDefined();
    expect(jar.refresh_token).not.toBe(s.jar.refresh_token);
    expect((await call("/auth/mfa/generate", { json: {}, headers: browser(jar) })).status).toBe(200);
  });
});
