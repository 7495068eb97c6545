import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../../src/index";
import { call, envWith, uniqueEmail } from "../../support/app";
import { hcall, ISO, json, OPEN, signUp, UUID } from "./support";

async function mailKinds(to: string): Promise<string[]> {
  const { results } = await env.DB.prepare('SELECT kind FROM outbox WHERE "to" = ?')
    .bind(to)
    .all<{ kind: string }>();
  return results.map((r) => r.kind);
}

describe("hanko: status and .well-known", () => {
  it("GET / answers the status page", async () => {
    const res = await call("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
  });

  it("GET / answers 500 when D1 is unreachable", async () => {
    // Fault injection: a D1 binding whose every statement fails, as during an outage, on the
    // binding and on its D1 sessions (read replication, src/app.ts).
    const fail = () => {
      throw new Error("D1_ERROR: Network connection lost.");
    };
    const failing = new Proxy(env.DB, {
      get: (target, key) =>
        key === "prepare"
          ? fail
          : key === "withSession"
            ? () => ({ prepare: fail, batch: fail, getBookmark: () => null })
            : Reflect.get(target, key),
    });
    const res = await worker.fetch(
      new Request("http://localhost:8787/", { headers: { "cf-connecting-ip": "192.0.2.1" } }),
      { ...envWith(), DB: failing } as never,
      createExecutionContext(),
    );
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
  });

  it("GET /.well-known/jwks.json publishes the verification keys", async () => {
    const res = await call("/.well-known/jwks.json");
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.keys.length).toBeGreaterThan(0);
    for (const k of body.keys) expect(k).toMatchObject({ kid: expect.any(String), use: "sig", alg: "ES256" });
  });

  it("GET /.well-known/config reflects the configuration", async () => {
    const res = await call("/.well-known/config", {
      vars: {
        MIN_PASSWORD_LENGTH: "10",
        ALLOW_USER_SELF_DELETE: "true",
        MAX_EMAILS_PER_USER: "3",
        OAUTH_GITHUB_CLIENT_ID: "gh",
      },
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      password: { enabled: true, min_password_length: 10 },
      emails: { require_verification: true, max_num_of_addresses: 3 },
      providers: ["github"],
      account: { allow_deletion: true, allow_signup: true },
      use_enterprise: false,
    });
  });

  it("answers 404 {code,message} on unknown paths it owns, and nothing for /saml", async () => {
    for (const path of ["/me/x", "/saml/provider?domain=example.com", "/webauthn/nope", "/.well-known/x"]) {
      const res = await call(path);
      expect(res.status).toBe(404);
      expect(await json(res)).toEqual({ code: 404, message: "Not Found" });
    }
  });

  it("owns nothing when the dialect is off", async () => {
    const res = await call("/.well-known/config", { vars: { DIALECTS: "hbp" } });
    expect(res.status).toBe(404);
    expect((await call("/auth/jwks", { vars: { DIALECTS: "hanko" } })).status).toBe(404);
  });
});

describe("hanko: POST /users", () => {
  it("creates a user and, without verification, a session (X-Auth-Token, X-Session-Lifetime, cookie)", async () => {
    const email = uniqueEmail("create");
    const res = await call("/users", { json: { email }, vars: OPEN });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({
      id: body.user_id,
      user_id: expect.stringMatching(UUID),
      email_id: expect.stringMatching(UUID),
    });
    expect(res.headers.get("x-auth-token")).toMatch(/^ey/);
    expect(res.headers.get("x-session-lifetime")).toBe("3600");
    expect(res.headers.get("set-cookie")).toMatch(
      /^hanko=ey[^;]+; Max-Age=3600; Path=\/; HttpOnly; SameSite=Lax$/,
    );
  });

  it("with verification on, creates the user without a session", async () => {
    const res = await call("/users", { json: { email: uniqueEmail("verify") } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-auth-token")).toBeNull();
    expect(res.headers.get("x-session-lifetime")).toBeNull();
  });

  it("with existence hints on: 409 for a taken address, 403 when sign-up is off, 400 for a bad address", async () => {
    const { email } = await signUp();
    const taken = await hcall("/users", { json: { email: email.toUpperCase() } });
    expect(taken.status).toBe(409);
    expect(await json(taken)).toEqual({ code: 409, message: "Conflict" });
    const closed = await call("/users", {
      json: { email: uniqueEmail() },
      vars: { SIGNUP_ENABLED: "false" },
    });
    expect(closed.status).toBe(403);
    expect(await json(closed)).toEqual({ code: 403, message: "Forbidden" });
    const bad = await hcall("/users", { json: { email: "nope" } });
    expect(bad.status).toBe(400);
    expect((await json(bad)).code).toBe(400);
  });

  it("takes an address another account holds only as an unverified secondary one (hints on and off)", async () => {
    for (const vars of [OPEN, { VERIFY_EMAILS: "false" }]) {
      const other = await signUp();
      const address = uniqueEmail("unproven");
      await env.DB.prepare(
        "INSERT INTO emails (id, user_id, address, is_primary, verified, created_at, updated_at) VALUES (?, ?, ?, 0, 0, 0, 0)",
      )
        .bind(crypto.randomUUID(), other.userId, address)
        .run();
      const res = await call("/users", { json: { email: address }, vars });
      expect(res.status, await res.clone().text()).toBe(200);
      const { user_id, email_id } = await json(res);
      expect(res.headers.get("x-auth-token")).toBeTruthy();
      const row = await env.DB.prepare(
        "SELECT id, user_id AS userId, is_primary AS p FROM emails WHERE address = ?",
      )
        .bind(address)
        .first<{ id: string; userId: string; p: number }>();
      expect(row).toEqual({ id: email_id, userId: user_id, p: 1 });
      expect(user_id).not.toBe(other.userId);
    }
  });
});

describe("hanko: POST /user", () => {
  it("with hints on: the account's ids and flags, 404 for an unknown address", async () => {
    const { email, userId, emailId } = await signUp();
    const res = await hcall("/user", { json: { email } });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      id: userId,
      email_id: emailId,
      verified: false,
      has_webauthn_credential: false,
    });
    const missing = await hcall("/user", { json: { email: uniqueEmail("nobody") } });
    expect(missing.status).toBe(404);
    expect(await json(missing)).toEqual({ code: 404, message: "Not Found" });
  });

  it("with hints off (default): same shape for known and unknown addresses, stable pseudo ids", async () => {
    const { email, userId } = await signUp();
    const known = await json(await call("/user", { json: { email } }));
    expect(known).toEqual({
      id: userId,
      email_id: expect.stringMatching(UUID),
      verified: false,
      has_webauthn_credential: false,
    });
    const ghost = uniqueEmail("ghost");
    const a = await call("/user", { json: { email: ghost } });
    expect(a.status).toBe(200);
    const first = await json(a);
    expect(first).toEqual({
      id: expect.stringMatching(UUID),
      email_id: expect.stringMatching(UUID),
      verified: false,
      has_webauthn_credential: false,
    });
    expect(await json(await call("/user", { json: { email: ghost.toUpperCase() } }))).toEqual(first);
    const row = await env.DB.prepare("SELECT id FROM users WHERE id = ?").bind(first.id).first();
    expect(row).toBeNull();
  });
});

describe("hanko: sessions, /me, /users/{id}, /logout, DELETE /user", () => {
  it("GET /me and GET /users/{id} with a bearer token or the cookie", async () => {
    const { userId, token, email } = await signUp();
    const me = await hcall("/me", { token });
    expect(me.status).toBe(200);
    expect(await json(me)).toEqual({ id: userId });
    const viaCookie = await hcall(`/users/${userId}`, { headers: { cookie: `hanko=${token}` } });
    expect(viaCookie.status).toBe(200);
    expect(await json(viaCookie)).toEqual({
      id: userId,
      email,
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
      verified: false,
      webauthn_credentials: [],
    });
  });

  it("401 without or with a bad token, 403 for another user's id", async () => {
    const a = await signUp();
    const b = await signUp();
    expect((await hcall("/me")).status).toBe(401);
    expect(await json(await hcall("/me"))).toEqual({ code: 401, message: "Unauthorized" });
    expect((await hcall("/me", { token: `${a.token}x` })).status).toBe(401);
    const other = await hcall(`/users/${b.userId}`, { token: a.token });
    expect(other.status).toBe(403);
    expect(await json(other)).toEqual({ code: 403, message: "Forbidden" });
  });

  it("accepts a session made by another dialect (core sessions)", async () => {
    const email = uniqueEmail("hbp");
    const reg = await call("/auth/register", {
      json: { email, password: "correct horse battery", cookie: false },
      vars: { AUTO_ACTIVATE_NEW_USERS: "true" },
    });
    expect(reg.status).toBe(200);
    const { jwt_token, user } = await json(reg);
    const me = await hcall("/me", { token: jwt_token });
    expect(await json(me)).toEqual({ id: user.id });
  });

  it("POST /logout ends the session and clears the cookie", async () => {
    const { token } = await signUp();
    const out = await hcall("/logout", {
      method: "POST",
      token,
      headers: { "content-type": "application/json" },
    });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toMatch(/^hanko=; Max-Age=0; Path=\//);
    expect((await hcall("/me", { token })).status).toBe(401);
    expect((await hcall("/logout", { method: "POST", token })).status).toBe(401);
  });

  it("DELETE /user removes the account (when allowed) and its token stops working", async () => {
    const vars = { ...OPEN, ALLOW_USER_SELF_DELETE: "true" };
    const { token, email } = await signUp(uniqueEmail("del"), vars);
    const del = await call("/user", { method: "DELETE", token, vars });
    expect(del.status).toBe(204);
    expect((await call("/me", { token, vars })).status).toBe(401);
    expect((await call("/user", { json: { email }, vars })).status).toBe(404);
    const off = await signUp();
    expect((await hcall("/user", { method: "DELETE", token: off.token })).status).toBe(404);
  });

  it("hints off (default), verification on: a taken address answers the ids POST /user gives it; a passcode goes to the owner only", async () => {
    const vars = {};
    const owner = await signUp(uniqueEmail("owner"));
    const free = await call("/users", { json: { email: uniqueEmail() }, vars });
    const taken = await call("/users", { json: { email: owner.email }, vars });
    expect(taken.status).toBe(free.status);
    expect(taken.headers.get("x-auth-token")).toBeNull();
    const body = await json(taken);
    expect(Object.keys(body).sort()).toEqual(Object.keys(await json(free)).sort());
    const looked = await json(await call("/user", { json: { email: owner.email }, vars }));
    expect(body).toEqual({ id: looked.id, user_id: looked.id, email_id: looked.email_id });
    expect(await mailKinds(owner.email)).toContain("address_taken_sign_up");
    // The SDK follows with a passcode login: the code goes to the owner's mailbox, not the caller.
    const init = await call("/passcode/login/initialize", { json: { user_id: body.user_id }, vars });
    expect(init.status).toBe(200);
    expect(await mailKinds(owner.email)).toContain("passcode");
  });

  it("hints off, verification off: a taken address gets a session token as a new one would, which opens nothing", async () => {
    const vars = { VERIFY_EMAILS: "false" };
    const owner = await signUp(uniqueEmail("owner"));
    const taken = await call("/users", { json: { email: owner.email }, vars });
    expect(taken.status).toBe(200);
    const token = taken.headers.get("x-auth-token")!;
    expect(token).toMatch(/^ey/);
    expect(taken.headers.get("x-session-lifetime")).toBe("3600");
    const body = await json(taken);
    expect(body.user_id).not.toBe(owner.userId);
    expect((await call("/me", { token, vars })).status).toBe(401);
    expect((await call("/me", { token: owner.token, vars })).status).toBe(200);
  });

  it("DELETE /user also deletes the user's files: their file token stops working", async () => {
    const vars = { ...OPEN, ALLOW_USER_SELF_DELETE: "true" };
    const { token, userId } = await signUp(uniqueEmail("delfiles"), vars);
    const form = new FormData();
    form.append("file", new File(["mine"], "a.txt"));
    const up = await call(`/storage/o/user/${userId}/a.txt`, { method: "POST", body: form, token, vars });
    expect(up.status).toBe(200);
    const fileToken = (await json(up)).Metadata.token;
    expect((await call(`/storage/o/user/${userId}/a.txt?token=${fileToken}`)).status).toBe(200);
    expect((await call("/user", { method: "DELETE", token, vars })).status).toBe(204);
    expect((await call(`/storage/o/user/${userId}/a.txt?token=${fileToken}`)).status).toBe(403);
    expect((await env.FILES.list({ prefix: `user/${userId}/` })).objects).toEqual([]);
  });

  it("refuses a cookie-authenticated change from a foreign origin (CSRF)", async () => {
    const { token } = await signUp();
    const res = await hcall("/logout", {
      method: "POST",
      headers: { cookie: `hanko=${token}`, origin: "https://evil.example" },
    });
    expect(res.status).toBe(403);
    expect((await hcall("/me", { token })).status).toBe(200);
    const trusted = await call("/logout", {
      method: "POST",
      headers: { cookie: `hanko=${token}`, origin: "http://localhost:5173" },
      vars: { ...OPEN, CORS_ORIGINS: "http://localhost:5173" },
    });
    expect(trusted.status).toBe(204);
  });
});
