import { describe, expect, it } from "vitest";
import { sessionAmr } from "../../support/amr";
import { call, uniqueEmail } from "../../support/app";
import { testClock } from "../../support/clock";
import { mockProviderPerTest, OIDC_DISCOVERY } from "../../support/oauth-provider";
import { json } from "./support";

const APP = "http://localhost:5173/app";
const ERRORS = "http://localhost:5173/login-error";
const vars = {
  OAUTH_OIDC_NAME: "idp",
  OAUTH_OIDC_DISCOVERY_URL: OIDC_DISCOVERY,
  OAUTH_OIDC_CLIENT_ID: "client-1",
  OAUTH_OIDC_CLIENT_SECRET: "secret-1",
  OAUTH_GITHUB_CLIENT_ID: "client-1",
  OAUTH_GITHUB_CLIENT_SECRET: "secret-1",
  OAUTH_ALLOWED_REDIRECTS: APP,
  ACCOUNT_EXISTENCE_HINTS: "true",
};
const withErrorPage = { ...vars, OAUTH_ERROR_REDIRECT_URL: ERRORS };

const idp = mockProviderPerTest();

const cookieOf = (res: Response) =>
  /hanko_thirdparty_state=([^;]+)/.exec(res.headers.get("set-cookie") ?? "")?.[1];

async function start(provider = "idp", redirectTo = APP, v = vars) {
  const res = await call(
    `/thirdparty/auth?provider=${provider}&redirect_to=${encodeURIComponent(redirectTo)}`,
    {
      vars: v,
    },
  );
  return { res, location: res.headers.get("location") ?? "", cookie: cookieOf(res) };
}

async function callback(query: Record<string, string>, cookie: string | undefined, v = vars) {
  const res = await call(`/thirdparty/callback?${new URLSearchParams(query)}`, {
    headers: cookie ? { cookie: `hanko_thirdparty_state=${cookie}` } : {},
    vars: v,
  });
  return { res, location: res.headers.get("location") ? new URL(res.headers.get("location")!) : null };
}

async function fullLogin(user = { sub: crypto.randomUUID(), email: uniqueEmail("tp"), emailVerified: true }) {
  const s = await start();
  const grant = idp.authorize(s.location, user);
  const cb = await callback({ code: grant.code, state: grant.state }, s.cookie);
  return { ...cb, user };
}

describe("hanko: third-party login", () => {
  it("redirects to the provider with state, PKCE and nonce, binding the state to the browser", async () => {
    const { res, location, cookie } = await start();
    expect(res.status).toBe(307);
    const url = new URL(location);
    expect(url.origin + url.pathname).toBe("https://idp.test/authorize");
    expect(url.searchParams.get("redirect_uri")).toBe("http://localhost:8787/thirdparty/callback");
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(cookie).toBe(url.searchParams.get("state"));
    expect(res.headers.get("set-cookie")).toMatch(/Path=\/thirdparty; HttpOnly; SameSite=Lax/);
    const gh = await start("github");
    expect(gh.location.startsWith("https://github.com/login/oauth/authorize?")).toBe(true);
  });

  it("comes back to redirect_to with hanko_token, exchanged once at POST /token", async () => {
    const { res, location, user } = await fullLogin();
    expect(res.status).toBe(307);
    expect(location!.origin + location!.pathname).toBe(APP);
    const value = location!.searchParams.get("hanko_token")!;
    expect(value).toMatch(/^[\w-]{43}$/);

    const token = await call("/token", { json: { value }, vars });
    expect(token.status).toBe(200);
    const body = await json(token);
    expect(body).toEqual({ user_id: expect.any(String) });
    expect(token.headers.get("x-session-lifetime")).toBe("3600");
    const jwt = token.headers.get("x-auth-token")!;
    expect(await json(await call("/me", { token: jwt, vars }))).toEqual({ id: body.user_id });
    // The session records how the user signed in: through the provider.
    expect(await sessionAmr(jwt)).toEqual(["oauth"]);
    const u = await json(await call(`/users/${body.user_id}`, { token: jwt, vars }));
    expect(u).toMatchObject({ email: user.email, verified: true });

    const reused = await call("/token", { json: { value }, vars });
    expect(reused.status).toBe(404);
    expect(await json(reused)).toEqual({ code: 404, message: "Not Found" });
  });

  it("a /token value dies after 60 s and is refused when malformed", async () => {
    const { location } = await fullLogin();
    const value = location!.searchParams.get("hanko_token")!;
    const clock = testClock();
    clock.advance(60 + 1);
    expect((await call("/token", { json: { value }, vars, clock })).status).toBe(404);
    expect((await call("/token", { json: {}, vars })).status).toBe(400);
  });

  it("a form_post callback becomes a GET that carries the state cookie", async () => {
    const s = await start();
    const grant = idp.authorize(s.location, {
      sub: crypto.randomUUID(),
      email: uniqueEmail("post"),
      emailVerified: true,
    });
    const posted = await call("/thirdparty/callback", {
      form: { code: grant.code, state: grant.state },
      vars,
    });
    expect(posted.status).toBe(303);
    const next = new URL(posted.headers.get("location")!);
    expect(next.origin + next.pathname).toBe("http://localhost:8787/thirdparty/callback");
    const { location } = await callback(Object.fromEntries(next.searchParams), s.cookie);
    expect(location!.searchParams.get("hanko_token")).toMatch(/^[\w-]{43}$/);
  });

  it("a second login finds the same account", async () => {
    const user = { sub: crypto.randomUUID(), email: uniqueEmail("again"), emailVerified: true };
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { location } = await fullLogin(user);
      const token = await call("/token", {
        json: { value: location!.searchParams.get("hanko_token") },
        vars,
      });
      ids.push((await json(token)).user_id);
    }
    expect(ids[0]).toBe(ids[1]);
  });
});

describe("hanko: third-party login security", () => {
  it("redirect_to outside the allow-list: no provider redirect", async () => {
    for (const bad of [`${APP}/`, `${APP}?x=1`, "https://evil.example/app", "javascript:alert(1)"]) {
      const plain = await start("idp", bad);
      expect(plain.res.status).toBe(400);
      expect((await json(plain.res)).code).toBe(400);
      const page = await start("idp", bad, withErrorPage);
      expect(page.res.status).toBe(307);
      const url = new URL(page.location);
      expect(url.origin + url.pathname).toBe(ERRORS);
      expect(url.searchParams.get("error")).toBe("invalid_request");
    }
  });

  it("an unknown provider goes back to the page with invalid_request", async () => {
    const { res, location } = await start("myspace");
    expect(res.status).toBe(307);
    const url = new URL(location);
    expect(url.origin + url.pathname).toBe(APP);
    expect(url.searchParams.get("error")).toBe("invalid_request");
    expect(url.searchParams.get("error_description")).toBeTruthy();
  });

  it("refuses a callback without the state cookie, with a tampered state, or replayed", async () => {
    const s = await start();
    const grant = idp.authorize(s.location, {
      sub: crypto.randomUUID(),
      email: uniqueEmail(),
      emailVerified: true,
    });
    expect((await callback({ code: grant.code, state: grant.state }, undefined)).res.status).toBe(400);
    const tampered = `${grant.state.slice(0, -2)}AA`;
    expect((await callback({ code: grant.code, state: tampered }, tampered)).res.status).toBe(400);
    const ok = await callback({ code: grant.code, state: grant.state }, s.cookie);
    expect(ok.location!.searchParams.get("hanko_token")).toBeTruthy();
    const replay = await callback({ code: grant.code, state: grant.state }, s.cookie, withErrorPage);
    expect(replay.res.status).toBe(307);
    expect(replay.location!.origin + replay.location!.pathname).toBe(ERRORS);
    expect(replay.location!.searchParams.get("error")).toBe("invalid_request");
  });

  it("HEAD on the callback spends neither the state nor the code and mints no hanko_token", async () => {
    const s = await start();
    const grant = idp.authorize(s.location, {
      sub: crypto.randomUUID(),
      email: uniqueEmail(),
      emailVerified: true,
    });
    const path = `/thirdparty/callback?${new URLSearchParams({ code: grant.code, state: grant.state })}`;
    const headers = { cookie: `hanko_thirdparty_state=${s.cookie}` };
    const head = await call(path, { method: "HEAD", vars, headers });
    expect(head.status).toBe(200);
    expect(head.headers.get("location")).toBeNull();
    expect(head.headers.get("set-cookie")).toBeNull();
    const ok = await callback({ code: grant.code, state: grant.state }, s.cookie);
    expect(ok.location!.searchParams.get("hanko_token")).toBeTruthy();
  });

  it("PKCE: a code obtained in another attempt fails at the provider", async () => {
    const attacker = await start();
    const code = idp.authorize(attacker.location, {
      sub: crypto.randomUUID(),
      email: uniqueEmail(),
      emailVerified: true,
    }).code;
    const victim = await start();
    const state = new URL(victim.location).searchParams.get("state")!;
    const { res, location } = await callback({ code, state }, victim.cookie);
    expect(res.status).toBe(307);
    expect(location!.origin + location!.pathname).toBe(APP);
    expect(location!.searchParams.get("error")).toBe("server_error");
    expect(location!.searchParams.get("hanko_token")).toBeNull();
  });

  it("reports provider refusal, unverified and conflicting emails with Hanko's codes", async () => {
    const s = await start();
    const state = new URL(s.location).searchParams.get("state")!;
    const denied = await callback({ error: "access_denied", state }, s.cookie);
    expect(denied.location!.searchParams.get("error")).toBe("access_denied");

    const unverified = await fullLogin({
      sub: crypto.randomUUID(),
      email: uniqueEmail(),
      emailVerified: false,
    });
    expect(unverified.location!.searchParams.get("error")).toBe("unverified_email");

    // An account that never proved its address is not joined by a provider login.
    const pending = uniqueEmail("pending");
    expect((await call("/users", { json: { email: pending }, vars })).status).toBe(200);
    const conflict = await fullLogin({ sub: crypto.randomUUID(), email: pending, emailVerified: true });
    expect(conflict.location!.searchParams.get("error")).toBe("user_conflict");
    expect(conflict.location!.searchParams.get("hanko_token")).toBeNull();
  });

  it("signup_disabled when sign-up is off", async () => {
    const v = { ...vars, SIGNUP_ENABLED: "false" };
    const s = await start("idp", APP, v);
    const grant = idp.authorize(s.location, {
      sub: crypto.randomUUID(),
      email: uniqueEmail(),
      emailVerified: true,
    });
    const { location } = await callback({ code: grant.code, state: grant.state }, s.cookie, v);
    expect(location!.searchParams.get("error")).toBe("signup_disabled");
  });
});
