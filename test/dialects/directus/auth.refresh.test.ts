/** api/directus-auth.txt, Refresh Token and Logout: POST /auth/refresh, POST /auth/logout. */
import { describe, expect, it } from "vitest";
import { call } from "../../support/app";
import { activeUser, json, PASSWORD, tokenWorks } from "../hbp/helpers";
import { cookie, D, directusLogin, directusUser, expectErrors } from "./helpers";

const refresh = (body: unknown, headers: Record<string, string> = {}) =>
  call(`${D}/auth/refresh`, { json: body, headers });
const logout = (body: unknown, headers: Record<string, string> = {}) =>
  call(`${D}/auth/logout`, { json: body, headers });

describe("POST /auth/refresh", () => {
  it("json mode rotates the refresh token and answers a new pair", async () => {
    const u = await directusUser();
    const res = await refresh({ mode: "json", refresh_token: u.rt });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({
      data: { access_token: expect.any(String), expires: 900_000, refresh_token: expect.any(String) },
    });
    expect(body.data.refresh_token).not.toBe(u.rt);
    expect(await tokenWorks(body.data.access_token)).toBe(400);
  });

  it("without mode, a body refresh_token means json (compat: the 9.x SDK sends no mode)", async () => {
    const u = await directusUser();
    const body = await json(await refresh({ refresh_token: u.rt }));
    expect(body.data.refresh_token).toEqual(expect.any(String));
  });

  it("ignores an expired or garbage Authorization header (the 9.x SDK sends its old token)", async () => {
    const u = await directusUser();
    const res = await refresh({ refresh_token: u.rt }, { authorization: "Bearer expired.garbage.token" });
    expect(res.status).toBe(200);
  });

  it("cookie mode reads and rotates the directus_refresh_token cookie", async () => {
    const s = await activeUser();
    const login = await directusLogin({ email: s.email, password: PASSWORD, mode: "cookie" });
    const rt = cookie(login, "directus_refresh_token")!;
    const res = await refresh({ mode: "cookie" }, { cookie: `directus_refresh_token=${rt}` });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ data: { access_token: expect.any(String), expires: 900_000 } });
    const next = cookie(res, "directus_refresh_token");
    expect(next).toMatch(/^[\w-]{43}$/);
    expect(next).not.toBe(rt);
  });

  it("without mode and without a body token, the cookie is used", async () => {
    const s = await activeUser();
    const login = await directusLogin({ email: s.email, password: PASSWORD, mode: "cookie" });
    const rt = cookie(login, "directus_refresh_token")!;
    const res = await call(`${D}/auth/refresh`, {
      method: "POST",
      headers: { cookie: `directus_refresh_token=${rt}` },
    });
    expect(res.status).toBe(200);
  });

  it("session mode rotates the session cookie", async () => {
    const s = await activeUser();
    const login = await directusLogin({ email: s.email, password: PASSWORD, mode: "session" });
    const st = cookie(login, "directus_session_token")!;
    const res = await refresh({ mode: "session" }, { cookie: `directus_session_token=${st}` });
    expect(await json(res)).toEqual({ data: { expires: 900_000 } });
    expect(cookie(res, "directus_session_token")).not.toBe(st);
  });

  it("answers INVALID_PAYLOAD when no token is given anywhere", async () => {
    await expectErrors(
      await refresh({ mode: "cookie" }),
      400,
      "INVALID_PAYLOAD",
      "Invalid payload. The refresh token is required in either the payload or cookie.",
      "The refresh token is required in either the payload or cookie",
    );
  });

  it("answers INVALID_CREDENTIALS for an unknown refresh token", async () => {
    await expectErrors(
      await refresh({ mode: "json", refresh_token: "x".repeat(43) }),
      401,
      "INVALID_CREDENTIALS",
      "Invalid user credentials.",
    );
  });
});

describe("POST /auth/logout", () => {
  it("json mode ends the session: 204, then the refresh token and access token are dead", async () => {
    const u = await directusUser();
    const res = await logout(
      { mode: "json", refresh_token: u.rt },
      { authorization: "Bearer stale.token.here" },
    );
    expect(res.status).toBe(204);
    expect((await refresh({ mode: "json", refresh_token: u.rt })).status).toBe(401);
    expect(await tokenWorks(u.access)).toBe(401);
  });

  it("cookie mode ends the session and clears the cookie", async () => {
    const s = await activeUser();
    const login = await directusLogin({ email: s.email, password: PASSWORD, mode: "cookie" });
    const rt = cookie(login, "directus_refresh_token")!;
    const res = await logout({ mode: "cookie" }, { cookie: `directus_refresh_token=${rt}` });
    expect(res.status).toBe(204);
    expect(res.headers.getSetCookie().some((l) => /^directus_refresh_token=;.*Max-Age=0/.test(l))).toBe(true);
    expect((await refresh({ mode: "cookie" }, { cookie: `directus_refresh_token=${rt}` })).status).toBe(401);
  });

  it("answers 204 for an unknown token and 400 without one", async () => {
    expect((await logout({ refresh_token: "y".repeat(43) })).status).toBe(204);
    expect((await logout({ mode: "cookie" })).status).toBe(400);
  });
});
