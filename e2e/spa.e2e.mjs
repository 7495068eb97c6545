// e2e-mode: spa
// e2e-vars: HANKO_PREFIX=/hanko
// The example SPA (examples/spa) in Debian's Chromium, served by the same `wrangler dev` as the API
// (Workers static assets, scripts/spa.mjs): sign up with a mailed code, set a password, add a passkey
// (CDP virtual authenticator), upload a picture and see its round 160 px variant, turn TOTP on,
// then sign in each way (passkey, emailed code, password + TOTP), sign out, and sign out everywhere.
// Screenshots go to e2e/screenshots/spa/.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as OTPAuth from "otpauth";
import { API, launchChromium, step, unique, withAuthenticator } from "./steps.mjs";

const shots = join(dirname(fileURLToPath(import.meta.url)), "screenshots", "spa");
mkdirSync(shots, { recursive: true });
let shotNo = 0;
const shoot = (page, name) =>
  page.screenshot({ path: join(shots, `${String(++shotNo).padStart(2, "0")}-${name}.png`), fullPage: true });

/** The newest mail of `kind` the outbox holds for `to`, newer than `after` (GET /_dev/outbox). */
async function mailFor(to, kind, after = "") {
  for (let i = 0; i < 40; i++) {
    const res = await fetch(`${API}/_dev/outbox?to=${encodeURIComponent(to)}`);
    const mail = (await res.json()).find((m) => m.kind === kind && m.created_at > after);
    if (mail) return mail;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${kind} mail to ${to}`);
}

const context = await launchChromium("spa-profile");
const page = await context.newPage();
const problems = [];
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("console", (m) => {
  // A failed fetch is logged as "Failed to load resource": the responses are checked below instead.
  if (m.type() === "error" && !m.text().startsWith("Failed to load resource"))
    problems.push(`console: ${m.text()}`);
});
const refused = new Set();
page.on("response", (r) => {
  if (r.status() >= 400) refused.add(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
});
await page.setViewportSize({ width: 1100, height: 900 });

// A passkey authenticator for this page (CDP), as a platform authenticator with user verification.
const { cdp, authenticatorId } = await withAuthenticator(context, page);

const email = unique("spa");
const password = "correct horse battery staple";
const session = () => page.evaluate(() => JSON.parse(sessionStorage.getItem("latchkey-example.session")));
const form = (name) => page.getByRole("form", { name });
/** Whether an access token still authenticates (the Hanko dialect's GET /me, as the app calls it). */
// Where the server mounts the Hanko dialect (HANKO_PREFIX; empty: the origin root).
const HANKO = "/hanko";
/** Whether an access token still authenticates (the Hanko dialect's GET /me, as the app calls it). */
const tokenWorks = (token) =>
  page.evaluate(
    async ([path, t]) => (await fetch(path, { headers: { Authorization: `Bearer ${t}` } })).status,
    [`${HANKO}/me`, token],
  );

async function expectHome(method) {
  await page.getByRole("heading", { name: "Profile" }).waitFor();
  const card = page.getByRole("region", { name: "This session" });
  await card.getByText(method, { exact: true }).waitFor();
  const sid = await card.locator("dd code").textContent();
  const s = await session();
  const claims = JSON.parse(Buffer.from(s.token.split(".")[1], "base64url").toString());
  assert.equal(sid, claims.sid);
  assert.equal(await page.getByRole("region", { name: "Profile" }).getByText(email).count(), 1);
  return s;
}

async function signOut(button = "Sign out") {
  const before = await session();
  await page.getByRole("button", { name: button, exact: true }).click();
  await page.getByRole("heading", { name: "Create an account" }).waitFor();
  assert.equal(await session(), null);
  return before;
}

let exitCode = 0;
try {
  await step(
    "/ serves the SPA (static assets, CSP), API paths reach the Worker, deep links fall back",
    async () => {
      const res = await page.goto(`${API}/`);
      assert.equal(res.status(), 200);
      assert.match(res.headers()["content-security-policy"], /default-src 'none'; script-src 'self'/);
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      const health = await fetch(`${API}/health`);
      assert.ok(health.status === 200 || health.status === 204);
      const deep = await fetch(`${API}/some/client/route`);
      assert.equal(deep.status, 200);
      assert.match(await deep.text(), /<title>Latchkey example app<\/title>/);
      // The app calls the Hanko dialect where the server mounts it (the prefix is compiled into app.js).
      assert.match(await (await fetch(`${API}/app.js`)).text(), new RegExp(`="${HANKO}"[,;]`));
      assert.equal((await fetch(`${API}${HANKO}/me`)).status, 401);
      // The origin root is the app's: Hanko's root paths are not served there any more.
      assert.equal((await fetch(`${API}/me`, { headers: { accept: "application/json" } })).status, 200);
      await shoot(page, "signed-out");
    },
  );

  await step("sign up: the address gets a code; entering it verifies the address and signs in", async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    await form("Create an account").getByLabel("Email").fill(email);
    await form("Create an account").getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Confirm your address" }).waitFor();
    await shoot(page, "sign-up-code");
    const mail = await mailFor(email, "passcode", since.replace("T", " ").slice(0, 19));
    await page.getByLabel("Code", { exact: true }).fill(mail.data.code);
    await page.getByRole("button", { name: "Continue" }).click();
    const s = await expectHome("Sign-up (code by email)");
    assert.equal(s.via, "hanko");
    await page.getByRole("heading", { name: "Security" }).waitFor();
    await shoot(page, "home");
  });

  await step("set a password (Hanko PUT /password)", async () => {
    await form("Set a password").getByLabel("New password").fill(password);
    await form("Set a password").getByRole("button", { name: "Save password" }).click();
    await page.getByRole("status").getByText("Password saved.").waitFor();
  });

  await step("add a passkey: the virtual authenticator holds it and the list shows it", async () => {
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await page.getByRole("list", { name: "Your passkeys" }).getByRole("listitem").first().waitFor();
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true);
  });

  await step("upload a picture: the page shows its 160x160 variant (webp, from hbp storage)", async () => {
    // A 640x480 PNG drawn by the browser itself.
    const png = await page.evaluate(async () => {
      const canvas = new OffscreenCanvas(640, 480);
      const g = canvas.getContext("2d");
      const grad = g.createLinearGradient(0, 0, 640, 480);
      grad.addColorStop(0, "#2456c7");
      grad.addColorStop(1, "#f2a93b");
      g.fillStyle = grad;
      g.fillRect(0, 0, 640, 480);
      g.fillStyle = "#fff";
      g.beginPath();
      g.arc(320, 240, 120, 0, Math.PI * 2);
      g.fill();
      const blob = await canvas.convertToBlob({ type: "image/png" });
      return Array.from(new Uint8Array(await blob.arrayBuffer()));
    });
    await form("Upload a picture")
      .getByLabel("Choose a picture")
      .setInputFiles({ name: "me.png", mimeType: "image/png", buffer: Buffer.from(png) });
    await form("Upload a picture").getByRole("button", { name: "Upload" }).click();
    const img = page.getByRole("img", { name: "Your picture" });
    await img.waitFor();
    await page.waitForFunction(() => {
      const i = document.querySelector("img.avatar");
      return i?.complete && i.naturalWidth > 0;
    });
    const seen = await img.evaluate((i) => ({
      w: i.naturalWidth,
      h: i.naturalHeight,
      src: i.getAttribute("src"),
    }));
    assert.deepEqual({ w: seen.w, h: seen.h }, { w: 160, h: 160 });
    const url = new URL(seen.src, API);
    assert.match(url.pathname, /^\/storage\/o\/user\/[0-9a-f-]{36}\/picture$/);
    assert.equal(url.searchParams.get("w"), "160");
    const variant = await fetch(url);
    assert.equal(variant.headers.get("content-type"), "image/webp");
    // The original is stored as uploaded.
    const original = await fetch(`${API}${url.pathname}?token=${url.searchParams.get("token")}`);
    assert.equal(Buffer.from(await original.arrayBuffer()).length, png.length);
    await shoot(page, "picture");
  });

  let totp;
  await step(
    "turn on an authenticator app (hbp /auth/mfa/generate + enable) with a code from otpauth",
    async () => {
      await page.getByRole("button", { name: "Set up an authenticator app" }).click();
      await page.getByRole("img", { name: "QR code for your authenticator app" }).waitFor();
      const secret = await page.locator("code.secret").textContent();
      totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 });
      await shoot(page, "totp-setup");
      await form("Turn on the authenticator app").getByLabel("Code from the app").fill(totp.generate());
      await form("Turn on the authenticator app").getByRole("button", { name: "Turn on" }).click();
      await page.getByText("The authenticator app is on").waitFor();
      assert.equal(
        await page.getByRole("button", { name: "Set up an authenticator app" }).isVisible(),
        false,
      );
    },
  );

  await step("sign out: Hanko /logout ends the session; its token is refused afterwards", async () => {
    const before = await signOut();
    assert.equal(await tokenWorks(before.token), 401);
  });

  await step("sign in with the passkey (discoverable)", async () => {
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    const s = await expectHome("Passkey");
    assert.equal(s.via, "hanko");
    // The session survives a reload of the tab (sessionStorage).
    await page.reload();
    assert.deepEqual(await expectHome("Passkey"), s);
    await signOut();
  });

  await step("sign in with a code by email", async () => {
    const since = new Date(Date.now() - 1000).toISOString().replace("T", " ").slice(0, 19);
    await form("Sign in with an emailed code").getByLabel("Email").fill(email);
    await form("Sign in with an emailed code").getByRole("button", { name: "Email me a code" }).click();
    await page.getByRole("heading", { name: "Enter your code" }).waitFor();
    const mail = await mailFor(email, "passcode", since);
    await page.getByLabel("Code", { exact: true }).fill(mail.data.code);
    await page.getByRole("button", { name: "Continue" }).click();
    await expectHome("Code by email");
    await signOut();
  });

  await step("sign in with the password: the TOTP step asks for a code, a wrong one is refused", async () => {
    await form("Sign in with a password").getByLabel("Email").fill(email);
    await form("Sign in with a password").getByLabel("Password").fill(password);
    await form("Sign in with a password").getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Two-step verification" }).waitFor();
    const code = page.getByLabel("Authenticator code", { exact: true });
    const right = totp.generate({ timestamp: Date.now() + 30_000 }); // the next step: the enable code's is spent
    await code.fill(right === "000000" ? "111111" : "000000");
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("alert").filter({ hasText: /./ }).waitFor();
    await shoot(page, "totp-step");
    await code.fill(right);
    await page.getByRole("button", { name: "Verify" }).click();
    const s = await expectHome("Password and authenticator app");
    assert.equal(s.via, "hbp");
    // The app learns that TOTP is on from /auth/mfa/generate's 400 and offers to turn it off.
    await page.getByRole("button", { name: "Set up an authenticator app" }).click();
    await form("Turn off the authenticator app").getByLabel("Current code").waitFor();
  });

  await step("sign out everywhere ends the other sessions too", async () => {
    // A second session of the same account, made through the Hanko passcode API.
    const since = new Date(Date.now() - 1000).toISOString().replace("T", " ").slice(0, 19);
    const post = (path, body) =>
      fetch(`${API}${HANKO}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: API },
        body: JSON.stringify(body),
      });
    const user = await (await post("/user", { email })).json();
    const init = await (
      await post("/passcode/login/initialize", { user_id: user.id, email_id: user.email_id })
    ).json();
    const mail = await mailFor(email, "passcode", since);
    const other = (await post("/passcode/login/finalize", { id: init.id, code: mail.data.code })).headers.get(
      "x-auth-token",
    );
    assert.equal(await tokenWorks(other), 200);
    await shoot(page, "home-totp");
    const mine = await signOut("Sign out everywhere");
    assert.equal(await tokenWorks(mine.token), 401);
    assert.equal(await tokenWorks(other), 401);
    await shoot(page, "signed-out-again");
    await page.emulateMedia({ colorScheme: "dark" });
    await shoot(page, "signed-out-dark");
  });

  await step("no page errors, no console errors, and only the expected refusals on the way", async () => {
    assert.deepEqual(problems, []);
    // No picture yet (hbp metadata 404), the wrong TOTP code, and the revoked tokens probed above.
    const expected = [
      /^404 GET \/storage\/m\/user\/[0-9a-f-]{36}\/picture$/,
      /^401 POST \/auth\/mfa\/totp$/,
      /^401 GET (\/[\w-]+)?\/me$/,
      /^400 POST \/auth\/mfa\/generate$/,
    ];
    assert.deepEqual(
      [...refused].filter((r) => !expected.some((e) => e.test(r))),
      [],
    );
  });
} catch (e) {
  console.error(e);
  exitCode = 1;
} finally {
  await context.close();
}
process.exit(exitCode);
