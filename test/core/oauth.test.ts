import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { OAuthProviderConfig } from "../../src/config";
import { createOAuthService, OAuthError } from "../../src/core/oauth/oauth.service";
import { createOAuthStore } from "../../src/core/oauth/oauth.store";
import { createUserService } from "../../src/core/users/users.service";
import { createUserStore } from "../../src/core/users/users.store";
import { createDb } from "../../src/db/client";
import { systemClock } from "../../src/lib/clock";
import { uniqueEmail } from "../support/app";
import { createMockProvider, OIDC_DISCOVERY } from "../support/oauth-provider";

const CLIENT = { clientId: "client-1", clientSecret: "secret-1" };
const APP = "http://localhost:5173/app";
const CALLBACK = "http://localhost:8787/thirdparty/callback";

const providers: OAuthProviderConfig[] = [
  { name: "idp", kind: "oidc", ...CLIENT, discoveryUrl: OIDC_DISCOVERY },
  { name: "github", kind: "github", ...CLIENT, discoveryUrl: null },
];

async function setup(opts: { signup?: boolean } = {}) {
  const idp = await createMockProvider(CLIENT);
  const users = createUserService({ store: createUserStore(createDb(env.DB)), clock: systemClock });
  const oauth = createOAuthService({
    store: createOAuthStore(createDb(env.DB)),
    clock: systemClock,
    users,
    fetch: idp.fetch,
    config: {
      oauth: { providers, allowedRedirects: [APP], errorRedirect: "" },
      features: { signup: opts.signup ?? true } as never,
      roles: { defaultRole: "user", defaultAllowed: ["user"], allowed: ["user"] },
    },
  });
  return { idp, users, oauth };
}

const failure = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => null,
    (x) => x,
  );
  expect(e).toBeInstanceOf(OAuthError);
  return e as OAuthError;
};

describe("core oauth service", () => {
  it("builds an authorisation URL with state, PKCE S256 and nonce", async () => {
    const { oauth } = await setup();
    const { url } = await oauth.start("idp", { callbackUrl: CALLBACK, redirectAfter: APP });
    const u = new URL(url);
    expect(u.origin + u.pathname).toBe("https://idp.test/authorize");
    expect(Object.fromEntries(u.searchParams)).toMatchObject({
      response_type: "code",
      client_id: "client-1",
      redirect_uri: CALLBACK,
      scope: "openid email profile",
      code_challenge_method: "S256",
    });
    expect(u.searchParams.get("state")).toMatch(/^[\w-]{43}$/);
    expect(u.searchParams.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(u.searchParams.get("nonce")).toMatch(/^[\w-]{22}$/);
    expect(oauth.providers()).toEqual(["idp", "github"]);
  });

  it("creates a verified user on the first OIDC login and finds it again on the next", async () => {
    const { oauth, idp } = await setup();
    const email = uniqueEmail("oidc");
    const sub = crypto.randomUUID();
    const first = idp.authorize(
      (await oauth.start("idp", { callbackUrl: CALLBACK, redirectAfter: APP })).url,
      {
        sub,
        email,
        emailVerified: true,
        name: "Ada",
      },
    );
    const r1 = await oauth.callback({ state: first.state, code: first.code });
    expect(r1).toMatchObject({ isNew: true, redirectAfter: APP, provider: "idp" });
    expect(r1.user).toMatchObject({ email, emailVerified: true, active: true, displayName: "Ada" });
    const again = idp.authorize((await oauth.start("idp", { callbackUrl: CALLBACK })).url, {
      sub,
      email,
      emailVerified: true,
    });
    const r2 = await oauth.callback({ state: again.state, code: again.code });
    expect(r2).toMatchObject({ isNew: false, redirectAfter: null });
    expect(r2.user.id).toBe(r1.user.id);
  });

  it("a first login with a verified address is an activation: the user gets the default team, once", async () => {
    const { oauth, idp, users } = await setup();
    const email = uniqueEmail("team");
    const sub = crypto.randomUUID();
    for (let i = 0; i < 2; i++) {
      const a = idp.authorize((await oauth.start("idp", { callbackUrl: CALLBACK })).url, {
        sub,
        email,
        emailVerified: true,
        name: "Ada",
      });
      await oauth.callback({ state: a.state, code: a.code });
    }
    const user = (await users.findByEmail(email))!;
    const teams = await env.DB.prepare("SELECT name FROM teams WHERE owner_id = ?").bind(user.id).all();
    expect(teams.results).toEqual([{ name: "Ada" }]);
  });

  it("logs in through GitHub with its verified primary email", async () => {
    const { oauth, idp } = await setup();
    const email = uniqueEmail("gh");
    const { url } = await oauth.start("github", { callbackUrl: CALLBACK, redirectAfter: APP });
    expect(url.startsWith("https://github.com/login/oauth/authorize?")).toBe(true);
    expect(new URL(url).searchParams.get("nonce")).toBeNull();
    const a = idp.authorize(url, { sub: String(Date.now()), email, emailVerified: true });
    const r = await oauth.callback({ state: a.state, code: a.code });
    expect(r.user.email).toBe(email);
    expect(r.isNew).toBe(true);
  });

  it("links to an existing account only when both addresses are verified", async () => {
    const { oauth, idp, users } = await setup();
    const verified = await users.create({
      email: uniqueEmail("linked"),
      emailVerified: true,
      passwordHash: null,
      defaultRole: "user",
      allowedRoles: ["user"],
      active: true,
    });
    const a = idp.authorize((await oauth.start("idp", { callbackUrl: CALLBACK })).url, {
      sub: crypto.randomUUID(),
      email: verified.email,
      emailVerified: true,
    });
    const linked = await oauth.callback({ state: a.state, code: a.code });
    expect(linked.user.id).toBe(verified.id);
    expect(linked.isNew).toBe(false);

    // Pre-registered by someone else, never verified: no takeover through the provider.
    const pending = await users.create({
      email: uniqueEmail("pending"),
      passwordHash: null,
      defaultRole: "user",
      allowedRoles: ["user"],
      active: false,
    });
    const b = idp.authorize((await oauth.start("idp", { callbackUrl: CALLBACK, redirectAfter: APP })).url, {
      sub: crypto.randomUUID(),
      email: pending.email,
      emailVerified: true,
    });
    const e = await failure(oauth.callback({ state: b.state, code: b.code }));
    expect([e.code, e.redirectAfter]).toEqual(["OAUTH_USER_CONFLICT", APP]);
  });

  it("refuses an email the provider has not verified", async () => {
    const { oauth, idp } = await setup();
    const a = idp.authorize((await oauth.start("idp", { callbackUrl: CALLBACK })).url, {
      sub: crypto.randomUUID(),
      email: uniqueEmail("unverified"),
      emailVerified: false,
    });
    expect((await failure(oauth.callback({ state: a.state, code: a.code }))).code).toBe(
      "OAUTH_UNVERIFIED_EMAIL",
    );
  });

  it("refuses sign-up when it is disabled", async () => {
    const { oauth, idp } = await setup({ signup: false });
    const a = idp.authorize((await oauth.start("idp", { callbackUrl: CALLBACK })).url, {
      sub: crypto.randomUUID(),
      email: uniqueEmail("nosignup"),
      emailVerified: true,
    });
    expect((await failure(oauth.callback({ state: a.state, code: a.code }))).code).toBe(
      "OAUTH_SIGNUP_DISABLED",
    );
  });

  it("rejects return URLs outside the allow-list and unknown providers", async () => {
    const { oauth } = await setup();
    for (const bad of [
      `${APP}/`,
      `${APP}?x=1`,
      "http://localhost:5173/app/../evil",
      "https://evil.test/app",
    ]) {
      expect((await failure(oauth.start("idp", { callbackUrl: CALLBACK, redirectAfter: bad }))).code).toBe(
        "OAUTH_INVALID_REDIRECT",
      );
    }
    expect((await failure(oauth.start("nope", { callbackUrl: CALLBACK }))).code).toBe(
      "OAUTH_UNKNOWN_PROVIDER",
    );
  });

  it("spends the state once, and refuses tampered or missing states", async () => {
    const { oauth, idp } = await setup();
    const user = { sub: crypto.randomUUID(), email: uniqueEmail("state"), emailVerified: true };
    const a = idp.authorize((await oauth.start("idp", { callbackUrl: CALLBACK })).url, user);
    expect((await failure(oauth.callback({ state: `${a.state}x`, code: a.code }))).code).toBe(
      "OAUTH_INVALID_STATE",
    );
    expect((await failure(oauth.callback({ code: a.code }))).code).toBe("OAUTH_INVALID_STATE");
    await oauth.callback({ state: a.state, code: a.code });
    expect((await failure(oauth.callback({ state: a.state, code: a.code }))).code).toBe(
      "OAUTH_INVALID_STATE",
    );
  });

  it("lets exactly one of 30 parallel callbacks with one state through", async () => {
    const { oauth, idp } = await setup();
    const a = idp.authorize((await oauth.start("idp", { callbackUrl: CALLBACK })).url, {
      sub: crypto.randomUUID(),
      email: uniqueEmail("race"),
      emailVerified: true,
    });
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, () => oauth.callback({ state: a.state, code: a.code })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results)
      if (r.status === "rejected") expect((r.reason as OAuthError).code).toBe("OAUTH_INVALID_STATE");
  });

  it("fails when a code is redeemed with another attempt's state (PKCE binds code to verifier)", async () => {
    const { oauth, idp } = await setup();
    const user = { sub: crypto.randomUUID(), email: uniqueEmail("pkce"), emailVerified: true };
    // The attacker's own authorisation produced `victimCode`; the victim's callback carries its state.
    const attacker = idp.authorize((await oauth.start("idp", { callbackUrl: CALLBACK })).url, user);
    const victim = await oauth.start("idp", { callbackUrl: CALLBACK });
    const victimState = new URL(victim.url).searchParams.get("state")!;
    const e = await failure(oauth.callback({ state: victimState, code: attacker.code }));
    expect(e.code).toBe("OAUTH_PROVIDER_ERROR");
  });

  it("reports a cancelled login with the attempt's return URL", async () => {
    const { oauth } = await setup();
    const { url } = await oauth.start("idp", { callbackUrl: CALLBACK, redirectAfter: APP });
    const state = new URL(url).searchParams.get("state")!;
    const e = await failure(oauth.callback({ state, error: "access_denied" }));
    expect([e.code, e.redirectAfter]).toEqual(["OAUTH_ACCESS_DENIED", APP]);
  });

  it("rejects an ID token issued for another client", async () => {
    const idp = await createMockProvider({ ...CLIENT, idTokenAudience: "someone-else" });
    const oauth = createOAuthService({
      store: createOAuthStore(createDb(env.DB)),
      clock: systemClock,
      users: createUserService({ store: createUserStore(createDb(env.DB)), clock: systemClock }),
      fetch: idp.fetch,
      config: {
        oauth: { providers, allowedRedirects: [], errorRedirect: "" },
        features: { signup: true } as never,
        roles: { defaultRole: "user", defaultAllowed: ["user"], allowed: ["user"] },
      },
    });
    const a = idp.authorize((await oauth.start("idp", { callbackUrl: CALLBACK })).url, {
      sub: crypto.randomUUID(),
      email: uniqueEmail("aud"),
      emailVerified: true,
    });
    expect((await failure(oauth.callback({ state: a.state, code: a.code }))).code).toBe(
      "OAUTH_PROVIDER_ERROR",
    );
  });
});
