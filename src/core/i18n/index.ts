/**
 * Message catalogs: one per language, shared by the hosted pages and the mails (a mail goes out in
 * the language of the request that caused it). English is the reference: every other catalog has
 * the same keys (the type checks it), so a missing translation is a compile error, not a blank.
 */
import { de } from "./de";
import { en } from "./en";
import { fr } from "./fr";

export type Catalog = typeof en;
export const LOCALES = ["en", "de", "fr"] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = "en";

const CATALOGS: Record<Locale, Catalog> = { en, de, fr };

export function catalog(locale: Locale): Catalog {
  return CATALOGS[locale];
}

export function isLocale(v: unknown): v is Locale {
  return typeof v === "string" && (LOCALES as readonly string[]).includes(v);
}

/**
 * The best of LOCALES for an Accept-Language value (RFC 9110 12.5.4): ranges by weight, `de-CH`
 * matching `de`, `*` and anything unknown falling back to English. q=0 excludes a language.
 */
export function negotiate(acceptLanguage: string | null | undefined): Locale {
  if (!acceptLanguage) return DEFAULT_LOCALE;
  const ranges = acceptLanguage
    .split(",")
    .slice(0, 20)
    .map((part, i) => {
      const [tag = "", ...params] = part.trim().split(";");
      const q = params.map((p) => /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p)?.[1]).find((v) => v !== undefined);
      const weight = q === undefined ? 1 : Number(q);
      return {
        lang: tag.trim().toLowerCase().split("-")[0] ?? "",
        weight: Number.isFinite(weight) ? weight : 0,
        i,
      };
    })
    .filter((r) => r.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.i - b.i);
  for (const r of ranges) {
    if (r.lang === "*") return DEFAULT_LOCALE;
    if (isLocale(r.lang)) return r.lang;
  }
  return DEFAULT_LOCALE;
}

/** Fills `{name}` placeholders; unknown names stay as written. */
export function fill(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
}
