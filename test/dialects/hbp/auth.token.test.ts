/** api/hbp.txt, GET /auth/token/refresh, POST /auth/token/revoke, POST /auth/logout. */
import { describe, expect, it } from "vitest";
import {
  activeUser,
  call,
  expectBoom,
  json,
  login,
  PASSWORD,
  refreshCookie,
  sleep,
  tokenWorks,
} from "./helpers";

describe("GET /auth/token/refresh", () => {
  it("with ?refresh_token= answers a session with a new refresh_token in the body", async () => {
    const s = await activeUser();
    const res = await call(`/auth/token/refresh?refresh_token=${s.refresh}`);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({
      jwt_token: expect.any(String),
      jwt_expires_in: 900_000,
      refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/),
      user: { id: s.userId, email: s.email, display_name: s.email, avatar_url: null },
    });
    expect(body.refresh_token).not.toBe(s.refresh);
    expect(refreshCookie(res)).toBeNull();
    expect(await tokenWorks(body.jwt_token)).toBe(400);
    // The new token rotates again.
    expect((await call(`/auth/token/refresh?refresh_token=${body.refresh_token}`)).status).toBe(200);
  });

  it("with the cookie answers the new token in the cookie only", async () => {
    const s = await activeUser();
    const res = await call("/auth/token/refresh", { headers: { cookie: `refresh_token=${s.refresh}` } });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({
      jwt_token: expect.any(String),
      jwt_expires_in: 900_000,
      user: { id: s.userId, email: s.email, display_name: s.email, avatar_url: null },
    });
    const next = refreshCookie(res);
    expect(next).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(next).not.toBe(s.refresh);
    expect(res.headers.get("set-cookie")).toContain("HttpOnly");
    expect((await call("/auth/token/refresh", { headers: { cookie: `refresh_token=${next}` } })).status).toBe(
      200,
    );
  });

  it("without a token is 401", async () => {
    await expectBoom(await call("/auth/token/refresh"), 401, "Invalid or expired refresh token.");
  });

  it("an unknown token is 401", async () => {
    await expectBoom(
      await call("/auth/token/refresh?refresh_token=abcdefabcdefabcdefabcdefabcdefabcdefabcdef"),
      401,
      "Invalid or expired refresh token.",
    );
  });

  it("an overlong token is 401", async () => {
    await expectBoom(
      await call(`/auth/token/refresh?refresh_token=${"a".repeat(5000)}`),
      401,
      "Invalid or expired refresh token.",
    );
  });

  it("carries the user's current details", async () => {
    const s = await activeUser();
    const email = `new-${s.email}`;
    const ch = await call("/auth/change-email", {
      json: { new_email: email },
      token: s.jwt,
      vars: { VERIFY_EMAILS: "false" },
    });
    expect(ch.status).toBe(204);
    const body = await json(await call(`/auth/token/refresh?refresh_token=${s.refresh}`));
    expect(body.user.email).toBe(email);
  });
});

describe("POST /auth/token/revoke", () => {
  it("ends every session of the user: 204", async () => {
    const s = await activeUser();
    const other = await login(s.email);
    const res = await call("/auth/token/revoke", { method: "POST", token: s.jwt });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    for (const t of [s.refresh, other.refresh_token])
      await expectBoom(
        await call(`/auth/token/refresh?refresh_token=${t}`),
        401,
        "Invalid or expired refresh token.",
      );
    expect(await tokenWorks(s.jwt)).toBe(401);
    expect(await tokenWorks(other.jwt_token)).toBe(401);
  });

  it("without a bearer token is 401 Not logged in", async () => {
    await expectBoom(await call("/auth/token/revoke", { method: "POST" }), 401, "Not logged in");
  });

  it("leaves other users' sessions alone", async () => {
    const a = await activeUser();
    const b = await activeUser();
    expect((await call("/auth/token/revoke", { method: "POST", token: a.jwt })).status).toBe(204);
    expect((await call(`/auth/token/refresh?refresh_token=${b.refresh}`)).status).toBe(200);
  });
});

describe("POST /auth/logout", () => {
  it("nhost-js-sdk style: ?refresh_token= and no Authorization header ends that session only", async () => {
    const s = await activeUser();
    const other = await login(s.email);
    const res = await call(`/auth/logout?refresh_token=${s.refresh}`, { json: { all: false } });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect(res.headers.get("set-cookie")).toMatch(/refresh_token=;.*Max-Age=0/);
    await expectBoom(
      await call(`/auth/token/refresh?refresh_token=${s.refresh}`),
      401,
      "Invalid or expired refresh token.",
    );
    expect(await tokenWorks(s.jwt)).toBe(401);
    expect((await call(`/auth/token/refresh?refresh_token=${other.refresh_token}`)).status).toBe(200);
  });

  it("with the refresh_token cookie", async () => {
    const s = await activeUser();
    const res = await call("/auth/logout", { json: {}, headers: { cookie: `refresh_token=${s.refresh}` } });
    expect(res.status).toBe(204);
    expect((await call(`/auth/token/refresh?refresh_token=${s.refresh}`)).status).toBe(401);
  });

  it("all:true ends every session of the user", async () => {
    const s = await activeUser();
    const other = await login(s.email);
    const res = await call(`/auth/logout?refresh_token=${s.refresh}`, { json: { all: true } });
    expect(res.status).toBe(204);
    for (const t of [s.refresh, other.refresh_token])
      expect((await call(`/auth/token/refresh?refresh_token=${t}`)).status).toBe(401);
    expect(await tokenWorks(other.jwt_token)).toBe(401);
  });

  it("with only a bearer token ends that session", async () => {
    const s = await activeUser();
    const res = await call("/auth/logout", { json: {}, token: s.jwt });
    expect(res.status).toBe(204);
    expect(await tokenWorks(s.jwt)).toBe(401);
    expect((await call(`/auth/token/refresh?refresh_token=${s.refresh}`)).status).toBe(401);
  });

  it("without any token is 401", async () => {
    await expectBoom(await call("/auth/logout", { json: {} }), 401, "Invalid or expired refresh token.");
  });

  it("with an unknown refresh token is 204 (nothing to end)", async () => {
    const res = await call("/auth/logout?refresh_token=unknown-token-value", { json: {} });
    expect(res.status).toBe(204);
  });

  it("rejects a non-boolean all", async () => {
    const s = await activeUser();
    await expectBoom(
      await call(`/auth/logout?refresh_token=${s.refresh}`, { json: { all: "yes" } }),
      400,
      '"all" must be a boolean',
    );
    // Nothing was ended.
    expect((await call(`/auth/token/refresh?refresh_token=${s.refresh}`)).status).toBe(200);
  });

  it("a later login still works", async () => {
    const s = await activeUser();
    await call(`/auth/logout?refresh_token=${s.refresh}`, { json: { all: true } });
    const res = await call("/auth/login", { json: { email: s.email, password: PASSWORD } });
    expect(res.status).toBe(200);
  });
});

describe("session hygiene", () => {
  it("session responses are not cacheable", async () => {
    const s = await activeUser();
    const res = await call(`/auth/token/refresh?refresh_token=${s.refresh}`);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const login = await call("/auth/login", { json: { email: s.email, password: PASSWORD } });
    expect(login.headers.get("cache-control")).toBe("no-store");
  });

  it("over https the refresh cookie is Secure", async () => {
    const s = await activeUser();
    const res = await call("https://auth.example.com/auth/login", {
      json: { email: s.email, password: PASSWORD },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).toMatch(/refresh_token=[^;]+;.*Secure/);
  });

  it("MAX_SESSIONS_PER_USER ends the oldest sessions beyond it", async () => {
    const vars = { MAX_SESSIONS_PER_USER: "2" };
    const s = await activeUser(vars);
    await sleep(2);
    const second = await login(s.email, PASSWORD, vars);
    await sleep(2);
    const third = await login(s.email, PASSWORD, vars);
    expect((await call(`/auth/token/refresh?refresh_token=${s.refresh}`, { vars })).status).toBe(401);
    expect(await tokenWorks(s.jwt)).toBe(401);
    for (const t of [second.refresh_token, third.refresh_token])
      expect((await call(`/auth/token/refresh?refresh_token=${t}`, { vars })).status).toBe(200);
  });
});
