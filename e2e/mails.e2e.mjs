// e2e-vars: MAGIC_LINK_ENABLED=true RATE_LIMITS_ENABLED=false PRODUCT_LOGO_URL=http://localhost:47631/logo.svg
// Every mail kind, in English, German and French, as a person sees it: each is caused through the
// real routes of `wrangler dev` (hbp register, password and email changes, TOTP, magic link;
// hanko passcode and a passkey made by a CDP virtual authenticator) with the language as
// Accept-Language, read back from the dev outbox, and its HTML rendered in Debian's Chromium at a
// phone and a desktop width (and the phone in dark mode, in English). Each render is checked (the
// language, no sideways scrolling on a phone, the button opening the mailed link, the code set
// large, the logo loaded) and saved as e2e/screenshots/mails/<lang>-<kind>-<width>.png.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Secret, TOTP } from "otpauth";
import { API, clientSteps, jsonClient, launchChromium, step, unique, withAuthenticator } from "./steps.mjs";

const LOGO_PORT = 47631;
const SHOTS = join(dirname(fileURLToPath(import.meta.url)), "screenshots", "mails");
const LANGS = ["en", "de", "fr"];
const PASSWORD = "correct horse battery staple";
const WIDTHS = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 900 } };
const LINK_KINDS = ["activation", "magic_link", "password_reset", "email_change"];
const ALL_KINDS = [
  ...LINK_KINDS,
  "passcode",
  "address_taken_sign_up",
  "address_taken_email_change",
  "password_changed",
  "password_reset_done",
  "email_changed",
  "totp_enabled",
  "totp_disabled",
  "passkey_added",
];

// The logo PRODUCT_LOGO_URL points at, served the way a CDN would.
const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" width="148" height="36" viewBox="0 0 148 36">
<rect x="2" y="4" width="28" height="28" rx="7" fill="#2454d6"/>
<circle cx="13" cy="18" r="5" fill="none" stroke="#fff" stroke-width="3"/>
<path d="M18 18h9M24 18v5" stroke="#fff" stroke-width="3" stroke-linecap="round"/>
<text x="38" y="25" font-family="Helvetica,Arial,sans-serif" font-size="20" font-weight="700" fill="#2454d6">Latchkey</text>
</svg>`;
const logoServer = createServer((req, res) => {
  if (req.url !== "/logo.svg") {
    res.writeHead(404);
    return res.end();
  }
  res.writeHead(200, { "content-type": "image/svg+xml" });
  res.end(LOGO);
});
await new Promise((r) => logoServer.listen(LOGO_PORT, "localhost", r));

const client = jsonClient({ "user-agent": "LatchkeyMailTest/1.0" });
const api = (path, { lang = "en", ...opts } = {}) =>
  client(path, { ...opts, headers: { "accept-language": lang } });

const { ok, mailFor } = clientSteps(api);

const totp = (secret, step = 0) =>
  new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: "SHA1" }).generate({
    timestamp: Date.now() + step * 30_000,
  });

const context = await launchChromium("mails-profile");
const page = await context.newPage();
page.on("pageerror", (e) => console.error(`  page error: ${e.message}`));
mkdirSync(SHOTS, { recursive: true });

/** Hanko passcode sign-in for a user id: the passcode mail, then a session token (and an active account). */
async function passcodeSession(userId, email, lang) {
  const init = await ok("/passcode/login/initialize", { lang, json: { user_id: userId } }, [200]);
  const mail = await mailFor(email, "passcode");
  const fin = await ok(
    "/passcode/login/finalize",
    { lang, json: { id: init.body.id, code: mail.data.code } },
    [200],
  );
  return fin.headers.get("x-auth-token");
}

/** A passkey for a hanko session, created by Chromium's virtual authenticator on the API's origin. */
async function addPasskey(token, lang) {
  const init = await ok("/webauthn/registration/initialize", { lang, json: {}, token }, [200]);
  const credential = await page.evaluate(async (publicKey) => {
    const options = PublicKeyCredential.parseCreationOptionsFromJSON(publicKey);
    return (await navigator.credentials.create({ publicKey: options })).toJSON();
  }, init.body.publicKey);
  await ok("/webauthn/registration/finalize", { lang, json: credential, token }, [200]);
}

/** Causes every kind of mail in `lang`; returns [kind, mail] pairs. */
async function causeEveryMail(lang) {
  const a = unique(`a-${lang}`);
  const b = unique(`b-${lang}`);
  const c = unique(`c-${lang}`);
  const d = unique(`d-${lang}`);
  const got = new Map();
  const keep = async (to, kind) => got.set(kind, await mailFor(to, kind));

  // A: activation, a second sign-up with the same address, a passcode, a passkey, TOTP on and off.
  const reg = await ok("/auth/register", { lang, json: { email: a, password: PASSWORD } }, [200]);
  await keep(a, "activation");
  await ok("/auth/register", { lang, json: { email: a, password: PASSWORD } }, [200]);
  await keep(a, "address_taken_sign_up");
  const hanko = await passcodeSession(reg.body.user.id, a, lang);
  await keep(a, "passcode");
  await addPasskey(hanko, lang);
  await keep(a, "passkey_added");
  const jwtA = (await ok("/auth/login", { lang, json: { email: a, password: PASSWORD } }, [200])).body
    .jwt_token;
  const secret = (await ok("/auth/mfa/generate", { lang, json: {}, token: jwtA }, [200])).body.otp_secret;
  await ok("/auth/mfa/enable", { lang, json: { code: totp(secret, -1) }, token: jwtA });
  await keep(a, "totp_enabled");
  await ok("/auth/mfa/disable", { lang, json: { code: totp(secret, 0) }, token: jwtA });
  await keep(a, "totp_disabled");

  // B: passwordless sign-up by magic link.
  await ok("/auth/register", { lang, json: { email: b } }, [200]);
  await keep(b, "magic_link");

  // C: password change, reset and its notice, an email change (to D, and one to A's address).
  const regC = await ok("/auth/register", { lang, json: { email: c, password: PASSWORD } }, [200]);
  await passcodeSession(regC.body.user.id, c, lang);
  let jwtC = (await ok("/auth/login", { lang, json: { email: c, password: PASSWORD } }, [200])).body
    .jwt_token;
  const next = `${PASSWORD} two`;
  await ok("/auth/change-password", {
    lang,
    json: { old_password: PASSWORD, new_password: next },
    token: jwtC,
  });
  await keep(c, "password_changed");
  await ok("/auth/change-password/request", { lang, json: { email: c } });
  await keep(c, "password_reset");
  const third = `${PASSWORD} three`;
  await ok("/auth/change-password/change", {
    lang,
    json: { ticket: got.get("password_reset").data.ticket, new_password: third },
  });
  await keep(c, "password_reset_done");
  jwtC = (await ok("/auth/login", { lang, json: { email: c, password: third } }, [200])).body.jwt_token;
  await ok("/auth/change-email/request", { lang, json: { new_email: a }, token: jwtC });
  await keep(a, "address_taken_email_change");
  await ok("/auth/change-email/request", { lang, json: { new_email: d }, token: jwtC });
  await keep(d, "email_change");
  await ok("/auth/change-email/change", { lang, json: { ticket: got.get("email_change").data.ticket } });
  await keep(c, "email_changed");
  return got;
}

/** Renders one mail's HTML at one width, checks what a reader needs, saves the screenshot. */
async function render(lang, kind, mail, width, dark = false) {
  await page.setViewportSize(WIDTHS[width]);
  await page.emulateMedia({ colorScheme: dark ? "dark" : "light" });
  await page.setContent(mail.html, { waitUntil: "load" });
  const seen = await page.evaluate(() => {
    const q = (s) => document.querySelector(s);
    const box = (el) => el?.getBoundingClientRect().toJSON();
    const img = q("img");
    return {
      lang: document.documentElement.lang,
      overflow: document.scrollingElement.scrollWidth - window.innerWidth,
      button: q("a.lk-btn") && {
        href: q("a.lk-btn").href,
        box: box(q("a.lk-btn")),
        text: q("a.lk-btn").textContent,
      },
      code: q(".lk-code") && {
        text: q(".lk-code").textContent,
        size: Number.parseFloat(getComputedStyle(q(".lk-code")).fontSize),
      },
      logo: img && { loaded: img.complete && img.naturalWidth > 0, alt: img.alt },
      card: getComputedStyle(q(".lk-card")).backgroundColor,
      title: document.title,
    };
  });
  const at = `${lang} ${kind} ${width}${dark ? " dark" : ""}`;
  assert.equal(seen.lang, lang, at);
  assert.ok(seen.overflow <= 0, `${at}: scrolls sideways by ${seen.overflow}px`);
  assert.equal(seen.title, mail.subject, at);
  assert.deepEqual(seen.logo, { loaded: true, alt: "Latchkey" }, at);
  if (LINK_KINDS.includes(kind)) {
    assert.equal(seen.button?.href, new URL(mail.data.link).href, at);
    // A target a thumb can hit: on a phone the button spans the card.
    const wide = width === "phone" ? 300 : 80;
    assert.ok(
      seen.button.box.height >= 40 && seen.button.box.width >= wide,
      `${at}: button ${JSON.stringify(seen.button.box)}`,
    );
    assert.ok(mail.text.includes(mail.data.link), `${at}: text twin without the link`);
  } else assert.equal(seen.button, null, at);
  if (kind === "passcode") {
    assert.equal(seen.code?.text, mail.data.code, at);
    assert.ok(seen.code.size >= 28, `${at}: code set at ${seen.code.size}px`);
    assert.ok(mail.text.includes(mail.data.code), `${at}: text twin without the code`);
  }
  if (dark) assert.equal(seen.card, "rgb(27, 30, 36)", `${at}: card not dark`);
  else assert.equal(seen.card, "rgb(255, 255, 255)", at);
  await page.screenshot({
    path: join(SHOTS, `${lang}-${kind}-${width}${dark ? "-dark" : ""}.png`),
    fullPage: true,
  });
}

let exitCode = 0;
try {
  // WebAuthn runs on the API's own origin (its WEBAUTHN_ORIGINS), with a virtual authenticator.
  await page.goto(`${API}/_dev/outbox?to=nobody%40example.com`);
  await withAuthenticator(context, page);

  const byLang = new Map();
  for (const lang of LANGS) {
    await step(`${lang}: every kind of mail is caused through the routes`, async () => {
      const got = await causeEveryMail(lang);
      assert.deepEqual([...got.keys()].sort(), [...ALL_KINDS].sort());
      byLang.set(lang, got);
    });
  }

  await step("each kind has its own subject in each language", async () => {
    for (const kind of ALL_KINDS) {
      const subjects = LANGS.map((l) => byLang.get(l).get(kind).subject);
      assert.equal(new Set(subjects).size, LANGS.length, `${kind}: ${subjects.join(" | ")}`);
    }
  });

  for (const lang of LANGS) {
    await step(`${lang}: every mail renders on a phone and a desktop (screenshots saved)`, async () => {
      for (const [kind, mail] of byLang.get(lang)) {
        await render(lang, kind, mail, "phone");
        await render(lang, kind, mail, "desktop");
        if (lang === "en") await render(lang, kind, mail, "phone", true);
      }
    });
  }
} catch (e) {
  console.error(e);
  exitCode = 1;
} finally {
  await context.close();
  logoServer.close();
}
process.exit(exitCode);
