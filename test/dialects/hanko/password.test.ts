import { describe, expect, it } from "vitest";
import { CAPPED, call, uniqueEmail } from "../../support/app";
import { awayFromMinuteEdge, burstIp, lastMail, statuses } from "../hbp/helpers";
import { hcall, json, OPEN, signUp } from "./support";

const PW = "correct horse battery staple";

describe("hanko: PUT /password and POST /password/login", () => {
  it("creates (201), then updates (200) the password, and logs in with the current one", async () => {
    const { userId, token } = await signUp();
    const created = await hcall("/password", {
      method: "PUT",
      token,
      json: { user_id: userId, password: PW },
    });
    expect(created.status).toBe(201);
    const updated = await hcall("/password", {
      method: "PUT",
      token,
      json: { user_id: userId, password: `${PW}!` },
    });
    expect(updated.status).toBe(200);
    const old = await hcall("/password/login", { json: { user_id: userId, password: PW } });
    expect(old.status).toBe(401);
    expect(await json(old)).toEqual({ code: 401, message: "Unauthorized" });
    const login = await hcall("/password/login", { json: { user_id: userId, password: `${PW}!` } });
    expect(login.status).toBe(200);
    expect(login.headers.get("x-auth-token")).toMatch(/^ey/);
    expect(login.headers.get("x-session-lifetime")).toBe("3600");
    expect(await json(await hcall("/me", { token: login.headers.get("x-auth-token")! }))).toEqual({
      id: userId,
    });
  });

  it("PUT /password ends the user's other sessions (this one stays) and mails a notice", async () => {
    const { userId, token, email } = await signUp();
    await hcall("/password", { method: "PUT", token, json: { user_id: userId, password: PW } });
    const other = (await hcall("/password/login", { json: { user_id: userId, password: PW } })).headers.get(
      "x-auth-token",
    )!;
    expect((await hcall("/me", { token: other })).status).toBe(200);
    const res = await hcall("/password", {
      method: "PUT",
      token,
      json: { user_id: userId, password: `${PW}?` },
      headers: { "user-agent": "HankoTest/2" },
      ip: "192.0.2.9",
    });
    expect(res.status).toBe(200);
    expect((await hcall("/me", { token: other })).status).toBe(401);
    expect((await hcall("/me", { token })).status).toBe(200);
    const mail = await lastMail(email, "password_changed");
    expect(mail.text).toContain("HankoTest/2");
    expect(mail.text).toContain("192.0.2.0/24");
  });

  it("PUT /password: 401 without a session, 403 for another user, 400 below the minimum length", async () => {
    const a = await signUp();
    const b = await signUp();
    expect(
      (await hcall("/password", { method: "PUT", json: { user_id: a.userId, password: PW } })).status,
    ).toBe(401);
    const other = await hcall("/password", {
      method: "PUT",
      token: a.token,
      json: { user_id: b.userId, password: PW },
    });
    expect(other.status).toBe(403);
    const short = await hcall("/password", {
      method: "PUT",
      token: a.token,
      json: { user_id: a.userId, password: "short" },
    });
    expect(short.status).toBe(400);
    expect(await json(short)).toEqual({ code: 400, message: "Password must be at least 8 characters long." });
  });

  it("refuses a common password (blocklist) with 400 in Hanko's error shape", async () => {
    const { userId, token } = await signUp();
    for (const password of ["password123", "12345678"]) {
      const res = await hcall("/password", { method: "PUT", token, json: { user_id: userId, password } });
      expect(res.status).toBe(400);
      expect(await json(res)).toEqual({
        code: 400,
        message: "This password is too common and easy to guess. Choose a less common one.",
      });
    }
    expect(
      (await hcall("/password/login", { json: { user_id: userId, password: "password123" } })).status,
    ).toBe(401);
  });

  it("login for an unknown user id: 401 like a wrong password (hints on or off), 400 for a non-UUID", async () => {
    const id = crypto.randomUUID();
    expect((await hcall("/password/login", { json: { user_id: id, password: PW } })).status).toBe(401);
    expect((await call("/password/login", { json: { user_id: id, password: PW } })).status).toBe(401);
    expect((await hcall("/password/login", { json: { user_id: "nope", password: PW } })).status).toBe(400);
  });

  it("session tokens live HANKO_SESSION_LIFETIME, since 0.12 clients never refresh", async () => {
    const vars = { ...OPEN, HANKO_SESSION_LIFETIME: "7200" };
    const { userId, token } = await signUp(uniqueEmail(), vars);
    await call("/password", { method: "PUT", token, json: { user_id: userId, password: PW }, vars });
    const login = await call("/password/login", { json: { user_id: userId, password: PW }, vars });
    expect(login.headers.get("x-session-lifetime")).toBe("7200");
    const jwt = login.headers.get("x-auth-token")!;
    const claims = JSON.parse(atob(jwt.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
    expect(claims.exp - claims.iat).toBe(7200);
    expect(login.headers.get("set-cookie")).toMatch(/Max-Age=7200;/);
    // The same session through every dialect: an HBP-route bearer check accepts it.
    expect(await json(await call("/me", { token: jwt, vars }))).toEqual({ id: userId });
  });

  it("answers 404 when passwords are disabled", async () => {
    const vars = { ...OPEN, PASSWORDS_ENABLED: "false" };
    const { userId, token } = await signUp(uniqueEmail(), vars);
    expect((await call("/password/login", { json: { user_id: userId, password: PW }, vars })).status).toBe(
      404,
    );
    expect(
      (await call("/password", { method: "PUT", token, json: { user_id: userId, password: PW }, vars }))
        .status,
    ).toBe(404);
  });

  it("locks the account after repeated wrong passwords (429 with Retry-After)", async () => {
    const { userId, token } = await signUp();
    await hcall("/password", { method: "PUT", token, json: { user_id: userId, password: PW } });
    let last: Response | undefined;
    for (let i = 0; i < 11; i++)
      last = await hcall("/password/login", { json: { user_id: userId, password: "wrong-password" } });
    expect(last!.status).toBe(429);
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("hanko: a burst of 50 password logins from one IP", () => {
  it("at most 2 hash at once; the rest are refused at once: 503, then 429", async () => {
    const { userId, token } = await signUp();
    await hcall("/password", { method: "PUT", token, json: { user_id: userId, password: PW } });
    await awayFromMinuteEdge();
    const ip = burstIp();
    const rs = await Promise.all(
      Array.from({ length: 50 }, () =>
        hcall("/password/login", {
          json: { user_id: userId, password: PW },
          ip,
          vars: { ...OPEN, ...CAPPED },
        }),
      ),
    );
    expect(statuses(rs)).toEqual({ 200: 2, 503: 18, 429: 30 });
    const busy = rs.find((r) => r.status === 503)!;
    expect(busy.headers.get("retry-after")).toBe("1");
    expect(await json(busy)).toEqual({ code: 503, message: "Service Unavailable" });
  });
});
