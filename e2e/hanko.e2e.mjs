// e2e-vars: CORS_ORIGINS=http://localhost:47613 WEBAUTHN_ORIGINS=http://localhost:47613 ACCOUNT_EXISTENCE_HINTS=true ALLOW_USER_SELF_DELETE=true OAUTH_OIDC_NAME=localidp OAUTH_OIDC_DISCOVERY_URL=http://localhost:47614/.well-known/openid-configuration OAUTH_OIDC_CLIENT_ID=latchkey-e2e OAUTH_OIDC_CLIENT_SECRET=e2e-secret-0123456789abcdef OAUTH_ALLOWED_REDIRECTS=http://localhost:47613/
// Hanko dialect with the real clients in Debian's Chromium (shared/notes/real-clients.md §1, §4):
// the page is served from another origin (CORS with credentials), @teamhanko/hanko-frontend-sdk@0.12.0
// goes through every SDK method, third-party login runs against a real OpenID provider on this
// machine (the npm package oidc-provider) through the SDK's redirect and the /token exchange, and
// @teamhanko/hanko-elements@0.12.0 <hanko-auth> signs up by passcode (read from the outbox), sets a
// password, creates a passkey (CDP virtual authenticator), then signs in with the passkey on a fresh page.
import assert from "node:assert/strict";
import {
  withAuthenticator as addAuthenticator,
  codeFor,
  elementsOn,
  inPageFor,
  loginAtIdp,
  startIdp,
  startPages,
} from "./hanko-kit.mjs";
import { API, launchChromium, step, unique } from "./steps.mjs";

const PAGE_PORT = 47613;
const IDP_PORT = 47614;
const passcodeFor = (to) => codeFor(to, "passcode");

const pages = await startPages(PAGE_PORT, API);
const PAGE = pages.url;
const idpServer = await startIdp(IDP_PORT, `${API}/thirdparty/callback`);

const context = await launchChromium("hanko-profile");
const withAuthenticator = (page) => addAuthenticator(context, page);
const inPage = inPageFor(API);

let exitCode = 0;
try {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`  page error: ${e.message}`));
  const { cdp, authenticatorId } = await withAuthenticator(page);
  await page.goto(`${PAGE}/`);

  const email = unique("sdk");
  const password = "correct horse battery staple";
  let userId;
  let emailId;

  await step("config.get() reads /.well-known/config", async () => {
    const config = await inPage(page, (h) => h.config.get());
    assert.deepEqual(config.password, { enabled: true, min_password_length: 8 });
    assert.deepEqual(config.providers, ["localidp"]);
    assert.equal(config.account.allow_deletion, true);
  });

  await step("user.getInfo() of an unknown address: NotFoundError", async () => {
    assert.equal(await inPage(page, (h, _s, t, e) => t.errorOf(h.user.getInfo(e)), email), "NotFoundError");
  });

  await step("user.create() then ConflictError for the same address", async () => {
    const created = await inPage(page, (h, _s, _t, e) => h.user.create(e), email);
    userId = created.user_id;
    emailId = created.email_id;
    assert.match(userId, /^[0-9a-f-]{36}$/);
    assert.equal(await inPage(page, (h, _s, t, e) => t.errorOf(h.user.create(e)), email), "ConflictError");
  });

  await step(
    "passcode.initialize() mails a code; a wrong code is InvalidPasscodeError; the right one signs in",
    async () => {
      const passcode = await inPage(page, (h, _s, _t, a) => h.passcode.initialize(a.userId, a.emailId), {
        userId,
        emailId,
      });
      assert.equal(passcode.ttl, 300);
      const code = await passcodeFor(email);
      const wrong = String((Number(code) + 1) % 1e6).padStart(6, "0");
      assert.equal(
        await inPage(page, (h, _s, t, a) => t.errorOf(h.passcode.finalize(a.userId, a.code)), {
          userId,
          code: wrong,
        }),
        "InvalidPasscodeError",
      );
      await inPage(page, (h, _s, _t, a) => h.passcode.finalize(a.userId, a.code), { userId, code });
      assert.equal(await inPage(page, (h) => h.session.isValid()), true);
      const info = await inPage(page, (h, _s, _t, e) => h.user.getInfo(e), email);
      assert.deepEqual(info, {
        id: userId,
        email_id: emailId,
        verified: true,
        has_webauthn_credential: false,
      });
    },
  );

  await step("user.getCurrent() (GET /me + GET /users/{id})", async () => {
    const me = await inPage(page, (h) => h.user.getCurrent());
    assert.equal(me.id, userId);
    assert.equal(me.email, email);
  });

  await step("password.update(), logout(), InvalidPasswordError, password.login()", async () => {
    await inPage(page, (h, _s, _t, a) => h.password.update(a.userId, a.password), { userId, password });
    await inPage(page, (h) => h.user.logout());
    assert.equal(await inPage(page, (h) => h.session.isValid()), false);
    assert.equal(await inPage(page, (h, _s, t) => t.errorOf(h.user.getCurrent())), "UnauthorizedError");
    assert.equal(
      await inPage(page, (h, _s, t, a) => t.errorOf(h.password.login(a.userId, "not the password")), {
        userId,
      }),
      "InvalidPasswordError",
    );
    await inPage(page, (h, _s, _t, a) => h.password.login(a.userId, a.password), { userId, password });
    assert.equal(await inPage(page, (h) => h.session.isValid()), true);
  });

  let credentialId;
  await step("webauthn.register(), listCredentials(), updateCredential()", async () => {
    await inPage(page, (h) => h.webauthn.register());
    const list = await inPage(page, (h) => h.webauthn.listCredentials());
    assert.equal(list.length, 1);
    credentialId = list[0].id;
    assert.match(credentialId, /^[\w-]+$/);
    assert.equal(list[0].aaguid, "01020304-0506-0708-0102-030405060708");
    assert.deepEqual(list[0].transports, ["internal"]);
    await inPage(page, (h, _s, _t, id) => h.webauthn.updateCredential(id, "e2e key"), credentialId);
    assert.equal((await inPage(page, (h) => h.webauthn.listCredentials()))[0].name, "e2e key");
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    assert.equal(credentials.length, 1);
  });

  await step("webauthn.login(userId) and discoverable webauthn.login()", async () => {
    await inPage(page, (h) => h.user.logout());
    const withId = await inPage(page, (h, _s, _t, id) => h.webauthn.login(id), userId);
    assert.equal(withId.user_id, userId);
    assert.equal(await inPage(page, (h) => h.session.isValid()), true);
    await inPage(page, (h) => h.user.logout());
    const discoverable = await inPage(page, (h) => h.webauthn.login());
    assert.equal(discoverable.user_id, userId);
    assert.equal(await inPage(page, (h) => h.session.isValid()), true);
  });

  await step(
    "email.create(), EmailAddressAlreadyExistsError, verify by passcode, setPrimaryEmail(), delete()",
    async () => {
      const second = unique("second");
      const created = await inPage(page, (h, _s, _t, a) => h.email.create(a), second);
      assert.equal(created.address, second);
      assert.equal(created.is_verified, false);
      assert.equal(
        await inPage(page, (h, _s, t, a) => t.errorOf(h.email.create(a)), second),
        "EmailAddressAlreadyExistsError",
      );
      await inPage(page, (h, _s, _t, a) => h.passcode.initialize(a.userId, a.emailId, true), {
        userId,
        emailId: created.id,
      });
      const code = await passcodeFor(second);
      await inPage(page, (h, _s, _t, a) => h.passcode.finalize(a.userId, a.code), { userId, code });
      await inPage(page, (h, _s, _t, id) => h.email.setPrimaryEmail(id), created.id);
      await inPage(page, (h, _s, _t, id) => h.email.delete(id), emailId);
      const list = await inPage(page, (h) => h.email.list());
      assert.deepEqual(list, [{ id: created.id, address: second, is_verified: true, is_primary: true }]);
    },
  );

  await step("webauthn.deleteCredential()", async () => {
    await inPage(page, (h, _s, _t, id) => h.webauthn.deleteCredential(id), credentialId);
    assert.deepEqual(await inPage(page, (h) => h.webauthn.listCredentials()), []);
  });

  await step("user.delete() ends the account", async () => {
    await inPage(page, (h) => h.user.delete());
    assert.equal(await inPage(page, (h, _s, t) => t.errorOf(h.user.getCurrent())), "UnauthorizedError");
  });

  await step(
    "thirdParty.auth() against a local OpenID provider, then token.validate() (POST /token)",
    async () => {
      const idpEmail = unique("oidc");
      // The SDK navigates away: start it without awaiting its (never settling) promise.
      await page
        .evaluate((api) => {
          new window.hankoFrontendSdk.Hanko(api).thirdParty.auth("localidp", `${location.origin}/`);
        }, API)
        .catch(() => {});
      await loginAtIdp(page, IDP_PORT, idpEmail);
      await page.waitForURL(/localhost:47613\/\?hanko_token=/, { timeout: 20_000 });
      await inPage(page, (h) => h.token.validate());
      assert.equal(new URL(page.url()).searchParams.get("hanko_token"), null);
      assert.equal(await inPage(page, (h) => h.session.isValid()), true);
      const me = await inPage(page, (h) => h.user.getCurrent());
      assert.equal(me.email, idpEmail);
    },
  );

  await page.close();

  // --- <hanko-auth> from @teamhanko/hanko-elements@0.12.0 ---
  const ui = await context.newPage();
  ui.on("pageerror", (e) => console.error(`  page error: ${e.message}`));
  await withAuthenticator(ui);
  const uiEmail = unique("elements");
  const { auth, button, open: openElements, typeCode } = elementsOn(context, ui, PAGE);
  try {
    await step("<hanko-auth> sign-up: email, create account, passcode from the outbox", async () => {
      await openElements();
      await auth().locator('input[type="email"]').fill(uiEmail);
      await button("Continue").click();
      await auth().getByText("Create account?").waitFor({ timeout: 20_000 });
      await button("Sign up").click();
      await auth().getByText("Enter passcode").waitFor({ timeout: 20_000 });
      await typeCode(await passcodeFor(uiEmail));
    });

    await step("<hanko-auth> sets a password, creates a passkey, completes the flow", async () => {
      await auth().getByText("Set new password").waitFor({ timeout: 20_000 });
      await auth().locator('input[type="password"]').fill("another correct horse");
      await button("Continue").click();
      await auth().getByText("Create a passkey").first().waitFor({ timeout: 20_000 });
      await button("Create a passkey").click();
      await ui.waitForFunction(() => window.completed > 0, null, { timeout: 20_000 });
      const info = await (
        await fetch(`${API}/user`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: uiEmail }),
        })
      ).json();
      assert.equal(info.verified, true);
      assert.equal(info.has_webauthn_credential, true);
    });

    await step("<hanko-auth> on a fresh page signs in with the passkey", async () => {
      await openElements();
      await auth().locator('input[type="email"]').fill(uiEmail);
      await button("Continue").click();
      await ui.waitForFunction(() => window.completed > 0, null, { timeout: 20_000 });
      // The session cookie the Worker set is a working session of that account.
      const cookie = (await context.cookies(API)).find((c) => c.name === "hanko");
      assert.ok(cookie, "the hanko session cookie is set");
      const me = await (
        await fetch(`${API}/me`, { headers: { authorization: `Bearer ${cookie.value}` } })
      ).json();
      const info = await (
        await fetch(`${API}/user`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: uiEmail }),
        })
      ).json();
      assert.equal(me.id, info.id);
    });
  } catch (e) {
    const text =
      (await auth()
        .textContent()
        .catch(() => null)) ?? "?";
    console.error(`  <hanko-auth> text at failure: ${text.replace(/\s+/g, " ")}`);
    throw e;
  }
} catch (e) {
  console.error(e);
  exitCode = 1;
} finally {
  await context.close().catch(() => {});
  pages.close();
  idpServer.close();
}
process.exit(exitCode);
