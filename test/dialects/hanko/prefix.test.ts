/**
 * HANKO_PREFIX: the dialect mounted under a path so an SPA can own the origin root. The contract
 * tests run once more under a prefix (contract.test.ts); this file checks what moves besides the
 * routes (CORS, third-party callback and cookie, replica reads), that the root is free, and the
 * validation of the value.
 */
import { describe, expect, it } from "vitest";
import { sessionStart } from "../../../src/app";
import { call, uniqueEmail } from "../../support/app";
import { mockProviderPerTest, OIDC_DISCOVERY } from "../../support/oauth-provider";
import { at, json, OPEN } from "./support";

const PREFIX = "/hanko";
const APP = "http://localhost:5173/app";
const vars = { ...OPEN, HANKO_PREFIX: PREFIX, CORS_ORIGINS: "http://localhost:5173" };
const h = at(PREFIX);

describe("HANKO_PREFIX", () => {
  it("serves the dialect under the prefix, and the root paths are no longer Hanko's", async () => {
    const status = await call(PREFIX, { vars });
    expect(status.status).toBe(200);
    expect(status.headers.get("content-type")).toMatch(/^text\/html/);
    expect((await call(`${PREFIX}/.well-known/config`, { vars })).status).toBe(200);
    expect((await call(`${PREFIX}/.well-known/jwks.json`, { vars })).status).toBe(200);
    // Below the prefix, unknown paths are Hanko's 404.
    const unknown = await call(`${PREFIX}/nope`, { vars });
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toEqual({ code: 404, message: "Not Found" });
    for (const path of [
      "/",
      "/me",
      "/user",
      "/users",
      "/logout",
      "/emails",
      "/token",
      "/.well-known/config",
    ]) {
      const res = await call(path, { vars, method: path === "/me" || path === "/" ? "GET" : "POST" });
      expect([path, res.status]).toEqual([path, 404]);
      // The Worker's own 404, not Hanko's `{code, message}`.
      expect(await json(res)).toEqual({ error: "Not Found" });
    }
    // SAML stays at the origin root (the 0.12 SDK builds /saml/auth from the origin): Hanko's 404 with SAML off.
    expect(await json(await call("/saml/provider?domain=example.com", { vars }))).toEqual({
      code: 404,
      message: "Not Found",
    });
    // A path that merely starts with the prefix's letters is not under it.
    expect((await call(`${PREFIX}x/me`, { vars })).status).toBe(404);
    expect(await json(await call(`${PREFIX}x/me`, { vars }))).toEqual({ error: "Not Found" });
  });

  it("signs in under the prefix; the session cookie stays on the whole origin for the app's backend", async () => {
    const u = await h.signUp(uniqueEmail("prefix"));
    const me = await h.hcall("/me", { token: u.token });
    expect(me.status).toBe(200);
    expect(await json(me)).toEqual({ id: u.userId });
    const res = await h.hcall("/users", { json: { email: uniqueEmail("prefix") } });
    expect(res.headers.get("set-cookie")).toMatch(
      /^hanko=[^;]+; Max-Age=3600; Path=\/; HttpOnly; SameSite=Lax/,
    );
  });

  it("applies Hanko's CORS under the prefix only", async () => {
    const preflight = (path: string) =>
      call(path, {
        method: "OPTIONS",
        headers: { origin: "http://localhost:5173", "access-control-request-method": "POST" },
        vars,
      });
    const res = await preflight(`${PREFIX}/passcode/login/initialize`);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    const created = await call(`${PREFIX}/users`, {
      json: { email: uniqueEmail("prefix") },
      headers: { origin: "http://localhost:5173" },
      vars,
    });
    expect(created.headers.get("access-control-expose-headers")).toBe(
      "X-Auth-Token, X-Session-Lifetime, Retry-After",
    );
    expect(
      (await preflight("/passcode/login/initialize")).headers.get("access-control-allow-origin"),
    ).toBeNull();
  });

  it("reads from a replica on the prefixed read routes only", () => {
    for (const path of [
      "/hanko",
      "/hanko/me",
      "/hanko/.well-known/config",
      "/hanko/users/abc",
      "/hanko/emails",
    ])
      expect([path, sessionStart("GET", path, undefined, "/directus", PREFIX)]).toEqual([
        path,
        "first-unconstrained",
      ]);
    for (const path of ["/", "/me", "/.well-known/config", "/hanko/logout", "/hankox/me", "/hanko/users/a/b"])
      expect([path, sessionStart("GET", path, undefined, "/directus", PREFIX)]).toEqual([
        path,
        "first-primary",
      ]);
    // The health check stays a replica read whatever the prefix.
    expect(sessionStart("GET", "/health", undefined, "/directus", PREFIX)).toBe("first-unconstrained");
  });

  it("refuses a value that is not a clean path or overlaps another dialect", async () => {
    for (const [bad, why] of [
      ["hanko", "must be empty or a path such as /hanko (segments of letters, digits, . _ -)"],
      ["/hanko/", "must be empty or a path such as /hanko (segments of letters, digits, . _ -)"],
      ["/", "must be empty or a path such as /hanko (segments of letters, digits, . _ -)"],
      ["/a/../b", "must be empty or a path such as /hanko (segments of letters, digits, . _ -)"],
      ["/auth", "must not overlap /auth, another dialect's path"],
      ["/storage/hanko", "must not overlap /storage, another dialect's path"],
      ["/api", "must not overlap /api, another dialect's path"],
      ["/api/hanko", "must not overlap /api, another dialect's path"],
      ["/health", "must not overlap /health, another dialect's path"],
      ["/_dev", "must not overlap /_dev, another dialect's path"],
      ["/v1/hanko", "must not overlap /v1, another dialect's path"],
      ["/directus", "must not overlap DIRECTUS_PREFIX"],
      ["/saml", "must not overlap /saml, another dialect's path"],
      ["/thirdparty/x", "must not overlap /thirdparty, another dialect's path"],
    ]) {
      const res = await call("/health", { vars: { HANKO_PREFIX: bad! } });
      expect([bad, res.status]).toEqual([bad, 500]);
      expect(await json(res)).toEqual({ error: `Configuration error: HANKO_PREFIX: ${why}` });
    }
    const cms = await call("/health", { vars: { HANKO_PREFIX: "/cms/hanko", DIRECTUS_PREFIX: "/cms" } });
    expect(await json(cms)).toEqual({
      error: "Configuration error: HANKO_PREFIX: must not overlap DIRECTUS_PREFIX",
    });
    expect((await call("/health", { vars: { HANKO_PREFIX: "/id/hanko" } })).status).not.toBe(500);
  });
});

describe("HANKO_PREFIX: third-party login", () => {
  const tp = {
    ...vars,
    OAUTH_OIDC_NAME: "idp",
    OAUTH_OIDC_DISCOVERY_URL: OIDC_DISCOVERY,
    OAUTH_OIDC_CLIENT_ID: "client-1",
    OAUTH_OIDC_CLIENT_SECRET: "secret-1",
    OAUTH_ALLOWED_REDIRECTS: APP,
  };
  const idp = mockProviderPerTest();

  it("the 0.12 SDK's root /thirdparty/auth is sent on under the prefix, query unchanged", async () => {
    const query = `?provider=idp&redirect_to=${encodeURIComponent(APP)}`;
    const res = await call(`/thirdparty/auth${query}`, { vars: tp });
    expect(res.status).toBe(307);
    expect(res.headers.get("location")).toBe(`${PREFIX}/thirdparty/auth${query}`);
    // Nothing was started there: no state cookie.
    expect(res.headers.get("set-cookie")).toBeNull();
    expect((await call("/thirdparty/callback", { vars: tp })).status).toBe(404);
  });

  it("the callback URL, the state cookie and the form_post hop are under the prefix", async () => {
    const res = await call(`${PREFIX}/thirdparty/auth?provider=idp&redirect_to=${encodeURIComponent(APP)}`, {
      vars: tp,
    });
    expect(res.status).toBe(307);
    const location = new URL(res.headers.get("location")!);
    expect(location.searchParams.get("redirect_uri")).toBe(
      `http://localhost:8787${PREFIX}/thirdparty/callback`,
    );
    expect(res.headers.get("set-cookie")).toMatch(/Path=\/hanko\/thirdparty; HttpOnly; SameSite=Lax/);
    const cookie = /hanko_thirdparty_state=([^;]+)/.exec(res.headers.get("set-cookie")!)![1];

    const user = { sub: crypto.randomUUID(), email: uniqueEmail("tp"), emailVerified: true };
    const grant = idp.authorize(location.toString(), user);
    const posted = await call(`${PREFIX}/thirdparty/callback`, {
      form: { code: grant.code, state: grant.state },
      vars: tp,
    });
    expect(posted.status).toBe(303);
    const hop = new URL(posted.headers.get("location")!);
    expect(hop.origin + hop.pathname).toBe(`http://localhost:8787${PREFIX}/thirdparty/callback`);

    const cb = await call(`${hop.pathname}${hop.search}`, {
      headers: { cookie: `hanko_thirdparty_state=${cookie}` },
      vars: tp,
    });
    expect(cb.status).toBe(307);
    const back = new URL(cb.headers.get("location")!);
    expect(back.origin + back.pathname).toBe(APP);
    const token = await call(`${PREFIX}/token`, {
      json: { value: back.searchParams.get("hanko_token") },
      vars: tp,
    });
    expect(token.status).toBe(200);
    expect(token.headers.get("x-auth-token")).toBeTruthy();
  });
});
