// e2e-vars: RATE_LIMITS_ENABLED=false
// (Two journeys from one IP load the login page, and so ask for passkey options, more often than
// the per-IP sign-in window allows, 20 a minute; the limits have their own tests.)
// The hosted sign-in pages in Chromium, in English and German: sign-up through the mailed
// activation link, the passkey offer (CDP virtual authenticator) and the handover to the app with a
// one-time hanko_token exchanged at POST /token, the account page (renaming and deleting a passkey;
// the Signal API's effect on the virtual authenticator: the deleted passkey is removed, the user's
// name brought up to date), sign-out, passkey sign-in, a passkey the server does not
// know (signalled unknown, then gone from the authenticator), password sign-in with the TOTP step,
// the account page's sessions (this device and a second one; ending it), TOTP recovery codes (a
// new set shown once; one of them signs in at the TOTP step), emailed passcode sign-in, and
// password reset. Every page is checked with axe-core (no serious or
// critical violation) and saved under e2e/screenshots/pages/.
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Secret, TOTP } from "otpauth";
import { API, launchChromium, step, unique, withAuthenticator } from "./steps.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const SHOTS = join(here, "screenshots", "pages");
mkdirSync(SHOTS, { recursive: true });
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
// REDIRECT_URL_SUCCESS (PUBLIC_URL/ by default) is allowed as a handover target.
const APP = `${API}/`;
const PASSWORD = "correct horse battery";

/** The newest mail of a kind for `to` (GET /_dev/outbox, development only). */
async function mailFor(to, kind) {
  for (let i = 0; i < 30; i++) {
    const res = await fetch(`${API}/_dev/outbox?to=${encodeURIComponent(to)}`);
    const mail = (await res.json()).find((m) => m.kind === kind);
    if (mail) return mail;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${kind} mail for ${to}`);
}
const linkIn = (mail) => /https?:\/\/\S+/.exec(mail.text)[0];

/** axe-core in the page: no serious or critical violation; then a full-page screenshot. */
async function check(page, name) {
  await page.waitForLoadState("load");
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE);
  const { violations } = await page.evaluate(() => window.axe.run());
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    [],
    `axe on ${name}`,
  );
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** A resident credential for the virtual authenticator (CDP WebAuthn.Credential) the server never saw. */
function strayCredential(userHandle) {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return {
    credentialId: randomBytes(32).toString("base64"),
    isResidentCredential: true,
    rpId: new URL(API).hostname,
    privateKey: privateKey.export({ type: "pkcs8", format: "der" }).toString("base64"),
    userHandle,
    signCount: 0,
  };
}

/**
 * Opens the login page and waits for `done` (autofill, i.e. conditional mediation, may sign in with
 * the virtual authenticator by itself). True when `done` came or autofill at least sent its try: a
 * click now would start a second try. A click must not be left pending either: it would land on
 * the next login page.
 */
async function openLogin(page, done) {
  let tried = false;
  const see = (r) => {
    if (r.method() === "POST" && new URL(r.url()).pathname.endsWith("/login/passkey")) tried = true;
  };
  page.on("request", see);
  await page.goto(`${API}/login`);
  const came = await done().then(
    () => true,
    () => false,
  );
  page.off("request", see);
  return came || tried;
}

/** Polls `fn` until it returns true (the Signal API works in the background), 5 s at most. */
async function eventually(what, fn) {
  for (let i = 0; i < 50; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`not within 5 s: ${what}`);
}

const context = await launchChromium("pages");
const cdp = await context.newCDPSession(context.pages()[0] ?? (await context.newPage()));

async function journey(lang) {
  const page = await context.newPage();
  await page.setExtraHTTPHeaders({ "accept-language": lang === "de" ? "de-DE,de;q=0.9" : "en-US,en;q=0.9" });
  const { cdp: c, authenticatorId } = await withAuthenticator(context, page);
  const email = unique(`pages-${lang}`);
  const withTarget = `?redirect_to=${encodeURIComponent(APP)}`;
  const submit = (label) => page.getByRole("button", { name: label, exact: true }).click();
  const t = lang === "de" ? DE : EN;

  await step(`${lang}: the login page and a refused password`, async () => {
    await page.goto(`${API}/login`);
    assert.equal(await page.getAttribute("html", "lang"), lang);
    await check(page, `${lang}-login`);
    await page.emulateMedia({ colorScheme: "dark" });
    await check(page, `${lang}-login-dark`);
    await page.emulateMedia({ colorScheme: "light" });
    await page.getByLabel(t.email).fill(email);
    await page.getByLabel(t.password).fill("not the password");
    await submit(t.signIn);
    await page.getByRole("alert").filter({ hasText: t.wrong }).waitFor();
    await check(page, `${lang}-login-error`);
  });

  await step(`${lang}: sign-up, the mailed activation page, the passkey offer and the handover`, async () => {
    await page.goto(`${API}/register${withTarget}`);
    await check(page, `${lang}-register`);
    await page.getByLabel(t.email).fill(email);
    await page.getByLabel(t.password).fill(PASSWORD);
    await submit(t.register);
    await page.getByText(t.checkMail).waitFor();
    await check(page, `${lang}-register-sent`);
    const link = linkIn(await mailFor(email, "activation"));
    assert.match(link, /\/verify\?kind=activation&ticket=/);
    await page.goto(link);
    await check(page, `${lang}-verify-activation`);
    await submit(t.activate);
    await page.waitForURL(/\/account\/passkey/);
    await check(page, `${lang}-passkey-offer`);
    // Conditional create may already have made the passkey; otherwise the button does.
    const create = page.getByRole("button", { name: t.addPasskey });
    if (await create.isVisible()) await create.click();
    await page.getByRole("status").filter({ hasText: t.passkeySaved }).waitFor();
    await check(page, `${lang}-passkey-saved`);
    await submit(t.continue);
    await page.waitForURL((u) => u.href.startsWith(APP) && u.searchParams.has("hanko_token"));
    const value = new URL(page.url()).searchParams.get("hanko_token");
    const exchanged = await page.evaluate(async (v) => {
      const r = await fetch("/token", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ value: v }),
      });
      return { status: r.status, token: r.headers.get("x-auth-token") };
    }, value);
    assert.equal(exchanged.status, 200);
    assert.ok(exchanged.token);
  });

  let handle;
  let totp;
  let t0;
  await step(
    `${lang}: the account page: the user's name and the accepted passkeys signalled; rename, delete`,
    async () => {
      const creds = async () => (await c.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
      const [known] = await creds();
      handle = known.userHandle;
      // The passkey as the provider would hold it after the address changed elsewhere: an old name.
      await c.send("WebAuthn.removeCredential", { authenticatorId, credentialId: known.credentialId });
      const stale = { ...known, userName: "old name", userDisplayName: "old name" };
      await c.send("WebAuthn.addCredential", { authenticatorId, credential: stale });
      await page.goto(`${API}/account`);
      await page.getByText(email).first().waitFor();
      await eventually("signalCurrentUserDetails updated the name", async () => {
        const [now] = await creds();
        return now.userName === email && now.userDisplayName === email;
      });
      // The passkey the account accepts stays.
      assert.equal((await creds()).length, 1);

      await page.getByLabel(t.passkeyName).fill("  Work laptop ");
      await submit(t.rename);
      await page.getByRole("status").filter({ hasText: t.renamed }).waitFor();
      assert.equal(await page.locator("li[data-passkey] strong").textContent(), "Work laptop");
      assert.equal(await page.getByLabel(t.passkeyName).inputValue(), "Work laptop");
      await check(page, `${lang}-account-renamed`);

      await page.getByRole("button", { name: t.deleteNamed("Work laptop") }).click();
      await page.getByRole("status").filter({ hasText: t.deleted }).waitFor();
      assert.equal(await page.locator("li[data-passkey]").count(), 0);
      await eventually("signalAllAcceptedCredentials removed the deleted passkey", async () => {
        return (await creds()).length === 0;
      });
      await check(page, `${lang}-account-deleted`);

      // A new passkey from the account page, for the steps below.
      await page.getByRole("button", { name: t.addPasskey }).click();
      await page.locator("li[data-passkey]").first().waitFor();
      assert.equal((await creds()).length, 1);
    },
  );

  await step(`${lang}: the account page's sessions: this device and a second one; ending it`, async () => {
    // A second session of the user, from another device (the API sign-in with its user agent).
    const other = await fetch(
      `${API}/auth/login`,
      post({ email, password: PASSWORD, cookie: false }, { "user-agent": SAFARI_MAC }),
    );
    assert.equal(other.status, 200);
    const jwt = (await other.json()).jwt_token;
    const mine = () => fetch(`${API}/v1/sessions`, { headers: { authorization: `Bearer ${jwt}` } });
    assert.equal((await mine()).status, 200);
    await page.goto(`${API}/account`);
    const sessions = page.locator("li[data-session]");
    await sessions.first().waitFor();
    assert.ok((await sessions.count()) >= 2);
    // This device is marked, first, and has no end button (that is signing out).
    const current = page.locator("li[data-session][data-current]");
    assert.equal(await current.count(), 1);
    await current.getByText(t.thisDevice).waitFor();
    assert.equal(await current.getByRole("button").count(), 0);
    const safari = sessions.filter({ hasText: t.safariMac });
    assert.equal(await safari.count(), 1);
    await check(page, `${lang}-account-sessions`);
    await page.getByRole("button", { name: t.endNamed(t.safariMac) }).click();
    await page.getByRole("status").filter({ hasText: t.sessionEnded }).waitFor();
    assert.equal(await sessions.filter({ hasText: t.safariMac }).count(), 0);
    assert.equal(await current.count(), 1);
    // Its tokens stopped working at once.
    assert.equal((await mine()).status, 401);
    await check(page, `${lang}-account-session-ended`);
  });

  await step(`${lang}: the account page lists the passkey; sign-out`, async () => {
    await page.goto(`${API}/account`);
    await page.getByText(email).waitFor();
    assert.equal(await page.locator("li[data-passkey]").count(), 1);
    await check(page, `${lang}-account`);
    await submit(t.signOut);
    await page.getByText(t.signedOut).waitFor();
    await check(page, `${lang}-signed-out`);
  });

  await step(`${lang}: passkey sign-in from the login page`, async () => {
    // Autofill (conditional mediation) may sign in by itself with the virtual authenticator.
    const byItself = await openLogin(page, () => page.waitForURL(/\/account$/, { timeout: 3000 }));
    if (!byItself) await page.getByRole("button", { name: t.usePasskey }).click();
    await page.waitForURL(/\/account$/);
    await page.getByText(email).waitFor();
    await submit(t.signOut);
    // From here on the other ways: with the authenticator gone, autofill offers nothing.
    await c.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId });
  });

  await step(`${lang}: a passkey the server does not know: refused, signalled unknown, gone`, async () => {
    const { cdp: c2, authenticatorId: id2 } = await withAuthenticator(context, page);
    await c2.send("WebAuthn.addCredential", { authenticatorId: id2, credential: strayCredential(handle) });
    const alert = page.getByRole("alert").filter({ hasText: t.passkeyUnknown });
    // Autofill (conditional mediation) may try it by itself; otherwise the button does.
    if (!(await openLogin(page, () => alert.waitFor({ timeout: 3000 }))))
      await page.getByRole("button", { name: t.usePasskey }).click();
    await alert.waitFor();
    await eventually("signalUnknownCredential removed it from the authenticator", async () => {
      const { credentials } = await c2.send("WebAuthn.getCredentials", { authenticatorId: id2 });
      return credentials.length === 0;
    });
    await check(page, `${lang}-login-unknown-passkey`);
    await c2.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId: id2 });
    await c2.detach();
  });

  await step(`${lang}: password sign-in with the TOTP step`, async () => {
    const jwt = (
      await (await fetch(`${API}/auth/login`, post({ email, password: PASSWORD, cookie: false }))).json()
    ).jwt_token;
    const auth = { authorization: `Bearer ${jwt}` };
    const { otp_secret } = await (await fetch(`${API}/auth/mfa/generate`, post({}, auth))).json();
    totp = new TOTP({ secret: Secret.fromBase32(otp_secret) });
    // Three TOTP steps in a row are used (enable, sign in, recovery codes), each once: start well
    // inside a step, so the window (one step either side) holds all three.
    const left = 30_000 - (Date.now() % 30_000);
    if (left < 8000) await new Promise((r) => setTimeout(r, left + 500));
    t0 = Date.now();
    const enabled = await fetch(
      `${API}/auth/mfa/enable`,
      post({ code: totp.generate({ timestamp: t0 - 30_000 }) }, auth),
    );
    assert.equal(enabled.status, 204);
    await page.goto(`${API}/login`);
    await page.getByLabel(t.email).fill(email);
    await page.getByLabel(t.password).fill(PASSWORD);
    await submit(t.signIn);
    await page.getByLabel(t.totpCode).waitFor();
    await check(page, `${lang}-totp`);
    await page.getByLabel(t.totpCode).fill(totp.generate({ timestamp: t0 }));
    await submit(t.verify);
    await page.waitForURL(/\/account$/);
  });

  await step(
    `${lang}: recovery codes: a new set for a TOTP code, shown once; one signs in at the TOTP step`,
    async () => {
      const left = page.locator("#recovery-left");
      assert.equal(await left.textContent(), t.noCodes);
      await check(page, `${lang}-account-recovery`);
      await page.getByLabel(t.totpCode).fill(totp.generate({ timestamp: t0 + 30_000 }));
      await submit(t.recoveryNew);
      await page.getByRole("heading", { name: t.recoveryTitle }).waitFor();
      const codes = await page.locator("ol.codes code").allTextContents();
      assert.equal(codes.length, 10);
      for (const code of codes) assert.match(code, /^[A-Z2-7]{5}-[A-Z2-7]{5}$/);
      await check(page, `${lang}-recovery-codes`);
      // Back on the account page: the count, never the codes again.
      await page.getByRole("link", { name: t.backToAccount }).click();
      await page.waitForURL(/\/account$/);
      assert.equal(await left.textContent(), t.codesLeft(10));
      const html = await page.content();
      for (const code of codes) assert.ok(!html.includes(code));
      await submit(t.signOut);
      await page.getByText(t.signedOut).waitFor();

      await page.goto(`${API}/login`);
      await page.getByLabel(t.email).fill(email);
      await page.getByLabel(t.password).fill(PASSWORD);
      await submit(t.signIn);
      await page.getByLabel(t.totpCode).fill(codes[3].toLowerCase());
      await submit(t.verify);
      await page.waitForURL(/\/account$/);
      assert.equal(await left.textContent(), t.codesLeft(9));
      await submit(t.signOut);
      await page.getByText(t.signedOut).waitFor();
    },
  );

  await step(`${lang}: emailed passcode sign-in`, async () => {
    await page.goto(`${API}/login`);
    await page.getByLabel(t.email).fill(email);
    await submit(t.sendCode);
    await page.getByLabel(t.code, { exact: true }).waitFor();
    await check(page, `${lang}-passcode`);
    await page.getByLabel(t.code, { exact: true }).fill((await mailFor(email, "passcode")).data.code);
    await submit(t.signIn);
    await page.waitForURL(/\/account$/);
    await submit(t.signOut);
  });

  await step(`${lang}: password reset through the mailed page`, async () => {
    await page.goto(`${API}/reset-password`);
    await check(page, `${lang}-reset`);
    await page.getByLabel(t.email).fill(email);
    await submit(t.sendLink);
    await page.getByText(t.checkMail).waitFor();
    await check(page, `${lang}-reset-sent`);
    await page.goto(linkIn(await mailFor(email, "password_reset")));
    await check(page, `${lang}-reset-new`);
    await page.getByLabel(t.newPassword).fill("a brand new passphrase");
    await submit(t.savePassword);
    await page.getByText(t.passwordSaved).waitFor();
    await check(page, `${lang}-reset-done`);
  });
  await page.close();
}

const post = (body, headers = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

// Safari on a Mac, the second device of the sessions step.
const SAFARI_MAC =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";

const EN = {
  thisDevice: "This device",
  safariMac: "Safari on macOS",
  endNamed: (device) => `End the session on ${device}`,
  sessionEnded: "The session was ended.",
  codesLeft: (n) => `${n} of 10 codes left.`,
  noCodes: "You have no unused recovery codes.",
  recoveryNew: "Generate new codes",
  recoveryTitle: "Your new recovery codes",
  backToAccount: "Back to your account",
  email: "Email address",
  password: "Password",
  signIn: "Sign in",
  wrong: "The address or the password is wrong.",
  register: "Create account",
  checkMail: "Check your email",
  activate: "Activate and sign in",
  addPasskey: "Create a passkey",
  passkeySaved: "Passkey saved",
  continue: "Continue",
  signOut: "Sign out",
  signedOut: "You are signed out.",
  usePasskey: "Sign in with a passkey",
  passkeyUnknown: "This passkey is not registered here",
  passkeyName: "Name",
  rename: "Rename",
  renamed: "The passkey was renamed.",
  deleted: "The passkey was deleted.",
  deleteNamed: (name) => `Delete ${name}`,
  totpCode: "Authentication code",
  verify: "Verify",
  sendCode: "Email me a sign-in code",
  code: "Code",
  sendLink: "Send link",
  newPassword: "New password",
  savePassword: "Save password",
  passwordSaved: "Your password was changed",
};
const DE = {
  thisDevice: "Dieses Gerät",
  safariMac: "Safari auf macOS",
  endNamed: (device) => `Sitzung auf ${device} beenden`,
  sessionEnded: "Die Sitzung wurde beendet.",
  codesLeft: (n) => `Noch ${n} von 10 Codes übrig.`,
  noCodes: "Sie haben keine unbenutzten Wiederherstellungscodes.",
  recoveryNew: "Neue Codes erzeugen",
  recoveryTitle: "Ihre neuen Wiederherstellungscodes",
  backToAccount: "Zurück zu Ihrem Konto",
  email: "E-Mail-Adresse",
  password: "Passwort",
  signIn: "Anmelden",
  wrong: "Die Adresse oder das Passwort ist falsch.",
  register: "Konto erstellen",
  checkMail: "Prüfen Sie Ihre E-Mails",
  activate: "Aktivieren und anmelden",
  addPasskey: "Passkey erstellen",
  passkeySaved: "Passkey gespeichert",
  continue: "Weiter",
  signOut: "Abmelden",
  signedOut: "Sie sind abgemeldet.",
  usePasskey: "Mit einem Passkey anmelden",
  passkeyUnknown: "Dieser Passkey ist hier nicht (mehr) registriert",
  passkeyName: "Name",
  rename: "Umbenennen",
  renamed: "Der Passkey wurde umbenannt.",
  deleted: "Der Passkey wurde gelöscht.",
  deleteNamed: (name) => `${name} löschen`,
  totpCode: "Bestätigungscode",
  verify: "Bestätigen",
  sendCode: "Anmeldecode per E-Mail senden",
  code: "Code",
  sendLink: "Link senden",
  newPassword: "Neues Passwort",
  savePassword: "Passwort speichern",
  passwordSaved: "Ihr Passwort wurde geändert",
};

try {
  await journey("en");
  await journey("de");
} finally {
  await cdp.detach().catch(() => {});
  await context.close();
}
