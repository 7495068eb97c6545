/**
 * Directus OAuth `redirect` as Directus allows it (api/src/auth/utils/is-login-redirect-allowed.ts):
 * a relative path, resolved against the dialect's public URL; any URL on the deployment's own
 * public origin; other origins only when listed exactly in OAUTH_ALLOWED_REDIRECTS. The callback
 * URL keeps PUBLIC_URL's path (a Worker served under a sub-path).
 */
import { describe, expect, it } from "vitest";
import { call, uniqueEmail, type Vars } from "../../support/app";
import { mockProviderPerTest, OIDC_DISCOVERY } from "../../support/oauth-provider";
import { cookie, D, expectErrors } from "./helpers";

const base: Vars = {
  OAUTH_OIDC_NAME: "idp",
  OAUTH_OIDC_DISCOVERY_URL: OIDC_DISCOVERY,
  OAUTH_OIDC_CLIENT_ID: "client-1",
  OAUTH_OIDC_CLIENT_SECRET: "secret-1",
  OAUTH_ALLOWED_REDIRECTS: "https://app.example.org/done",
};

const idp = mockProviderPerTest();

async function loginVia(redirect: string, vars: Vars = base) {
  const res = await call(`${D}/auth/login/idp?redirect=${encodeURIComponent(redirect)}`, { vars });
  return { res, location: res.headers.get("location") ?? "", state: cookie(res, "directus_oauth_state") };
}

/** Completes the provider round trip; returns where the callback sends the browser. */
async function landing(redirect: string, vars: Vars = base) {
  const s = await loginVia(redirect, vars);
  expect(s.res.status).toBe(302);
  const grant = idp.authorize(s.location, {
    sub: crypto.randomUUID(),
    email: uniqueEmail("rd"),
    emailVerified: true,
  });
  const cb = new URL(grant.redirectUri);
  const res = await call(
    `${D}${cb.pathname.slice(cb.pathname.indexOf("/auth/"))}?${new URLSearchParams({ code: grant.code, state: grant.state })}`,
    {
      vars,
      headers: { cookie: `directus_oauth_state=${s.state}` },
    },
  );
  expect(res.status).toBe(302);
  expect(cookie(res, "directus_refresh_token")).toBeTruthy();
  return res.headers.get("location");
}

async function refused(redirect: string, vars: Vars = base) {
  const reason = `URL "${redirect}" can't be used to redirect after login`;
  await expectErrors(
    (await loginVia(redirect, vars)).res,
    400,
    "INVALID_PAYLOAD",
    `Invalid payload. ${reason}.`,
    reason,
  );
}

describe("redirect", () => {
  it("a relative path is resolved against the dialect's public URL, with no allow-list entry", async () => {
    expect(await landing("/admin")).toBe("http://localhost:8787/directus/admin");
    expect(await landing("/admin/content?tab=1#top")).toBe(
      "http://localhost:8787/directus/admin/content?tab=1#top",
    );
  });

  it("any URL on the Worker's own public origin is accepted", async () => {
    expect(await landing("http://localhost:8787/app/after")).toBe("http://localhost:8787/app/after");
  });

  it("other origins still need the exact allow-list", async () => {
    expect(await landing("https://app.example.org/done")).toBe("https://app.example.org/done");
    await refused("https://app.example.org/done/else");
    await refused("https://evil.example/admin");
    await refused("http://localhost:8788/admin");
    await refused("https://localhost:8787/admin");
  });

  it("refuses every way of smuggling another host into a relative path", async () => {
    for (const bad of [
      "//evil.example/x",
      "///evil.example",
      "/\\evil.example",
      "\\\\evil.example",
      "\\/evil.example",
      "/%2fevil.example",
      "/%5cevil.example",
      "/%2Fevil.example",
      "/\tevil.example",
      "/\nevil.example",
      "/ evil.example",
      " /admin",
      "admin",
      "javascript:alert(1)",
      "data:text/html,x",
      "http://user:pw@localhost:8787/admin",
    ])
      await refused(bad);
  });
});

describe("a Worker served under a sub-path", () => {
  const sub: Vars = {
    ...base,
    PUBLIC_URL: "https://example.com/api",
    REDIRECT_URL_SUCCESS: "https://example.com/",
  };

  it("builds the callback URL from PUBLIC_URL including its path", async () => {
    const s = await loginVia("/admin", sub);
    expect(s.res.status).toBe(302);
    expect(new URL(s.location).searchParams.get("redirect_uri")).toBe(
      "https://example.com/api/directus/auth/login/idp/callback",
    );
  });

  it("resolves a relative redirect under that path too", async () => {
    expect(await landing("/admin", sub)).toBe("https://example.com/api/directus/admin");
    expect(await landing("https://example.com/elsewhere", sub)).toBe("https://example.com/elsewhere");
  });
});
