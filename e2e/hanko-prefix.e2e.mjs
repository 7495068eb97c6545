// e2e-vars: HANKO_PREFIX=/hanko CORS_ORIGINS=http://localhost:47623 WEBAUTHN_ORIGINS=http://localhost:47623 OAUTH_OIDC_NAME=localidp OAUTH_OIDC_DISCOVERY_URL=http://localhost:47624/.well-known/openid-configuration OAUTH_OIDC_CLIENT_ID=latchkey-e2e OAUTH_OIDC_CLIENT_SECRET=e2e-secret-0123456789abcdef OAUTH_ALLOWED_REDIRECTS=http://localhost:47623/
// The Hanko dialect under HANKO_PREFIX=/hanko, with the defaults otherwise (ACCOUNT_EXISTENCE_HINTS
// off, VERIFY_EMAILS on, SIGNUP_ENABLED on), driven by the real clients in Debian's Chromium:
// @teamhanko/hanko-elements@0.12.0 <hanko-auth> given `${url}/hanko` signs a new user up just in
// time (POST /user never says 404 with hints off: the passcode it asks for creates the account),
// creates a passkey and signs in with it again; the 0.12 SDK's third-party login, which drops the
// path of its API URL, still works through the root redirect; and the root paths are not Hanko's.
import assert from "node:assert/strict";
import {
  codeFor,
  elementsOn,
  inPageFor,
  loginAtIdp,
  startIdp,
  startPages,
  withAuthenticator,
} from "./hanko-kit.mjs";
import { API, launchChromium, step, unique } from "./steps.mjs";

const PAGE_PORT = 47623;
const IDP_PORT = 47624;
const HANKO = `${API}/hanko`;

const pages = await startPages(PAGE_PORT, HANKO);
const idpServer = await startIdp(IDP_PORT, `${HANKO}/thirdparty/callback`);
const context = await launchChromium("hanko-prefix-profile");
const inPage = inPageFor(HANKO);

const postJson = (path, body) =>
  fetch(`${HANKO}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

let exitCode = 0;
try {
  await step("the dialect answers under /hanko, and the root paths are not Hanko's", async () => {
    assert.equal((await fetch(`${HANKO}/.well-known/config`)).status, 200);
    assert.equal((await fetch(`${HANKO}/.well-known/jwks.json`)).status, 200);
    for (const path of ["/me", "/.well-known/config"]) {
      const res = await fetch(`${API}${path}`);
      assert.equal(res.status, 404, path);
      assert.deepEqual(await res.json(), { error: "Not Found" });
    }
  });

  const ui = await context.newPage();
  ui.on("pageerror", (e) => console.error(`  page error: ${e.message}`));
  await withAuthenticator(context, ui);
  const email = unique("jit");
  const { auth, button, open, typeCode } = elementsOn(context, ui, pages.url);
  let userId;
  try {
    await step(
      "<hanko-auth> with hints off: an unknown address goes to a passcode that creates the account",
      async () => {
        // Both a new and an existing address get the same answer from POST /user.
        const info = await (await postJson("/user", { email })).json();
        assert.deepEqual(Object.keys(info).sort(), ["email_id", "has_webauthn_credential", "id", "verified"]);
        await open();
        await auth().locator('input[type="email"]').fill(email);
        await button("Continue").click();
        await auth().getByText("Enter passcode").waitFor({ timeout: 20_000 });
        await typeCode(await codeFor(email, "passcode"));
        // Signed up and in: <hanko-auth> offers a passkey next.
        await auth().getByText("Create a passkey").first().waitFor({ timeout: 20_000 });
        const cookie = (await context.cookies(API)).find((c) => c.name === "hanko");
        assert.ok(cookie, "the hanko session cookie is set");
        const headers = { authorization: `Bearer ${cookie.value}` };
        userId = (await (await fetch(`${HANKO}/me`, { headers })).json()).id;
        assert.equal(userId, info.id, "the account has the id POST /user answered");
        const user = await (await fetch(`${HANKO}/users/${userId}`, { headers })).json();
        assert.equal(user.email, email);
        assert.equal(user.verified, true);
      },
    );

    await step("<hanko-auth> creates a passkey and completes the flow", async () => {
      await button("Create a passkey").click();
      await ui.waitForFunction(() => window.completed > 0, null, { timeout: 20_000 });
    });

    await step("<hanko-auth> on a fresh page signs in with the passkey button", async () => {
      await open();
      await button("Sign in with a passkey").click();
      await ui.waitForFunction(() => window.completed > 0, null, { timeout: 20_000 });
      const cookie = (await context.cookies(API)).find((c) => c.name === "hanko");
      const me = await (
        await fetch(`${HANKO}/me`, { headers: { authorization: `Bearer ${cookie.value}` } })
      ).json();
      assert.equal(me.id, userId);
    });

    await step("<hanko-auth> with hints off: an existing account signs in by passcode", async () => {
      await open();
      await auth().locator('input[type="email"]').fill(email);
      await button("Continue").click();
      await auth().getByText("Enter passcode").waitFor({ timeout: 20_000 });
      await typeCode(await codeFor(email, "passcode"));
      // This browser's passkey store was cleared (open() empties localStorage), so it offers one again.
      await auth().getByText("Create a passkey").first().waitFor({ timeout: 20_000 });
      await button("Skip").click();
      await ui.waitForFunction(() => window.completed > 0, null, { timeout: 20_000 });
    });
  } catch (e) {
    const text =
      (await auth()
        .textContent()
        .catch(() => null)) ?? "?";
    console.error(`  <hanko-auth> text at failure: ${text.replace(/\s+/g, " ")}`);
    throw e;
  }
  await ui.close();

  await step(
    "thirdParty.auth() through the root redirect, the prefixed callback and POST /hanko/token",
    async () => {
      const page = await context.newPage();
      await context.clearCookies();
      await page.goto(`${pages.url}/`);
      const idpEmail = unique("oidc");
      // The SDK navigates to `${origin}/thirdparty/auth` (it drops /hanko): start it without awaiting.
      await page
        .evaluate((api) => {
          new window.hankoFrontendSdk.Hanko(api).thirdParty.auth("localidp", `${location.origin}/`);
        }, HANKO)
        .catch(() => {});
      await loginAtIdp(page, IDP_PORT, idpEmail);
      await page.waitForURL(/localhost:47623\/\?hanko_token=/, { timeout: 20_000 });
      await inPage(page, (h) => h.token.validate());
      assert.equal(await inPage(page, (h) => h.session.isValid()), true);
      const me = await inPage(page, (h) => h.user.getCurrent());
      assert.equal(me.email, idpEmail);
      await page.close();
    },
  );
} catch (e) {
  console.error(e);
  exitCode = 1;
} finally {
  await context.close().catch(() => {});
  pages.close();
  idpServer.close();
}
process.exit(exitCode);
