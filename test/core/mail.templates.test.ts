/** Mail rendering: every kind in every language, its text twin, escaping, branding, operator overrides. */
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config";
import { catalog, LOCALES, type Locale } from "../../src/core/i18n";
import type { MailMessage } from "../../src/core/mail/mailer";
import {
  createMailTemplates,
  type MailBranding,
  type MailTemplates,
  SECURITY_EVENTS,
} from "../../src/core/mail/templates";

const plain: MailBranding = { product: "Latchkey", logoUrl: null, overrides: {} };
const LINK = "https://auth.example.com/verify?ticket=abc";
const WHEN = "2026-03-04T05:06:07.000Z";
const CLIENT = { agent: "Firefox/140", network: "203.0.113.0/24" };
const NETWORK = "203.0.113.0/24";

/** One message of every kind (passcode twice: sign-in and sign-up), with what it must carry. */
function everyKind(t: MailTemplates): { name: string; m: MailMessage; carries: string }[] {
  const info = { when: WHEN, client: CLIENT };
  return [
    { name: "activation", m: t.activation("ada@example.com", LINK, "T1", 3600), carries: LINK },
    { name: "magic_link", m: t.magicLink("ada@example.com", LINK, "K1", 600), carries: LINK },
    { name: "password_reset", m: t.passwordReset("ada@example.com", LINK, "T2", 1800), carries: LINK },
    { name: "email_change", m: t.emailChange("new@example.com", LINK, "T3", 3600), carries: LINK },
    { name: "passcode", m: t.passcode("ada@example.com", "042917", 300), carries: "042917" },
    {
      name: "passcode_sign_up",
      m: t.passcode("ada@example.com", "042917", 300, { signUp: true }),
      carries: "042917",
    },
    {
      name: "address_taken_sign_up",
      m: t.addressTaken("ada@example.com", "sign_up", info),
      carries: NETWORK,
    },
    {
      name: "address_taken_email_change",
      m: t.addressTaken("ada@example.com", "email_change", info),
      carries: NETWORK,
    },
    ...SECURITY_EVENTS.map((event) => ({
      name: event,
      m: t.securityNotice("ada@example.com", event, {
        ...info,
        data: { new_email: "new@example.com", remaining: "7" },
      }),
      carries: NETWORK,
    })),
  ];
}

describe("mail templates", () => {
  it("renders every kind in every language: subject, HTML and text, nothing left unfilled", () => {
    const subjects = new Map<string, Set<string>>();
    for (const locale of LOCALES) {
      const strings = catalog(locale).mail;
      for (const { name, m, carries } of everyKind(createMailTemplates(plain, locale))) {
        const kindStrings = strings[name as keyof typeof strings] as { heading: string; notYou: string };
        expect(m.subject, `${locale} ${name}`).not.toBe("");
        expect(m.subject).not.toMatch(/[{}\r\n]/);
        for (const body of [m.text, m.html]) expect(body, `${locale} ${name}`).not.toMatch(/\{\w+\}/);
        expect(m.html).toContain(`<html lang="${locale}"`);
        // What the mail is for, what to do if it was not you, and the link, code or client.
        expect(m.text).toContain(kindStrings.heading.replace("{product}", "Latchkey"));
        expect(m.text).toContain(kindStrings.notYou);
        expect(m.text).toContain(carries);
        expect(m.html).toContain(carries);
        const seen = subjects.get(name) ?? new Set();
        seen.add(m.subject);
        subjects.set(name, seen);
      }
    }
    // Three languages, three different subjects for every kind.
    for (const [name, seen] of subjects) expect(seen.size, name).toBe(LOCALES.length);
  });

  it("each translation uses the same placeholders as the English string", () => {
    const flat = (o: object, p = ""): [string, string][] =>
      Object.entries(o).flatMap(([k, v]) =>
        typeof v === "object" ? flat(v, `${p}${k}.`) : [[`${p}${k}`, v]],
      );
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    const en = new Map(flat(catalog("en").mail));
    for (const locale of LOCALES)
      for (const [key, value] of flat(catalog(locale).mail))
        expect(names(value), `${locale} ${key}`).toEqual(names(en.get(key)!));
  });

  it("keeps MailMessage's kind and data as the outbox and tests read them", () => {
    const t = createMailTemplates(plain, "de");
    const [activation, magic, reset, change, code, signUpCode, taken] = everyKind(t).map((k) => k.m);
    expect(activation).toMatchObject({ kind: "activation", data: { link: LINK, ticket: "T1" } });
    expect(magic).toMatchObject({ kind: "magic_link", data: { link: LINK, token: "K1" } });
    expect(reset).toMatchObject({ kind: "password_reset", data: { link: LINK, ticket: "T2" } });
    expect(change).toMatchObject({ kind: "email_change", to: "new@example.com", data: { ticket: "T3" } });
    expect(code).toMatchObject({ kind: "passcode", data: { code: "042917" } });
    expect(signUpCode).toMatchObject({ kind: "passcode", data: { code: "042917" } });
    expect(taken).toMatchObject({ kind: "address_taken_sign_up", data: { when: WHEN } });
    const notice = t.securityNotice("a@example.com", "email_changed", {
      when: WHEN,
      client: CLIENT,
      data: { new_email: "b@example.com" },
    });
    expect(notice.data).toEqual({
      event: "email_changed",
      when: WHEN,
      client: "Firefox/140, Netzwerk 203.0.113.0/24",
      new_email: "b@example.com",
    });
    expect(notice.text).toContain("Die neue Adresse ist b@example.com.");
  });

  it("a link becomes a button with the raw link under it; a code is set large; both in the text twin", () => {
    const t = createMailTemplates(plain, "en");
    const link = t.passwordReset("ada@example.com", LINK, "T", 1800);
    expect(link.html).toMatch(
      new RegExp(`<a class="lk-btn" href="${LINK.replace(/\?/g, "\\?")}"[^>]*>Choose a new password</a>`),
    );
    expect(link.text).toContain(`Choose a new password:\n${LINK}\n`);
    const code = t.passcode("ada@example.com", "042917", 300);
    expect(code.html).toMatch(/class="lk-code"[^>]*font-size:36px[^>]*>042917<\/td>/);
    expect(code.text).toContain("Your code: 042917");
    expect(code.subject).toBe("Your Latchkey passcode: 042917");
  });

  it("in(language) switches to a language we have and keeps the current one otherwise", () => {
    const de = createMailTemplates(plain, "de");
    expect(de.in("fr-CA").locale).toBe("fr");
    expect(de.in("EN").locale).toBe("en");
    expect(de.in("es").locale).toBe("de");
    expect(de.in(null).locale).toBe("de");
    expect(de.in("").locale).toBe("de");
  });

  it("says how long the link or code works, from the TTL it is given", () => {
    const en = createMailTemplates(plain, "en");
    const de = createMailTemplates(plain, "de");
    const fr = createMailTemplates(plain, "fr");
    expect(en.magicLink("a@x.io", LINK, "k", 600).text).toContain("expires in 10 minutes.");
    expect(en.activation("a@x.io", LINK, "k", 3600).text).toContain("expires in 1 hour.");
    expect(en.activation("a@x.io", LINK, "k", 7200).text).toContain("expires in 2 hours.");
    expect(en.passcode("a@x.io", "123456", 90).text).toContain("expires in 1 minute.");
    expect(de.passcode("a@x.io", "123456", 300).text).toContain("läuft in 5 Minuten ab.");
    expect(fr.passwordReset("a@x.io", LINK, "k", 1800).text).toContain("expire dans 30 minutes.");
  });

  it("escapes everything it interpolates into HTML", () => {
    const t = createMailTemplates(
      { product: `A&B "Bank"`, logoUrl: `https://cdn.example.com/l.png?a=1&b="2"`, overrides: {} },
      "en",
    );
    const m = t.activation(`o'hara@example.com`, "https://x.example/a?t=<b>&u=1", "t", 3600);
    expect(m.html).toContain("A&amp;B &quot;Bank&quot;");
    expect(m.html).toContain('href="https://x.example/a?t=&lt;b&gt;&amp;u=1"');
    expect(m.html).toContain("o&#39;hara@example.com");
    expect(m.html).toContain(
      `<img src="https://cdn.example.com/l.png?a=1&amp;b=&quot;2&quot;" alt="A&amp;B &quot;Bank&quot;"`,
    );
    expect(m.html).not.toContain("<b>");
    const n = t.securityNotice("a@example.com", "passkey_added", {
      when: WHEN,
      client: { agent: "<script>alert(1)</script>", network: "1.2.3.0/24" },
    });
    expect(n.html).not.toContain("<script>alert");
    expect(n.html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(n.text).toContain("<script>alert(1)</script>");
  });

  it("sets the product name as text without a logo, the logo image with one", () => {
    const name = createMailTemplates({ ...plain, product: "Acme ID" }, "en").passcode(
      "a@x.io",
      "123456",
      300,
    );
    expect(name.html).not.toContain("<img");
    expect(name.html).toMatch(/font-size:20px;font-weight:700[^>]*>Acme ID<\/span>/);
    expect(name.subject).toBe("Your Acme ID passcode: 123456");
    expect(name.text).toContain("Acme ID");
    const logo = createMailTemplates({ ...plain, logoUrl: "https://cdn.example.com/logo.png" }, "en");
    expect(logo.passcode("a@x.io", "123456", 300).html).toContain(
      '<img src="https://cdn.example.com/logo.png"',
    );
  });

  it("names the client in the reader's language, and says so when it is unknown", () => {
    const info = (client: { agent: string | null; network: string | null }) => ({ when: WHEN, client });
    const fr = createMailTemplates(plain, "fr");
    expect(fr.securityNotice("a@x.io", "password_changed", info(CLIENT)).text).toContain(
      "Appareil: Firefox/140, réseau 203.0.113.0/24",
    );
    expect(
      fr.securityNotice("a@x.io", "password_changed", info({ agent: null, network: null })).text,
    ).toContain("Appareil: un client inconnu, réseau une adresse inconnue");
    expect(
      createMailTemplates(plain, "en").addressTaken("a@x.io", "sign_up", info({ agent: null, network: null }))
        .text,
    ).toContain("From: an unknown client, network an unknown address");
  });

  it("writes when in the reader's language, in UTC", () => {
    const info = { when: WHEN, client: CLIENT };
    expect(createMailTemplates(plain, "en").securityNotice("a@x.io", "totp_enabled", info).text).toMatch(
      /When: March 4, 2026.*5:06:07.*UTC/,
    );
    expect(createMailTemplates(plain, "de").securityNotice("a@x.io", "totp_enabled", info).text).toMatch(
      /Wann: 4\. März 2026.*05:06:07 UTC/,
    );
    expect(createMailTemplates(plain, "fr").securityNotice("a@x.io", "totp_enabled", info).text).toMatch(
      /Quand: 4 mars 2026.*05:06:07 UTC/,
    );
  });
});

describe("MAIL_TEMPLATES overrides", () => {
  const overridden = (templates: unknown, locale: Locale = "de") =>
    createMailTemplates(
      parseConfig({ ENVIRONMENT: "test", MAIL_TEMPLATES: JSON.stringify(templates) }).mail,
      locale,
    );

  it("replaces subject, text and HTML of one kind in one language, filling and escaping placeholders", () => {
    const t = overridden({
      password_reset: {
        de: {
          subject: "{product}: Passwort für {email}",
          text: "Hier entlang: {link} (gültig {validity})",
          html: '<p>Für {email}: <a href="{link}">weiter</a></p>',
        },
      },
    });
    const m = t.passwordReset("a<b>@example.com", "https://x.example/r?t=1&u=2", "T", 1800);
    expect(m.subject).toBe("Latchkey: Passwort für a<b>@example.com");
    expect(m.text).toBe("Hier entlang: https://x.example/r?t=1&u=2 (gültig 30 Minuten)");
    expect(m.html).toBe(
      '<p>Für a&lt;b&gt;@example.com: <a href="https://x.example/r?t=1&amp;u=2">weiter</a></p>',
    );
    expect(m.data).toEqual({ link: "https://x.example/r?t=1&u=2", ticket: "T" });
  });

  it("leaves other languages, other kinds and fields it does not set as they are", () => {
    const templates = { passcode: { fr: { subject: "Code {code}" } } };
    const fr = overridden(templates, "fr").passcode("a@x.io", "123456", 300);
    expect(fr.subject).toBe("Code 123456");
    expect(fr.text).toBe(createMailTemplates(plain, "fr").passcode("a@x.io", "123456", 300).text);
    expect(overridden(templates, "en").passcode("a@x.io", "123456", 300).subject).toBe(
      "Your Latchkey passcode: 123456",
    );
    expect(overridden(templates, "fr").magicLink("a@x.io", LINK, "k", 600).subject).toBe(
      "Votre lien de connexion à Latchkey",
    );
  });

  it("is checked when the config is read, with an error naming what is wrong", () => {
    const error = (templates: unknown) => {
      try {
        parseConfig({
          ENVIRONMENT: "test",
          MAIL_TEMPLATES: typeof templates === "string" ? templates : JSON.stringify(templates),
        });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      return "accepted";
    };
    expect(error("{nope")).toMatch(/^MAIL_TEMPLATES: not valid JSON/);
    expect(error([])).toBe("MAIL_TEMPLATES: must be a JSON object of kinds");
    expect(error({ welcome: { en: { subject: "Hi" } } })).toMatch(
      /^MAIL_TEMPLATES: unknown kind "welcome" \(known: activation, magic_link, /,
    );
    expect(error({ activation: { es: { subject: "Hola" } } })).toBe(
      'MAIL_TEMPLATES: activation: unknown language "es" (known: en, de, fr)',
    );
    expect(error({ activation: { en: { body: "x {link}" } } })).toBe(
      "MAIL_TEMPLATES: activation.en.body: unknown field (known: subject, text, html)",
    );
    expect(error({ activation: { en: { subject: "Hi {name}" } } })).toBe(
      "MAIL_TEMPLATES: activation.en.subject: unknown placeholder {name} (known: {product}, {email}, {link}, {validity})",
    );
    expect(error({ passkey_added: { en: { text: "Code {code}" } } })).toMatch(
      /^MAIL_TEMPLATES: passkey_added\.en\.text: unknown placeholder \{code\}/,
    );
    expect(error({ activation: { en: { text: "Welcome to {product}" } } })).toBe(
      "MAIL_TEMPLATES: activation.en.text: must contain {link}",
    );
    expect(error({ passcode: { de: { html: "<p>Hallo</p>" } } })).toBe(
      "MAIL_TEMPLATES: passcode.de.html: must contain {code}",
    );
    expect(error({ passcode: { de: { subject: "a\nBcc: x@example.com" } } })).toBe(
      "MAIL_TEMPLATES: passcode.de.subject: must be one line",
    );
    expect(error({ passcode: { de: { subject: 3 } } })).toBe(
      "MAIL_TEMPLATES: passcode.de.subject: must be a non-empty string",
    );
    expect(error({ email_changed: { en: { text: "Now {new_email}, at {when} from {client}" } } })).toBe(
      "accepted",
    );
  });
});

describe("PRODUCT_NAME and PRODUCT_LOGO_URL", () => {
  it("default to Latchkey and no logo, and refuse bad values", () => {
    expect(parseConfig({ ENVIRONMENT: "test" }).mail).toMatchObject({ product: "Latchkey", logoUrl: null });
    expect(() => parseConfig({ ENVIRONMENT: "test", PRODUCT_NAME: "a\nb" })).toThrow(/^PRODUCT_NAME: /);
    expect(() => parseConfig({ ENVIRONMENT: "test", PRODUCT_NAME: "x".repeat(65) })).toThrow(
      /^PRODUCT_NAME: /,
    );
    expect(() => parseConfig({ ENVIRONMENT: "test", PRODUCT_LOGO_URL: "logo.png" })).toThrow(
      /^PRODUCT_LOGO_URL: /,
    );
    expect(() => parseConfig({ ENVIRONMENT: "test", PRODUCT_LOGO_URL: "javascript:alert(1)" })).toThrow(
      /^PRODUCT_LOGO_URL: must be an http\(s\) URL/,
    );
    expect(
      parseConfig({ ENVIRONMENT: "test", PRODUCT_LOGO_URL: "http://localhost:9/l.png" }).mail.logoUrl,
    ).toBe("http://localhost:9/l.png");
  });
});
