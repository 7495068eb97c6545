/**
 * Directus OAuth: provider lists, start routes of both eras with an exact `redirect` allow-list,
 * callbacks (JSON tokens without redirect, refresh cookie + redirect with it), state bound to the
 * browser. The provider is an outside service: its HTTP endpoints are mocked, nothing else.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, uniqueEmail } from "../../support/app";
import { mockProviderPerTest, OIDC_DISCOVERY } from "../../support/oauth-provider";
import { json, PASSWORD, tokenWorks } from "../hbp/helpers";
import { cookie, D, expectErrors } from "./helpers";

const APP = "http://localhost:5173/app";
const vars = {
  OAUTH_OIDC_NAME: "idp",
  OAUTH_OIDC_DISCOVERY_URL: OIDC_DISCOVERY,
  OAUTH_OIDC_CLIENT_ID: "client-1",
  OAUTH_OIDC_CLIENT_SECRET: "secret-1",
  OAUTH_GITHUB_CLIENT_ID: "client-1",
  OAUTH_GITHUB_CLIENT_SECRET: "secret-1",
  OAUTH_ALLOWED_REDIRECTS: APP,
};

const idp = mockProviderPerTest();

async function start(path: string) {
  const res = await call(`${D}${path}`, { vars });
  return { res, location: res.headers.get("location") ?? "", state: cookie(res, "directus_oauth_state") };
}

const newUser = () => ({ sub: crypto.randomUUID(), email: uniqueEmail("oauth"), emailVerified: true });

async function finish(location: string, state: string | null, user = newUser()) {
  const grant = idp.authorize(location, user);
  const cb = new URL(grant.redirectUri);
  const res = await call(`${cb.pathname}?${new URLSearchParams({ code: grant.code, state: grant.state })}`, {
    vars,
    headers: state ? { cookie: `directus_oauth_state=${state}` } : {},
  });
  return { res, user };
}

describe("provider lists", () => {
  it("GET /auth/oauth answers the names (the document's era)", async () => {
    expect(await json(await call(`${D}/auth/oauth`, { vars }))).toEqual({ data: ["github", "idp"] });
  });

  it("GET /auth answers what SDK 26 readProviders reads", async () => {
    expect(await json(await call(`${D}/auth`, { vars }))).toEqual({
      data: [
        { name: "github", driver: "oauth2", icon: null, label: "Github" },
        { name: "idp", driver: "openid", icon: null, label: "Idp" },
      ],
      disableDefault: false,
    });
    expect(await json(await call(`${D}/auth`))).toEqual({ data: [], disableDefault: false });
  });
});

describe("GET /auth/login/{provider} and /auth/oauth/{provider}", () => {
  it("redirects to the provider with the era's callback as redirect_uri and binds the state", async () => {
    for (const era of ["login", "oauth"]) {
      const s = await start(`/auth/${era}/idp?redirect=${encodeURIComponent(APP)}`);
      expect(s.res.status).toBe(302);
      const url = new URL(s.location);
      expect(url.origin + url.pathname).toBe("https://idp.test/authorize");
      expect(url.searchParams.get("redirect_uri")).toBe(
        `http://localhost:8787/directus/auth/${era}/idp/callback`,
      );
      expect(url.searchParams.get("state")).toBe(s.state);
      expect(s.res.headers.get("set-cookie")).toMatch(/Path=\/directus\/auth; HttpOnly; SameSite=Lax/);
    }
  });

  it("refuses a redirect outside the allow-list, even a prefix or look-alike of an allowed one", async () => {
    for (const bad of [
      "https://evil.example/app",
      `${APP}/../evil`,
      `${APP}x`,
      "http://localhost:5173/app?x=1",
    ]) {
      const reason = `URL "${bad}" can't be used to redirect after login`;
      await expectErrors(
        (await start(`/auth/login/idp?redirect=${encodeURIComponent(bad)}`)).res,
        400,
        "INVALID_PAYLOAD",
        `Invalid payload. ${reason}.`,
        reason,
      );
    }
  });

  it("answers INVALID_PROVIDER for an unknown provider", async () => {
    await expectErrors(
      (await start("/auth/login/facebook")).res,
      403,
      "INVALID_PROVIDER",
      "Invalid provider.",
    );
  });
});

describe("callbacks", () => {
  it("without redirect: answers the tokens as JSON", async () => {
    const s = await start("/auth/oauth/idp");
    const { res } = await finish(s.location, s.state);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({
      data: { access_token: expect.any(String), expires: 900_000, refresh_token: expect.any(String) },
    });
    expect(await tokenWorks(body.data.access_token)).toBe(400);
  });

  it("an address another account holds only as an unverified secondary one yields to the provider's verified one", async () => {
    const squatter = await call("/auth/register", { json: { email: uniqueEmail(), password: PASSWORD } });
    const { user: other } = await json(squatter);
    const user = newUser();
    await env.DB.prepare(
      "INSERT INTO emails (id, user_id, address, is_primary, verified, created_at, updated_at) VALUES (?, ?, ?, 0, 0, 0, 0)",
    )
      .bind(crypto.randomUUID(), other.id, user.email)
      .run();
    const s = await start("/auth/oauth/idp");
    const { res } = await finish(s.location, s.state, user);
    expect(res.status, await res.clone().text()).toBe(200);
    const row = await env.DB.prepare(
      "SELECT user_id AS userId, is_primary AS p, verified AS v FROM emails WHERE address = ?",
    )
      .bind(user.email)
      .first<{ userId: string; p: number; v: number }>();
    expect(row).toMatchObject({ p: 1, v: 1 });
    expect(row!.userId).not.toBe(other.id);
  });

  it("with redirect: sets the refresh cookie and redirects; the app then refreshes in cookie mode", async () => {
    const s = await start(`/auth/login/github?redirect=${encodeURIComponent(APP)}`);
    const { res } = await finish(s.location, s.state, {
      sub: "4242",
      email: uniqueEmail("gh"),
      emailVerified: true,
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(APP);
    const rt = cookie(res, "directus_refresh_token")!;
    const refreshed = await call(`${D}/auth/refresh`, {
      json: { mode: "cookie" },
      headers: { cookie: `directus_refresh_token=${rt}`, origin: "http://localhost:8787" },
    });
    expect(refreshed.status).toBe(200);
  });

  it("a callback without the browser's state cookie is refused (login CSRF) and spends nothing", async () => {
    const s = await start("/auth/login/idp");
    const { res } = await finish(s.location, null);
    await expectErrors(res, 401, "INVALID_CREDENTIALS", "Invalid user credentials.");
  });

  it("a state works once", async () => {
    const s = await start("/auth/login/idp");
    const user = newUser();
    const grant = idp.authorize(s.location, user);
    const path = `/directus/auth/login/idp/callback?${new URLSearchParams({ code: grant.code, state: grant.state })}`;
    const headers = { cookie: `directus_oauth_state=${s.state}` };
    expect((await call(path, { vars, headers })).status).toBe(200);
    expect((await call(path, { vars, headers })).status).toBe(401);
  });

  it("HEAD on a callback spends neither the state nor the code and hands out nothing", async () => {
    const s = await start("/auth/login/idp");
    const grant = idp.authorize(s.location, newUser());
    const path = `/directus/auth/login/idp/callback?${new URLSearchParams({ code: grant.code, state: grant.state })}`;
    const headers = { cookie: `directus_oauth_state=${s.state}` };
    const head = await call(path, { method: "HEAD", vars, headers });
    expect(head.status).toBe(200);
    expect(head.headers.get("set-cookie")).toBeNull();
    const res = await call(path, { vars, headers });
    expect(res.status).toBe(200);
    expect((await json(res)).data.refresh_token).toBeTruthy();
  });

  it("a failure with redirect goes back there with ?reason=", async () => {
    // An account holds the address with an unverified email: no linking.
    const email = uniqueEmail("taken");
    await call("/auth/register", { json: { email, password: PASSWORD } });
    const s = await start(`/auth/login/idp?redirect=${encodeURIComponent(APP)}`);
    const { res } = await finish(s.location, s.state, {
      sub: crypto.randomUUID(),
      email,
      emailVerified: true,
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`${APP}?reason=INVALID_CREDENTIALS`);
    expect(
      res.headers
        .getSetCookie()
        .some((l) => l.startsWith("directus_refresh_token=") && !l.includes("Max-Age=0")),
    ).toBe(false);
  });
});
