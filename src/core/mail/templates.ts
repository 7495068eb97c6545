/**
 * Every mail core sends, in the language of the request that caused it: subject, HTML (layout.ts)
 * and its plain-text twin, from the catalogs in src/core/i18n/<lang>/mail.ts. How long a link or
 * code works comes from the caller (the TTL the service really uses). An operator may replace the
 * subject, text or HTML of any kind per language (MAIL_TEMPLATES); their `{placeholders}` are
 * checked at config time and HTML-escaped in the HTML.
 */
import { catalog, fill, isLocale, LOCALES, type Locale } from "../i18n";
import { escapeHtml, type MailContent, renderHtml, renderText } from "./layout";
import type { MailMessage } from "./mailer";

export const SECURITY_EVENTS = [
  "password_changed",
  "password_reset_done",
  "email_changed",
  "totp_enabled",
  "totp_disabled",
  "passkey_added",
  "recovery_code_used",
] as const;
export type SecurityEvent = (typeof SECURITY_EVENTS)[number];

const LINK_KINDS = ["activation", "magic_link", "password_reset", "email_change"] as const;
const CODE_KINDS = ["passcode", "passcode_sign_up"] as const;
const TAKEN_KINDS = ["address_taken_sign_up", "address_taken_email_change"] as const;

/** Template names: the `kind` of the message, except passcode_sign_up (sent as kind "passcode"). */
export const MAIL_KINDS = [...LINK_KINDS, ...CODE_KINDS, ...TAKEN_KINDS, ...SECURITY_EVENTS] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

type LinkKind = (typeof LINK_KINDS)[number];
type CodeKind = (typeof CODE_KINDS)[number];
type TakenKind = (typeof TAKEN_KINDS)[number];

const has = <T extends string>(list: readonly T[], v: string): v is T =>
  (list as readonly string[]).includes(v);

/** The placeholders a kind's texts (and an operator's override of them) may use. */
export function mailVariables(kind: MailKind): string[] {
  const common = ["product", "email"];
  if (has(LINK_KINDS, kind)) return [...common, "link", "validity"];
  if (has(CODE_KINDS, kind)) return [...common, "code", "validity"];
  if (kind === "email_changed") return [...common, "when", "client", "new_email"];
  if (kind === "recovery_code_used") return [...common, "when", "client", "remaining"];
  return [...common, "when", "client"];
}

/** What an override's text and HTML must show, or the mail would be useless. */
export function requiredVariable(kind: MailKind): string | null {
  if (has(LINK_KINDS, kind)) return "link";
  if (has(CODE_KINDS, kind)) return "code";
  return null;
}

export interface MailOverride {
  subject?: string;
  text?: string;
  html?: string;
}
export type MailOverrides = Partial<Record<MailKind, Partial<Record<Locale, MailOverride>>>>;

export interface MailBranding {
  /** PRODUCT_NAME. */
  product: string;
  /** PRODUCT_LOGO_URL, or null for the name set as text. */
  logoUrl: string | null;
  overrides: MailOverrides;
}

/**
 * MAIL_TEMPLATES (JSON `{kind: {lang: {subject?, text?, html?}}}`) checked: known kinds and
 * languages, strings only, known placeholders, a one-line subject, and the link or code in text
 * and HTML. Throws an Error naming what is wrong.
 */
export function parseMailOverrides(json: string): MailOverrides {
  if (json.trim() === "") return {};
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error('not valid JSON (want {"<kind>": {"<lang>": {"subject", "text", "html"}}})');
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(raw)) throw new Error("must be a JSON object of kinds");
  const out: MailOverrides = {};
  for (const [kind, langs] of Object.entries(raw)) {
    if (!has(MAIL_KINDS, kind)) throw new Error(`unknown kind "${kind}" (known: ${MAIL_KINDS.join(", ")})`);
    if (!isObject(langs)) throw new Error(`${kind}: must be an object of languages`);
    const known = mailVariables(kind);
    const required = requiredVariable(kind);
    const perLang: Partial<Record<Locale, MailOverride>> = {};
    for (const [lang, fields] of Object.entries(langs)) {
      if (!has(LOCALES, lang))
        throw new Error(`${kind}: unknown language "${lang}" (known: ${LOCALES.join(", ")})`);
      if (!isObject(fields)) throw new Error(`${kind}.${lang}: must be an object with subject, text, html`);
      const override: MailOverride = {};
      for (const [field, value] of Object.entries(fields)) {
        const at = `${kind}.${lang}.${field}`;
        if (field !== "subject" && field !== "text" && field !== "html")
          throw new Error(`${at}: unknown field (known: subject, text, html)`);
        if (typeof value !== "string" || value.trim() === "")
          throw new Error(`${at}: must be a non-empty string`);
        for (const [, name] of value.matchAll(/\{(\w+)\}/g))
          if (!known.includes(name!))
            throw new Error(
              `${at}: unknown placeholder {${name}} (known: ${known.map((k) => `{${k}}`).join(", ")})`,
            );
        if (field === "subject" && /[\r\n]/.test(value)) throw new Error(`${at}: must be one line`);
        if (field !== "subject" && required && !value.includes(`{${required}}`))
          throw new Error(`${at}: must contain {${required}}`);
        override[field] = value;
      }
      perLang[lang] = override;
    }
    out[kind] = perLang;
  }
  return out;
}

/** A duration in whole minutes or hours, rounded down so a mail never promises more than the TTL. */
function duration(seconds: number, locale: Locale): string {
  const v = catalog(locale).mail.validity;
  if (seconds >= 7200 && seconds % 3600 === 0) return fill(v.hours, { n: seconds / 3600 });
  if (seconds === 3600) return v.hour;
  const minutes = Math.max(1, Math.floor(seconds / 60));
  return minutes === 1 ? v.minute : fill(v.minutes, { n: minutes });
}

/** An ISO instant as the reader's language writes it, in UTC. */
function formatWhen(iso: string, locale: Locale): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  try {
    return new Intl.DateTimeFormat(locale, {
      dateStyle: "long",
      timeStyle: "long",
      timeZone: "UTC",
    }).format(d);
  } catch {
    return iso;
  }
}

/** Who made a change, as far as a mail names it (user agent, network); null where unknown. */
export interface ClientInfo {
  agent: string | null;
  network: string | null;
}

export interface MailTemplates {
  readonly locale: Locale;
  /** The same templates in `language` (a tag such as "de" or "fr-CA") when we have it; else these. */
  in(language: string | null | undefined): MailTemplates;
  activation(to: string, link: string, ticket: string, validForSeconds: number): MailMessage;
  magicLink(to: string, link: string, token: string, validForSeconds: number): MailMessage;
  passwordReset(to: string, link: string, ticket: string, validForSeconds: number): MailMessage;
  /** To the new address, which the link confirms. */
  emailChange(to: string, link: string, ticket: string, validForSeconds: number): MailMessage;
  /** The code set large; `signUp` words it as creating an account (kind stays "passcode"). */
  passcode(to: string, code: string, validForSeconds: number, opts?: { signUp?: boolean }): MailMessage;
  /** To the holder of an address someone tried to sign up with or move to another account. */
  addressTaken(
    to: string,
    attempt: "sign_up" | "email_change",
    info: { when: string; client: ClientInfo },
  ): MailMessage;
  /** What changed, when, from which client, and what to do if it was not the owner. */
  securityNotice(
    to: string,
    event: SecurityEvent,
    info: { when: string; client: ClientInfo; data?: Record<string, string> },
  ): MailMessage;
}

export function createMailTemplates(branding: MailBranding, locale: Locale): MailTemplates {
  const strings = catalog(locale).mail;
  const describe = ({ agent, network }: ClientInfo) =>
    fill(strings.layout.client, {
      agent: agent ?? strings.layout.unknownAgent,
      network: network ?? strings.layout.unknownNetwork,
    });

  function render(
    kind: MailKind,
    to: string,
    vars: Record<string, string>,
    shape: { link?: string; code?: string; facts?: boolean },
  ): Pick<MailMessage, "subject" | "text" | "html"> {
    const t = strings[kind] as { subject: string; heading: string; intro: string; notYou: string } & {
      action?: string;
      validity?: string;
    };
    const all: Record<string, string> = { ...vars, product: branding.product, email: to };
    const f = (s: string) => fill(s, all);
    const content: MailContent = {
      lang: locale,
      product: branding.product,
      logoUrl: branding.logoUrl,
      subject: f(t.subject),
      heading: f(t.heading),
      intro: f(t.intro),
      action:
        shape.link && t.action
          ? { label: f(t.action), url: shape.link, fallback: strings.layout.linkFallback }
          : undefined,
      code: shape.code ? { label: strings.layout.codeLabel, value: shape.code } : undefined,
      validity: t.validity ? f(t.validity) : undefined,
      facts: shape.facts
        ? [
            [strings.layout.when, all.when ?? ""],
            [strings.layout.from, all.client ?? ""],
          ]
        : undefined,
      notYou: f(t.notYou),
      footer: f(strings.layout.footer),
    };
    const custom = branding.overrides[kind]?.[locale];
    const escaped = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, escapeHtml(v)]));
    return {
      subject: (custom?.subject ? f(custom.subject) : content.subject).replace(/[\r\n]+/g, " "),
      text: custom?.text ? f(custom.text) : renderText(content),
      html: custom?.html ? fill(custom.html, escaped) : renderHtml(content),
    };
  }

  const linkMail = (
    kind: LinkKind,
    to: string,
    link: string,
    validFor: number,
    data: Record<string, string>,
  ) => ({
    to,
    kind,
    ...render(kind, to, { link, validity: duration(validFor, locale) }, { link }),
    data: { link, ...data },
  });

  return {
    locale,
    in(language) {
      const primary = typeof language === "string" ? language.trim().toLowerCase().split(/[-_]/)[0] : "";
      return isLocale(primary) && primary !== locale ? createMailTemplates(branding, primary) : this;
    },
    activation: (to, link, ticket, validFor) => linkMail("activation", to, link, validFor, { ticket }),
    magicLink: (to, link, token, validFor) => linkMail("magic_link", to, link, validFor, { token }),
    passwordReset: (to, link, ticket, validFor) => linkMail("password_reset", to, link, validFor, { ticket }),
    emailChange: (to, link, ticket, validFor) => linkMail("email_change", to, link, validFor, { ticket }),
    passcode(to, code, validFor, opts) {
      const kind: CodeKind = opts?.signUp ? "passcode_sign_up" : "passcode";
      return {
        to,
        kind: "passcode",
        ...render(kind, to, { code, validity: duration(validFor, locale) }, { code }),
        data: { code },
      };
    },
    addressTaken(to, attempt, info) {
      const kind: TakenKind = `address_taken_${attempt}`;
      return {
        to,
        kind,
        ...render(
          kind,
          to,
          { when: formatWhen(info.when, locale), client: describe(info.client) },
          { facts: true },
        ),
        data: { when: info.when },
      };
    },
    securityNotice(to, event, info) {
      const client = describe(info.client);
      const vars: Record<string, string> = { when: formatWhen(info.when, locale), client };
      if (info.data?.new_email) vars.new_email = info.data.new_email;
      if (info.data?.remaining) vars.remaining = info.data.remaining;
      return {
        to,
        kind: event,
        ...render(event, to, vars, { facts: true }),
        data: { event, when: info.when, client, ...info.data },
      };
    },
  };
}
