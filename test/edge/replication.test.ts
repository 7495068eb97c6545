/**
 * D1 read replication (Sessions API, README "Read replication"): where each request's D1 session
 * starts, the bookmark carried out in X-Latchkey-Bookmark and back in, and reading one's own write.
 * The local D1 has no replicas (every session reads the primary), so these tests check the routing
 * decision (the meter's `d1-session` Server-Timing entry) and that sessions and bookmarks work
 * against the real local D1; replica lag itself cannot be produced here.
 */
import { describe, expect, it } from "vitest";
import { sessionStart } from "../../src/app";
import { hcall, json, signUp } from "../dialects/hanko/support";
import { AUTO, activeUser, call, PASSWORD } from "../dialects/hbp/helpers";
import { uniqueEmail } from "../support/app";
import { measured } from "../support/meter";

const BOOKMARK = /^[0-9a-f]+(-[0-9a-f]+)+$/;
const sessionOf = (res: Response) =>
  /d1-session;desc="([^"]*)"/.exec(res.headers.get("server-timing") ?? "")?.[1] ?? null;
const bookmarkOf = (res: Response) => res.headers.get("x-latchkey-bookmark");

describe("D1 sessions: where a request starts", () => {
  const B = "00000000-00000007-00000000-00000000000000000000000000000000";

  it("writes, and GET routes that write or count, start on the primary, whatever bookmark they carry", () => {
    for (const [method, path] of [
      ["POST", "/auth/login"],
      ["POST", "/logout"],
      ["PUT", "/users/abc"],
      ["PATCH", "/directus/users/me"],
      ["DELETE", "/emails/abc"],
      ["POST", "/auth/jwks"],
      ["GET", "/auth/activate"],
      ["GET", "/auth/magic-link"],
      ["GET", "/auth/token/refresh"],
      ["GET", "/auth/change-email/change"],
      ["HEAD", "/auth/activate"],
      ["GET", "/api/refresh"],
      ["GET", "/api/verify-email/t"],
      ["GET", "/api/resend-email-verification"],
      ["GET", "/api/exist-email/a@example.com"],
      ["GET", "/thirdparty/auth"],
      ["GET", "/directus/auth/oauth/google"],
      ["GET", "/directus/auth/login/google/callback"],
      ["GET", "/_dev/outbox"],
      ["GET", "/users/abc/extra"],
    ] as const) {
      expect([method, path, sessionStart(method, path, undefined, "/directus")]).toEqual([
        method,
        path,
        "first-primary",
      ]);
      expect([method, path, sessionStart(method, path, B, "/directus")]).toEqual([
        method,
        path,
        "first-primary",
      ]);
    }
  });

  it("safe reads start on any replica, or from the bookmark they carry; a malformed bookmark is ignored", () => {
    for (const [method, path] of [
      ["GET", "/health"],
      ["GET", "/auth/jwks"],
      ["GET", "/storage/o/user/a.png"],
      ["HEAD", "/storage/m/user/"],
      ["GET", "/.well-known/jwks.json"],
      ["GET", "/.well-known/config"],
      ["GET", "/me"],
      ["GET", "/users/abc"],
      ["GET", "/emails"],
      ["GET", "/webauthn/credentials"],
      ["GET", "/directus/users/me"],
    ] as const) {
      expect([path, sessionStart(method, path, undefined, "/directus")]).toEqual([
        path,
        "first-unconstrained",
      ]);
      expect([path, sessionStart(method, path, B, "/directus")]).toEqual([path, { bookmark: B }]);
      for (const bad of ["garbage", "", "first-primary", `${B};x`, `${"a".repeat(300)}-1`])
        expect([path, bad, sessionStart(method, path, bad, "/directus")]).toEqual([
          path,
          bad,
          "first-unconstrained",
        ]);
    }
    // The Directus prefix is configuration.
    expect(sessionStart("GET", "/cms/users/me", undefined, "/cms")).toBe("first-unconstrained");
    expect(sessionStart("GET", "/directus/users/me", undefined, "/cms")).toBe("first-primary");
  });
});

describe("D1 sessions through the Worker", () => {
  it("a write route runs on a first-primary session and returns its bookmark", async () => {
    const u = await activeUser(AUTO);
    const res = await call("/auth/login", { json: { email: u.email, password: PASSWORD, cookie: false } });
    expect(res.status).toBe(200);
    expect(sessionOf(res)).toBe("first-primary");
    // Non-null only if the route's queries ran on the session (a session that ran none has no bookmark).
    expect(bookmarkOf(res)).toMatch(BOOKMARK);
  });

  it("a GET route that writes (refresh) runs on the primary even when it carries a bookmark", async () => {
    const u = await activeUser(AUTO);
    const login = await call("/auth/login", { json: { email: u.email, password: PASSWORD, cookie: false } });
    const { refresh_token } = (await login.json()) as { refresh_token: string };
    const res = await call(`/auth/token/refresh?refresh_token=${encodeURIComponent(refresh_token)}`, {
      headers: { "x-latchkey-bookmark": bookmarkOf(login)! },
    });
    expect(res.status).toBe(200);
    expect(sessionOf(res)).toBe("first-primary");
  });

  it("a safe read runs unconstrained, or from the bookmark it carries, and returns a bookmark no older", async () => {
    const { token } = await signUp();
    const free = await hcall("/emails", { token });
    expect(free.status).toBe(200);
    expect(sessionOf(free)).toBe("first-unconstrained");
    const b = bookmarkOf(free)!;
    expect(b).toMatch(BOOKMARK);
    const pinned = await hcall("/emails", { token, headers: { "x-latchkey-bookmark": b } });
    expect(pinned.status).toBe(200);
    expect(sessionOf(pinned)).toBe("bookmark");
    expect(bookmarkOf(pinned)! >= b).toBe(true);
    const bad = await hcall("/emails", { token, headers: { "x-latchkey-bookmark": "not a bookmark" } });
    expect(bad.status).toBe(200);
    expect(sessionOf(bad)).toBe("first-unconstrained");
    // JWKS: an unconstrained read (the key set is cached per isolate, so it may run no query at all).
    const jwks = await call("/auth/jwks");
    expect(jwks.status).toBe(200);
    expect(sessionOf(jwks)).toBe("first-unconstrained");
  });

  it("a read carrying the bookmark of a write reads that write", async () => {
    const { token, email, emailId } = await signUp();
    const second = uniqueEmail("replica");
    const added = await hcall("/emails", { token, json: { address: second } });
    expect(added.status).toBe(201);
    expect(sessionOf(added)).toBe("first-primary");
    const written = bookmarkOf(added)!;
    expect(written).toMatch(BOOKMARK);
    const { id } = await json(added);

    const list = await hcall("/emails", { token, headers: { "x-latchkey-bookmark": written } });
    expect(list.status).toBe(200);
    expect(sessionOf(list)).toBe("bookmark");
    expect(await json(list)).toEqual([
      { id: emailId, address: email, is_verified: false, is_primary: true },
      { id, address: second, is_verified: true, is_primary: false },
    ]);
    expect(bookmarkOf(list)! >= written).toBe(true);
  });

  it("a logged-out session: writes refuse it on the primary; a read D1 refused is confirmed on the primary", async () => {
    const { token } = await signUp();
    expect((await hcall("/me", { token })).status).toBe(200);
    const out = await hcall("/logout", { method: "POST", token });
    expect(out.status).toBe(204);
    const write = await hcall("/emails", { token, json: { address: uniqueEmail("late") } });
    expect(sessionOf(write)).toBe("first-primary");
    expect(write.status).toBe(401);
    for (const headers of [{}, { "x-latchkey-bookmark": bookmarkOf(out)! }] as Record<string, string>[]) {
      const me = await hcall("/me", { token, headers });
      expect(me.status).toBe(401);
      // Refused by a replica-eligible session, then asked again from the primary (a replica may
      // not have a session issued a moment ago yet): two liveness reads, the last on the primary.
      expect(sessionOf(me)).toBe("first-primary");
      expect(measured(me).d1).toBe(2);
    }
  });

  it("a refusal that asked no D1 (a token that fails verification) is not run again", async () => {
    const me = await hcall("/me", { token: "not.a.jwt" });
    expect(me.status).toBe(401);
    expect(sessionOf(me)).toBe("first-unconstrained");
    expect(measured(me).d1).toBe(0);
  });

  it("a fresh session reads at once without a bookmark (sign-up, then /me)", async () => {
    const { token, userId } = await signUp();
    const me = await hcall("/me", { token });
    expect(me.status).toBe(200);
    expect(await json(me)).toEqual({ id: userId });
  });

  it("D1_READ_REPLICATION=false: every query on the binding, no bookmark", async () => {
    const vars = { D1_READ_REPLICATION: "false" };
    const u = await activeUser(AUTO);
    const res = await call("/auth/login", {
      json: { email: u.email, password: PASSWORD, cookie: false },
      vars,
    });
    expect(res.status).toBe(200);
    expect(sessionOf(res)).toBeNull();
    expect(bookmarkOf(res)).toBeNull();
    const jwks = await call("/auth/jwks", {
      vars,
      headers: { "x-latchkey-bookmark": bookmarkOf(res) ?? "" },
    });
    expect(jwks.status).toBe(200);
    expect(sessionOf(jwks)).toBeNull();
    expect(bookmarkOf(jwks)).toBeNull();
  });
});
