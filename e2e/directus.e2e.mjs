// e2e-vars: PASSWORD_RESET_URL_ALLOW_LIST=http://localhost:3000/reset
// Directus dialect with the real clients in Node (shared/notes/real-clients.md §2):
// @directus/sdk@26.0.0 in json mode (login, readMe, refresh, readProviders, passwordRequest and
// passwordReset with the token from the outbox, TOTP set-up and login with otp, logout), in cookie
// mode through a cookie-carrying fetch, and the legacy class SDK 9.0.0-rc.57 (login, me, refresh
// without mode, logout). The user signs up through the vault dialect first.
import assert from "node:assert/strict";
import {
  authentication,
  createDirectus,
  enableTwoFactor,
  generateTwoFactorSecret,
  passwordRequest,
  passwordReset,
  readMe,
  readProviders,
  rest,
} from "@directus/sdk";
import { Directus } from "directus-sdk-9";
import { Secret, TOTP } from "otpauth";
import { API, step, stepsPassed, unique } from "./steps.mjs";

const BASE = `${API}/directus`;
const RESET_URL = "http://localhost:3000/reset";

async function signUp(email, password) {
  const res = await fetch(`${API}/api/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password, name: "E2E" }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  // Other dialects sign in only verified accounts: open the verification link from the outbox.
  const link = (await lastMail(email, "activation")).data.link;
  const verified = await fetch(link);
  assert.equal(verified.status, 200, await verified.clone().text());
}

async function lastMail(to, kind) {
  const res = await fetch(`${API}/_dev/outbox?to=${encodeURIComponent(to)}`);
  const mail = (await res.json()).find((m) => m.kind === kind);
  assert.ok(mail, `no ${kind} mail for ${to}`);
  return mail;
}

const totpAt = (secret, offsetSteps) =>
  new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: "SHA1" }).generate({
    timestamp: Date.now() + offsetSteps * 30_000,
  });

/** A fetch that keeps cookies like a browser would (Node has no cookie jar). */
function cookieJarFetch() {
  const jar = new Map();
  return async (input, init = {}) => {
    const headers = new Headers(init.headers);
    if (jar.size) headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await fetch(input, { ...init, headers });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(";")[0];
      const i = pair.indexOf("=");
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1);
      if (!value || /max-age=0/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  };
}

const password = "correct horse battery";
const email = unique("sdk26");

await step("sign up and verify through the vault dialect", () => signUp(email, password));

const client = createDirectus(BASE)
  .with(authentication("json", { autoRefresh: false }))
  .with(rest());

await step("sdk26 json: login stores tokens with expires in milliseconds", async () => {
  const data = await client.login({ email, password });
  assert.equal(typeof data.access_token, "string");
  assert.equal(typeof data.refresh_token, "string");
  assert.equal(data.expires, 900_000);
});

await step("sdk26: readMe", async () => {
  const me = await client.request(readMe());
  assert.equal(me.email, email);
  const some = await client.request(readMe({ fields: ["id", "email"] }));
  assert.deepEqual(Object.keys(some).sort(), ["email", "id"]);
});

await step("sdk26: refresh rotates the refresh token", async () => {
  const before = await client.getToken();
  const data = await client.refresh();
  assert.notEqual(data.access_token, before);
  assert.equal((await client.request(readMe())).email, email);
});

await step("sdk26: readProviders (GET /auth)", async () => {
  assert.deepEqual(await client.request(readProviders()), []);
});

await step("sdk26: a wrong password throws the Directus error", async () => {
  const other = createDirectus(BASE)
    .with(authentication("json", { autoRefresh: false }))
    .with(rest());
  await assert.rejects(other.login({ email, password: "wrong password" }), (e) => {
    assert.equal(e.errors?.[0]?.extensions?.code, "INVALID_CREDENTIALS");
    assert.equal(e.response?.status, 401);
    return true;
  });
});

const newPassword = "a brand new password";
await step(
  "sdk26: passwordRequest with an allow-listed reset_url, passwordReset with the mailed token",
  async () => {
    const anon = createDirectus(BASE).with(rest());
    await anon.request(passwordRequest(email, RESET_URL));
    const mail = await lastMail(email, "password_reset");
    const link = new URL(mail.data.link);
    assert.equal(`${link.origin}${link.pathname}`, RESET_URL);
    await anon.request(passwordReset(link.searchParams.get("token"), newPassword));
    // The reset ended every session: the stored refresh token is dead.
    await assert.rejects(client.refresh());
    await client.login({ email, password: newPassword });
  },
);

await step("sdk26: passwordRequest with a reset_url outside the allow-list is refused", async () => {
  const anon = createDirectus(BASE).with(rest());
  await assert.rejects(anon.request(passwordRequest(email, "https://evil.example/reset")), (e) => {
    assert.equal(e.errors?.[0]?.extensions?.code, "INVALID_PAYLOAD");
    return true;
  });
});

let secret;
await step("sdk26: generateTwoFactorSecret + enableTwoFactor", async () => {
  const gen = await client.request(generateTwoFactorSecret(newPassword));
  secret = gen.secret;
  assert.match(gen.otpauth_url, /^otpauth:\/\/totp\//);
  await client.request(enableTwoFactor(secret, totpAt(secret, -1)));
});

await step("sdk26: login with otp (and without it: INVALID_OTP)", async () => {
  const c = createDirectus(BASE)
    .with(authentication("json", { autoRefresh: false }))
    .with(rest());
  await assert.rejects(c.login({ email, password: newPassword }), (e) => {
    assert.equal(e.errors?.[0]?.extensions?.code, "INVALID_OTP");
    return true;
  });
  await c.login({ email, password: newPassword }, { otp: totpAt(secret, 0) });
  assert.equal((await c.request(readMe())).email, email);
  await c.logout();
});

await step("sdk26: logout ends the session", async () => {
  const token = await client.getToken();
  await client.logout();
  const res = await fetch(`${BASE}/users/me`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 401);
});

const cookieEmail = unique("sdk26-cookie");
await step("sdk26 cookie mode with a cookie-carrying fetch: login, readMe, refresh, logout", async () => {
  await signUp(cookieEmail, password);
  const c = createDirectus(BASE, { globals: { fetch: cookieJarFetch() } })
    .with(authentication("cookie", { autoRefresh: false, credentials: "include" }))
    .with(rest({ credentials: "include" }));
  const data = await c.login({ email: cookieEmail, password });
  assert.equal(data.refresh_token, undefined);
  assert.equal((await c.request(readMe())).email, cookieEmail);
  const before = await c.getToken();
  await c.refresh();
  assert.notEqual(await c.getToken(), before);
  assert.equal((await c.request(readMe())).email, cookieEmail);
  await c.logout();
  await assert.rejects(c.refresh());
});

await step("sdk26 session mode with a cookie-carrying fetch: login, readMe, refresh, logout", async () => {
  const sessionEmail = unique("sdk26-session");
  await signUp(sessionEmail, password);
  const c = createDirectus(BASE, { globals: { fetch: cookieJarFetch() } })
    .with(authentication("session", { autoRefresh: false, credentials: "include" }))
    .with(rest({ credentials: "include" }));
  const data = await c.login({ email: sessionEmail, password });
  assert.equal(data.access_token, undefined);
  assert.equal((await c.request(readMe())).email, sessionEmail);
  await c.refresh();
  assert.equal((await c.request(readMe())).email, sessionEmail);
  await c.logout();
  await assert.rejects(c.request(readMe()));
});

const legacyEmail = unique("sdk9");
await step("sdk 9.0.0-rc.57: login, users.me.read, refresh (no mode), logout", async () => {
  await signUp(legacyEmail, password);
  const d = new Directus(BASE);
  const login = await d.auth.login({ email: legacyEmail, password });
  assert.equal(typeof login.access_token, "string");
  assert.equal(typeof login.refresh_token, "string");
  const me = await d.users.me.read();
  assert.equal(me.email, legacyEmail);
  const refreshed = await d.auth.refresh();
  assert.notEqual(refreshed.refresh_token, login.refresh_token);
  assert.equal((await d.users.me.read()).email, legacyEmail);
  await d.auth.logout();
  const again = await fetch(`${BASE}/auth/refresh`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: refreshed.refresh_token }),
  });
  assert.equal(again.status, 401);
});

console.log(`directus e2e: ${stepsPassed()} steps passed`);
process.exit(0);
