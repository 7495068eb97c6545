/**
 * The admin API (/v1/admin/users...): a contract test per route (statuses and bodies), races where
 * one decides the outcome, and the guard: every registered /v1/admin route, read from Hono's route
 * table, refuses every caller that is not an admin and changes nothing.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { v1 } from "../../../src/dialects/latchkey";
import { uniqueEmail } from "../../support/app";
import { activeUser, call, json, lastMail, login, PASSWORD, tokenWorks } from "../hbp/helpers";
import { uploadOk } from "../hbp/storage.helpers";
import { ADMIN_VARS, acall, adminUser, detail, expectError, KEY } from "./helpers";

const USER_KEYS = [
  "id",
  "email",
  "email_verified",
  "display_name",
  "avatar_url",
  "locale",
  "username",
  "default_role",
  "allowed_roles",
  "active",
  "disabled",
  "mfa_enabled",
  "created_at",
  "updated_at",
].sort();

describe("POST /v1/admin/users", () => {
  it("creates a verified user with a password, roles and a display name: 201 and the detail", async () => {
    const email = uniqueEmail("Made");
    const res = await acall("/v1/admin/users", {
      json: {
        email,
        password: PASSWORD,
        email_verified: true,
        display_name: "Made By Admin",
        default_role: "user",
        allowed_roles: ["user", "admin"],
      },
    });
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(body).toEqual({
      id: expect.any(String),
      email: email.toLowerCase(),
      email_verified: true,
      display_name: "Made By Admin",
      avatar_url: null,
      locale: null,
      username: null,
      default_role: "user",
      allowed_roles: ["user", "admin"],
      active: true,
      disabled: false,
      mfa_enabled: false,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      emails: [
        {
          id: expect.any(String),
          email: email.toLowerCase(),
          primary: true,
          verified: true,
          created_at: body.created_at,
        },
      ],
      passkeys: 0,
      sessions: 0,
      last_sign_in_at: null,
    });
    // The password works.
    const session = await login(email);
    expect(session.user.id).toBe(body.id);
  });

  it("creates a user without a password, unverified and not active (AUTO_ACTIVATE off)", async () => {
    const email = uniqueEmail();
    const res = await acall("/v1/admin/users", { json: { email } });
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(body).toMatchObject({ email, email_verified: false, active: false, default_role: "user" });
    expect(body.allowed_roles).toEqual(["user"]);
    const signIn = await call("/auth/login", { json: { email, password: PASSWORD } });
    expect(signIn.status).toBe(401);
  });

  it("409 when the address is taken (whatever its case)", async () => {
    const s = await activeUser();
    await expectError(
      await acall("/v1/admin/users", { json: { email: s.email.toUpperCase() } }),
      409,
      "CONFLICT",
    );
  });

  it("the same address twice in parallel: one 201, one 409, one account", async () => {
    const email = uniqueEmail("race");
    const results = await Promise.all(
      [0, 1].map(() => acall("/v1/admin/users", { json: { email, password: PASSWORD } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const list = await json(await acall(`/v1/admin/users?search=${encodeURIComponent(email)}`));
    expect(list.users).toHaveLength(1);
  });

  it("400 for a weak password, a role not allowed, a default role outside the allowed ones, a bad address", async () => {
    const weak = await expectError(
      await acall("/v1/admin/users", { json: { email: uniqueEmail(), password: "short" } }),
      400,
      "WEAK_PASSWORD",
    );
    expect(weak.error.message).toMatch(/./);
    const bad = await expectError(
      await acall("/v1/admin/users", { json: { email: uniqueEmail(), allowed_roles: ["user", "root"] } }),
      400,
      "INVALID_REQUEST",
    );
    expect(bad.error.message).toContain("root");
    await expectError(
      await acall("/v1/admin/users", {
        json: { email: uniqueEmail(), default_role: "admin", allowed_roles: ["user"] },
      }),
      400,
      "INVALID_REQUEST",
    );
    await expectError(
      await acall("/v1/admin/users", { json: { email: "not an address" } }),
      400,
      "INVALID_REQUEST",
    );
    await expectError(await acall("/v1/admin/users", { json: {} }), 400, "INVALID_REQUEST");
  });
});

describe("GET /v1/admin/users/:id", () => {
  it("the user with addresses, roles, MFA, passkeys, live sessions and the last sign-in", async () => {
    const s = await activeUser();
    await login(s.email);
    const body = await detail(s.userId);
    expect(Object.keys(body).sort()).toEqual(
      [...USER_KEYS, "emails", "passkeys", "sessions", "last_sign_in_at"].sort(),
    );
    expect(body).toMatchObject({
      id: s.userId,
      email: s.email,
      mfa_enabled: false,
      passkeys: 0,
      sessions: 2,
      last_sign_in_at: expect.stringMatching(/Z$/),
    });
    expect(JSON.stringify(body)).not.toMatch(/password|scrypt|totp_secret/i);
  });

  it("404 for an unknown id", async () => {
    await expectError(await acall(`/v1/admin/users/${crypto.randomUUID()}`), 404, "NOT_FOUND");
  });
});

describe("GET /v1/admin/users", () => {
  async function makeMany(tag: string, n: number) {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await acall("/v1/admin/users", {
        json: { email: uniqueEmail(tag), display_name: `${tag} person ${i}`, email_verified: i % 2 === 0 },
      });
      ids.push((await json(res)).id);
    }
    return ids;
  }

  it("pages through a search in creation order with an opaque cursor; each user once", async () => {
    const tag = `pg${crypto.randomUUID().slice(0, 8)}`;
    const ids = await makeMany(tag, 5);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `search=${tag}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const res = await acall(`/v1/admin/users?${q}`);
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(Object.keys(body).sort()).toEqual(["next_cursor", "users"]);
      expect(body.users.length).toBeLessThanOrEqual(2);
      for (const u of body.users) expect(Object.keys(u).sort()).toEqual(USER_KEYS);
      seen.push(...body.users.map((u: { id: string }) => u.id));
      cursor = body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
  });

  it("searches by address prefix, display name and id; filters verified and disabled", async () => {
    const tag = `sr${crypto.randomUUID().slice(0, 8)}`;
    const ids = await makeMany(tag, 3);
    const ids2 = async (q: string) =>
      (await json(await acall(`/v1/admin/users?${q}`))).users.map((u: { id: string }) => u.id);
    expect(await ids2(`search=${tag.toUpperCase()}`)).toEqual(ids);
    expect(await ids2(`search=${encodeURIComponent(`${tag} person 1`)}`)).toEqual([ids[1]]);
    expect(await ids2(`search=${ids[2]}`)).toEqual([ids[2]]);
    expect(await ids2(`search=${tag}&verified=true`)).toEqual([ids[0], ids[2]]);
    expect(await ids2(`search=${tag}&verified=false`)).toEqual([ids[1]]);
    expect((await acall(`/v1/admin/users/${ids[0]}/disable`, { method: "POST" })).status).toBe(204);
    expect(await ids2(`search=${tag}&disabled=true`)).toEqual([ids[0]]);
    expect(await ids2(`search=${tag}&disabled=false`)).toEqual([ids[1], ids[2]]);
    // LIKE wildcards are literal.
    expect(await ids2(`search=${encodeURIComponent("%")}`)).toEqual([]);
  });

  it("400 for a limit over 100, a bad flag, a forged cursor", async () => {
    await expectError(await acall("/v1/admin/users?limit=101"), 400, "INVALID_REQUEST");
    await expectError(await acall("/v1/admin/users?limit=0"), 400, "INVALID_REQUEST");
    await expectError(await acall("/v1/admin/users?disabled=yes"), 400, "INVALID_REQUEST");
    await expectError(await acall("/v1/admin/users?cursor=not-a-cursor"), 400, "INVALID_REQUEST");
    const res = await acall("/v1/admin/users?limit=100");
    expect(res.status).toBe(200);
    expect((await json(res)).users.length).toBeLessThanOrEqual(100);
  });
});

describe("disable and enable", () => {
  it("disable ends every session at once and blocks sign-in; enable lets the user sign in again", async () => {
    const s = await activeUser();
    const other = await login(s.email);
    expect((await acall(`/v1/admin/users/${s.userId}/disable`, { method: "POST" })).status).toBe(204);
    expect(await tokenWorks(s.jwt)).toBe(401);
    expect((await call(`/auth/token/refresh?refresh_token=${other.refresh_token}`)).status).toBe(401);
    expect((await call("/auth/login", { json: { email: s.email, password: PASSWORD } })).status).not.toBe(
      200,
    );
    expect(await detail(s.userId)).toMatchObject({ disabled: true, sessions: 0 });

    expect((await acall(`/v1/admin/users/${s.userId}/enable`, { method: "POST" })).status).toBe(204);
    expect(await detail(s.userId)).toMatchObject({ disabled: false });
    // Sessions ended by the disable stay ended; a new sign-in works.
    expect((await call(`/auth/token/refresh?refresh_token=${other.refresh_token}`)).status).toBe(401);
    await login(s.email);
  });

  it("a disable racing refreshes and sign-ins leaves no live session", async () => {
    const s = await activeUser();
    const sessions = await Promise.all([0, 1, 2, 3, 4].map(() => login(s.email)));
    const results = await Promise.all([
      ...sessions.map((x) => call(`/auth/token/refresh?refresh_token=${x.refresh_token}`)),
      ...[0, 1, 2, 3, 4].map(() =>
        call("/auth/login", { json: { email: s.email, password: PASSWORD, cookie: false } }),
      ),
      acall(`/v1/admin/users/${s.userId}/disable`, { method: "POST" }),
    ]);
    expect(results[results.length - 1]!.status).toBe(204);
    expect(await detail(s.userId)).toMatchObject({ disabled: true, sessions: 0 });
    // Whatever a refresh or login handed out before the disable landed no longer works.
    for (const res of results.slice(0, -1)) {
      if (res.status !== 200) continue;
      const body = await json(res);
      expect((await call(`/auth/token/refresh?refresh_token=${body.refresh_token}`)).status).toBe(401);
    }
  });

  it("404 for an unknown user", async () => {
    const id = crypto.randomUUID();
    await expectError(await acall(`/v1/admin/users/${id}/disable`, { method: "POST" }), 404, "NOT_FOUND");
    await expectError(await acall(`/v1/admin/users/${id}/enable`, { method: "POST" }), 404, "NOT_FOUND");
  });
});

describe("DELETE /v1/admin/users/:id", () => {
  it("deletes the user, their sessions and their files; other users' files stay", async () => {
    const s = await activeUser();
    const other = await activeUser();
    await uploadOk(`user/${s.userId}/doc.txt`, "theirs", s.jwt);
    await uploadOk(`user/${other.userId}/keep.txt`, "kept", other.jwt);
    const res = await acall(`/v1/admin/users/${s.userId}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect(await tokenWorks(s.jwt)).toBe(401);
    expect((await call(`/auth/token/refresh?refresh_token=${s.refresh}`)).status).toBe(401);
    expect((await env.FILES.list({ prefix: `user/${s.userId}/` })).objects).toEqual([]);
    expect((await env.FILES.list({ prefix: `user/${other.userId}/` })).objects).toHaveLength(1);
    await expectError(await acall(`/v1/admin/users/${s.userId}`), 404, "NOT_FOUND");
    await expectError(await acall(`/v1/admin/users/${s.userId}`, { method: "DELETE" }), 404, "NOT_FOUND");
  });
});

describe("PUT /v1/admin/users/:id/roles", () => {
  it("sets the default and allowed roles; new tokens carry them", async () => {
    const s = await activeUser();
    const res = await acall(`/v1/admin/users/${s.userId}/roles`, {
      method: "PUT",
      json: { default_role: "admin", allowed_roles: ["user", "admin", "user"] },
    });
    expect(res.status).toBe(204);
    expect(await detail(s.userId)).toMatchObject({ default_role: "admin", allowed_roles: ["user", "admin"] });
  });

  it("400 for a role outside ALLOWED_USER_ROLES and ADMIN_ROLE, or a default outside the allowed ones; nothing changes", async () => {
    const s = await activeUser();
    for (const body of [
      { default_role: "user", allowed_roles: ["user", "owner"] },
      { default_role: "admin", allowed_roles: ["user"] },
      { default_role: "user", allowed_roles: [] },
      { default_role: "user" },
    ]) {
      await expectError(
        await acall(`/v1/admin/users/${s.userId}/roles`, { method: "PUT", json: body }),
        400,
        "INVALID_REQUEST",
      );
    }
    expect(await detail(s.userId)).toMatchObject({ default_role: "user", allowed_roles: ["user"] });
    await expectError(
      await acall(`/v1/admin/users/${crypto.randomUUID()}/roles`, {
        method: "PUT",
        json: { default_role: "user", allowed_roles: ["user"] },
      }),
      404,
      "NOT_FOUND",
    );
  });
});

describe("DELETE /v1/admin/users/:id/sessions", () => {
  it("ends every live session and says how many", async () => {
    const s = await activeUser();
    const second = await login(s.email);
    const res = await acall(`/v1/admin/users/${s.userId}/sessions`, { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ revoked: 2 });
    expect(await tokenWorks(second.jwt_token)).toBe(401);
    expect((await call(`/auth/token/refresh?refresh_token=${s.refresh}`)).status).toBe(401);
    expect(await json(await acall(`/v1/admin/users/${s.userId}/sessions`, { method: "DELETE" }))).toEqual({
      revoked: 0,
    });
    await expectError(
      await acall(`/v1/admin/users/${crypto.randomUUID()}/sessions`, { method: "DELETE" }),
      404,
      "NOT_FOUND",
    );
  });
});

describe("POST /v1/admin/users/:id/password-reset", () => {
  it("mails the reset link of the reset flow; its ticket sets a new password", async () => {
    const s = await activeUser();
    expect((await acall(`/v1/admin/users/${s.userId}/password-reset`, { method: "POST" })).status).toBe(204);
    const mail = await lastMail(s.email, "password_reset");
    expect(mail.text).toContain("type=passwordReset");
    const res = await call("/auth/change-password/change", {
      json: { ticket: mail.data.ticket, new_password: "a brand new passphrase" },
    });
    expect(res.status).toBe(204);
    await login(s.email, "a brand new passphrase");
  });

  it("403 for a disabled or not yet activated account, 404 for an unknown one", async () => {
    const s = await activeUser();
    await acall(`/v1/admin/users/${s.userId}/disable`, { method: "POST" });
    await expectError(
      await acall(`/v1/admin/users/${s.userId}/password-reset`, { method: "POST" }),
      403,
      "ACCOUNT_DISABLED",
    );
    const made = await json(await acall("/v1/admin/users", { json: { email: uniqueEmail() } }));
    await expectError(
      await acall(`/v1/admin/users/${made.id}/password-reset`, { method: "POST" }),
      403,
      "ACCOUNT_NOT_ACTIVE",
    );
    await expectError(
      await acall(`/v1/admin/users/${crypto.randomUUID()}/password-reset`, { method: "POST" }),
      404,
      "NOT_FOUND",
    );
  });
});

describe("POST /v1/admin/users/:id/verify-email", () => {
  it("marks the primary address verified and the account active", async () => {
    const email = uniqueEmail();
    const made = await json(await acall("/v1/admin/users", { json: { email, password: PASSWORD } }));
    expect(made).toMatchObject({ email_verified: false, active: false });
    const res = await acall(`/v1/admin/users/${made.id}/verify-email`, { json: {} });
    expect(res.status).toBe(204);
    expect(await detail(made.id)).toMatchObject({ email_verified: true, active: true });
    await login(email);
  });

  it("404 when the user does not hold the address; nothing changes", async () => {
    const made = await json(await acall("/v1/admin/users", { json: { email: uniqueEmail() } }));
    const someoneElse = await activeUser();
    await expectError(
      await acall(`/v1/admin/users/${made.id}/verify-email`, { json: { email: someoneElse.email } }),
      404,
      "NOT_FOUND",
    );
    expect(await detail(made.id)).toMatchObject({ email_verified: false, active: false });
    await expectError(
      await acall(`/v1/admin/users/${crypto.randomUUID()}/verify-email`, { json: {} }),
      404,
      "NOT_FOUND",
    );
  });
});

/** Every /v1/admin route Hono has registered (any area, so routes added later are covered too). */
function adminRoutes(): { method: string; path: string }[] {
  const seen = new Map<string, { method: string; path: string }>();
  for (const r of v1.routes) {
    if (r.method === "ALL" || !r.path.startsWith("/v1/admin")) continue;
    seen.set(`${r.method} ${r.path}`, { method: r.method, path: r.path });
  }
  return [...seen.values()];
}

describe("the guard: admin routes refuse every caller that is not an admin", () => {
  it("the OpenAPI document lists every admin route with the bearer and service-key schemes", async () => {
    const doc = await json(await call("/v1/openapi.json"));
    for (const { method, path } of adminRoutes()) {
      const operation = doc.paths[path.replace(/:([a-z_]+)/gi, "{$1}")]?.[method.toLowerCase()];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(operation.security).toHaveLength(2);
      expect(operation.security).toEqual(expect.arrayContaining([{ bearer: [] }, { serviceKey: [] }]));
    }
  });

  it("the route table has the admin routes", () => {
    const names = adminRoutes().map((r) => `${r.method} ${r.path}`);
    for (const name of [
      "GET /v1/admin/users",
      "POST /v1/admin/users",
      "GET /v1/admin/users/:id",
      "DELETE /v1/admin/users/:id",
      "POST /v1/admin/users/:id/disable",
      "POST /v1/admin/users/:id/enable",
      "PUT /v1/admin/users/:id/roles",
      "DELETE /v1/admin/users/:id/sessions",
      "POST /v1/admin/users/:id/password-reset",
      "POST /v1/admin/users/:id/verify-email",
    ])
      expect(names).toContain(name);
  });

  it("no token, a bad token, a user's token, a demoted admin, a disabled admin, a wrong key: 401/403 and no change", async () => {
    const target = await activeUser();
    const user = await activeUser();
    const demoted = await adminUser();
    const disabled = await adminUser();
    // Taken away a moment ago: the demoted admin's token still works elsewhere.
    expect(
      (
        await acall(`/v1/admin/users/${demoted.userId}/roles`, {
          method: "PUT",
          json: { default_role: "user", allowed_roles: ["user"] },
        })
      ).status,
    ).toBe(204);
    expect(await tokenWorks(demoted.jwt)).toBe(400);
    expect((await acall(`/v1/admin/users/${disabled.userId}/disable`, { method: "POST" })).status).toBe(204);

    const callers: { name: string; token?: string; statuses: number[] }[] = [
      { name: "no token", statuses: [401] },
      { name: "a bad token", token: "not.a.token", statuses: [401] },
      { name: "a user's token", token: user.jwt, statuses: [403] },
      { name: "an admin demoted a moment ago", token: demoted.jwt, statuses: [403] },
      { name: "a disabled admin", token: disabled.jwt, statuses: [401, 403] },
      { name: "a wrong service key", token: `${KEY.slice(0, -1)}x`, statuses: [401] },
      { name: "the service key of another configuration", token: "x".repeat(43), statuses: [401] },
    ];
    const before = await detail(target.userId);
    const newEmail = uniqueEmail("guard");
    // A body that would do harm on every write route, were it let through.
    const body = {
      email: newEmail,
      password: PASSWORD,
      default_role: "admin",
      allowed_roles: ["user", "admin"],
    };
    const routes = adminRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(10);
    for (const route of routes) {
      const path = route.path.replace(/:id\b/, target.userId).replace(/:[a-z_]+/gi, "x");
      for (const caller of callers) {
        const res = await call(path, {
          method: route.method,
          token: caller.token,
          json: route.method === "GET" ? undefined : body,
          vars: ADMIN_VARS,
        });
        expect(caller.statuses, `${route.method} ${route.path} with ${caller.name}`).toContain(res.status);
        const err = await json(res);
        expect(err.error.code).toMatch(/^(UNAUTHENTICATED|INVALID_TOKEN|FORBIDDEN)$/);
      }
    }
    expect(await detail(target.userId)).toEqual(before);
    expect(await tokenWorks(target.jwt)).toBe(400);
    expect((await json(await acall(`/v1/admin/users?search=${encodeURIComponent(newEmail)}`))).users).toEqual(
      [],
    );
    expect(await lastMailCount(target.email)).toBe(0);
  });

  it("with the service key and with an admin user, every route is let through", async () => {
    const admin = await adminUser();
    const known: Record<string, { status: number; body?: (email: string) => unknown }> = {
      "GET /v1/admin/users": { status: 200 },
      "POST /v1/admin/users": { status: 201, body: () => ({ email: uniqueEmail() }) },
      "GET /v1/admin/users/:id": { status: 200 },
      "DELETE /v1/admin/users/:id": { status: 204 },
      "POST /v1/admin/users/:id/disable": { status: 204 },
      "POST /v1/admin/users/:id/enable": { status: 204 },
      "PUT /v1/admin/users/:id/roles": {
        status: 204,
        body: () => ({ default_role: "user", allowed_roles: ["user"] }),
      },
      "DELETE /v1/admin/users/:id/sessions": { status: 200 },
      "POST /v1/admin/users/:id/password-reset": { status: 204 },
      "POST /v1/admin/users/:id/verify-email": { status: 204, body: (email) => ({ email }) },
    };
    for (const token of [KEY, admin.jwt]) {
      for (const route of adminRoutes()) {
        const target = await activeUser();
        const path = route.path.replace(/:id\b/, target.userId);
        const want = known[`${route.method} ${route.path}`];
        const res = await call(path, {
          method: route.method,
          token,
          json: route.method === "GET" ? undefined : (want?.body?.(target.email) ?? {}),
          vars: ADMIN_VARS,
        });
        const text = await res.text();
        if (want) expect(res.status, `${route.method} ${route.path}: ${text}`).toBe(want.status);
        // A route of another area: at least the guard let it through.
        else expect([401, 403], `${route.method} ${route.path}: ${text}`).not.toContain(res.status);
      }
    }
  });

  it("without ADMIN_API_KEY no bearer string is the service key", async () => {
    await expectError(await call("/v1/admin/users", { token: KEY }), 401, "INVALID_TOKEN");
    await expectError(await call("/v1/admin/users", { vars: ADMIN_VARS }), 401, "UNAUTHENTICATED");
  });
});

async function lastMailCount(to: string): Promise<number> {
  const res = await call(`/_dev/outbox?to=${encodeURIComponent(to)}`, {
    vars: { ENVIRONMENT: "development" },
  });
  return ((await json(res)) as { kind: string }[]).filter((m) => m.kind === "password_reset").length;
}
