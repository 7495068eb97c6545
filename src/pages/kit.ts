/**
 * The page kit: language, the layout with its nonce-based CSP, form fields, the page session cookie
 * and the handover back to the app. Pages are plain HTML forms posting back to their own routes,
 * so every flow but passkeys works without JavaScript.
 *
 * CSRF: every POST passes the cross-site rule of shared/csrf.ts (Origin, or Sec-Fetch-Site), and the
 * session cookie is SameSite=Lax, so no other site can post with it. No form token is needed on
 * top: a browser always sends one of those headers with a form post.
 */
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { AuthError, type AuthErrorCode, isAuthError } from "../core/errors";
import { catalog, fill, isLocale, LOCALES, type Locale, negotiate } from "../core/i18n";
import type { pages as en } from "../core/i18n/en/pages";
import { assertSameOrigin } from "../dialects/shared/csrf";
import { handoverUrl as issueHandover } from "../dialects/shared/handover";
import { readBody } from "../dialects/shared/http";
import type { AppEnv } from "../dialects/shared/types";
import { toBase64Url } from "../lib/encoding";
import { SCRIPT, STYLE } from "./assets";

export type Strings = typeof en;
export type Ctx = Context<AppEnv>;

export const SESSION_COOKIE = "latchkey_pages";
const LANG_COOKIE = "latchkey_lang";

export const esc = (s: string | number) => String(s).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** A path of the pages, under PAGES_PREFIX. */
export const path = (c: Ctx, p: string) => `${c.var.config.pages.prefix}${p}`;

const locales = new WeakMap<Request, Locale>();

/** `?lang=` (remembered in a cookie), then the cookie, then Accept-Language; decided once per request. */
export function locale(c: Ctx): Locale {
  let l = locales.get(c.req.raw);
  if (l) return l;
  const q = c.req.query("lang");
  const saved = getCookie(c, LANG_COOKIE);
  if (isLocale(q)) {
    l = q;
    if (q !== saved)
      setCookie(c, LANG_COOKIE, q, {
        path: path(c, "/") || "/",
        sameSite: "Lax",
        secure: true,
        maxAge: 31_536_000,
      });
  } else l = isLocale(saved) ? saved : negotiate(c.req.header("accept-language"));
  locales.set(c.req.raw, l);
  return l;
}

export const strings = (c: Ctx): Strings => catalog(locale(c)).pages;

/** The error a page shows for a refused step, and its status. */
const ERROR_TEXT: Partial<Record<AuthErrorCode, [keyof Strings, number]>> = {
  INVALID_CREDENTIALS: ["errCredentials", 401],
  ACCOUNT_NOT_FOUND: ["errCredentials", 401],
  ACCOUNT_NOT_ACTIVE: ["errNotActive", 403],
  ACCOUNT_DISABLED: ["errDisabled", 403],
  INVALID_OTP: ["errCode", 401],
  PASSCODE_INVALID: ["errCode", 401],
  PASSCODE_EXPIRED: ["errExpired", 410],
  PASSCODE_EXHAUSTED: ["errExpired", 410],
  INVALID_TICKET: ["errExpired", 410],
  RATE_LIMITED: ["errRateLimited", 429],
  TOO_MANY_ATTEMPTS: ["errRateLimited", 429],
  PASSWORD_POLICY: ["errPasswordPolicy", 400],
  SIGNUP_DISABLED: ["errSignupDisabled", 403],
  FEATURE_DISABLED: ["errUnavailable", 404],
  INVALID_REQUEST: ["errInvalid", 400],
  ACCOUNT_EXISTS: ["errInvalid", 400],
  FORBIDDEN: ["errForbidden", 403],
  UNAUTHENTICATED: ["errExpired", 401],
  INVALID_TOKEN: ["errExpired", 401],
};

export interface Refusal {
  message: string;
  status: number;
}

/** The page's words for an AuthError; anything else (a backend failure, a bug) is rethrown. */
export function refusal(c: Ctx, e: unknown): Refusal {
  if (!isAuthError(e) || e.code === "BUSY" || e.code === "INTERNAL") throw e;
  if (e.retryAfter !== undefined) c.header("Retry-After", String(e.retryAfter));
  const [key, status] = ERROR_TEXT[e.code] ?? ["errGeneric", 400];
  return { message: fill(strings(c)[key], { min: c.var.config.passwords.minLength }), status };
}

/** Runs a step; an AuthError becomes `onRefusal`'s page instead of an error response. */
export async function attempt(
  c: Ctx,
  run: () => Promise<Response>,
  onRefusal: (r: Refusal) => Response | Promise<Response>,
): Promise<Response> {
  try {
    return await run();
  } catch (e) {
    return onRefusal(refusal(c, e));
  }
}

export interface Field {
  name: string;
  label: string;
  type?: string;
  autocomplete?: string;
  value?: string;
  hint?: string;
  /** Ties the field to the form's error message (aria-describedby). */
  invalid?: boolean;
  autofocus?: boolean;
  inputmode?: string;
  pattern?: string;
  minlength?: number;
  required?: boolean;
}

export function field(f: Field): string {
  const id = `f-${f.name}`;
  const described = [f.invalid ? "form-error" : "", f.hint ? `${id}-hint` : ""].filter(Boolean).join(" ");
  const attrs = [
    `id="${id}"`,
    `name="${esc(f.name)}"`,
    `type="${f.type ?? "text"}"`,
    f.autocomplete ? `autocomplete="${f.autocomplete}"` : "",
    f.value ? `value="${esc(f.value)}"` : "",
    f.required === false ? "" : "required",
    f.autofocus ? "autofocus" : "",
    f.inputmode ? `inputmode="${f.inputmode}"` : "",
    f.pattern ? `pattern="${f.pattern}"` : "",
    f.minlength ? `minlength="${f.minlength}"` : "",
    described ? `aria-describedby="${described}"` : "",
    f.invalid ? `aria-invalid="true"` : "",
  ].filter(Boolean);
  return (
    `<div class="field"><label for="${id}">${esc(f.label)}</label><input ${attrs.join(" ")}>` +
    (f.hint ? `<small id="${id}-hint">${esc(f.hint)}</small>` : "") +
    `</div>`
  );
}

export const hidden = (name: string, value: string | undefined) =>
  value ? `<input type="hidden" name="${esc(name)}" value="${esc(value)}">` : "";

/** A form posting back to a page route; `redirect_to` rides along so the handover keeps its target. */
export function form(c: Ctx, action: string, inner: string, extra = "") {
  return `<form method="post" action="${esc(path(c, action))}"${extra}>${hidden("redirect_to", redirectTo(c))}${inner}</form>`;
}

export const errorBox = (r: Refusal | undefined) =>
  r ? `<p id="form-error" class="error" role="alert">${esc(r.message)}</p>` : "";

/** A catalog string as HTML, `{email}` in bold and the other placeholders filled. */
export const sentence = (template: string, email: string, vars: Record<string, string | number> = {}) =>
  esc(fill(template, vars)).replace("{email}", `<strong>${esc(email)}</strong>`);

export const notice = (text: string) => `<p class="notice" role="status">${esc(text)}</p>`;

/** A link to another page, keeping `redirect_to`. */
export function link(c: Ctx, to: string, text: string) {
  const target = redirectTo(c);
  const href = target ? `${path(c, to)}?redirect_to=${encodeURIComponent(target)}` : path(c, to);
  return `<a href="${esc(href)}">${esc(text)}</a>`;
}

export interface PageSpec {
  title: string;
  body: string;
  status?: number;
  /** Include the passkey script. */
  script?: boolean;
}

/**
 * The layout. The CSP allows only this response's nonce for the one style and the one script,
 * forms posting to this origin (and to the allowed redirect target, since Chromium applies
 * form-action to a form's redirects too), and no framing.
 */
export function page(c: Ctx, spec: PageSpec): Response {
  const s = strings(c);
  const lang = locale(c);
  const nonce = toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
  const target = redirectTo(c);
  const formTargets = ["'self'", target ? new URL(target).origin : ""].filter(Boolean).join(" ");
  c.header(
    "Content-Security-Policy",
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src 'self' data:; ` +
      `connect-src 'self'; form-action ${formTargets}; frame-ancestors 'none'; base-uri 'none'`,
  );
  c.header("X-Frame-Options", "DENY");
  const here = new URL(c.req.url);
  const langs = LOCALES.map((l) => {
    const u = new URLSearchParams(here.search);
    // Only an allowed redirect_to is repeated.
    u.delete("redirect_to");
    if (target) u.set("redirect_to", target);
    u.set("lang", l);
    return l === lang
      ? `<a aria-current="true" href="?${esc(u.toString())}" lang="${l}">${l.toUpperCase()}</a>`
      : `<a href="?${esc(u.toString())}" lang="${l}">${l.toUpperCase()}</a>`;
  }).join(" ");
  const script = spec.script
    ? `<script nonce="${nonce}" data-base="${esc(path(c, ""))}">${SCRIPT}</script>`
    : "";
  return c.html(
    `<!doctype html><html lang="${lang}"><head><meta charset="utf-8">` +
      `<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">` +
      `<title>${esc(spec.title)} · ${esc(s.product)}</title><style nonce="${nonce}">${STYLE}</style></head>` +
      `<body><main><p class="brand">${esc(s.product)}</p><h1>${esc(spec.title)}</h1>${spec.body}</main>` +
      `<footer><nav aria-label="${esc(s.language)}">${langs}</nav></footer>${script}</body></html>`,
    (spec.status ?? 200) as 200,
  );
}

const targets = new WeakMap<Request, string>();
const forms = new WeakMap<Request, Record<string, string>>();

/**
 * Before every page route: a form post's body is read once (readBody's caps), and `redirect_to`
 * (query or form) is kept only when it is allowed.
 */
export async function prepare(c: Ctx) {
  const type = c.req.header("content-type") ?? "";
  if (c.req.method === "POST" && type.startsWith("application/x-www-form-urlencoded")) {
    const body = await readBody(c);
    forms.set(
      c.req.raw,
      Object.fromEntries(Object.entries(body).map(([k, v]) => [k, typeof v === "string" ? v : ""])),
    );
  }
  const asked = forms.get(c.req.raw)?.redirect_to ?? c.req.query("redirect_to");
  if (asked && asked.length <= 2048 && isAllowedTarget(c, asked)) targets.set(c.req.raw, asked);
}

/** `prepare` as route middleware, placed after the route's rate limit. */
export const withForm: MiddlewareHandler<AppEnv> = async (c, next) => {
  await prepare(c);
  await next();
};

/** A field of the posted form ("" when absent). */
export const posted = (c: Ctx, name: string): string => forms.get(c.req.raw)?.[name] ?? "";

/** The allowed `redirect_to` of this request (query or form), or undefined. */
export const redirectTo = (c: Ctx): string | undefined => targets.get(c.req.raw);

/**
 * A redirect target is allowed only by exact match: one of OAUTH_ALLOWED_REDIRECTS (as the OAuth
 * flows check it) or REDIRECT_URL_SUCCESS.
 */
export function isAllowedTarget(c: Ctx, url: string): boolean {
  return url === c.var.config.redirects.success || c.var.services.oauth.isAllowedRedirect(url);
}

/** Every POST: refused unless it comes from this origin (shared/csrf.ts). */
export const sameOriginPost = (c: Ctx) => assertSameOrigin(c);

/** The page session a route started in this request, before its cookie reaches the browser. */
const startedHere = new WeakMap<Request, string>();

export function setSession(c: Ctx, refreshToken: string) {
  startedHere.set(c.req.raw, refreshToken);
  setCookie(c, SESSION_COOKIE, refreshToken, {
    httpOnly: true,
    // Chromium treats http://localhost as secure, so development keeps the flag too.
    secure: true,
    sameSite: "Lax",
    path: path(c, "/") || "/",
    maxAge: c.var.config.sessions.refreshIdleTtl,
  });
}

export function clearSession(c: Ctx) {
  deleteCookie(c, SESSION_COOKIE, {
    path: path(c, "/") || "/",
    secure: true,
    httpOnly: true,
    sameSite: "Lax",
  });
}

/** The page session of this request, or null (a stale or revoked cookie is cleared). */
export async function pageSession(c: Ctx): Promise<{ userId: string; sessionId: string } | null> {
  const token = getCookie(c, SESSION_COOKIE);
  if (!token || token.length > 512) return null;
  try {
    return await c.var.services.sessions.resolve(token);
  } catch (e) {
    if (!isAuthError(e)) throw e;
    clearSession(c);
    return null;
  }
}

/**
 * Where a signed-in browser goes next: the allowed `redirect_to` with a one-time `hanko_token`
 * (dialects/shared/handover.ts, exchanged at Hanko's `POST /token` as after a third-party login)
 * carrying the methods the page session was signed in with and when, or the account page.
 */
export async function handoverUrl(c: Ctx, userId: string, target = redirectTo(c)): Promise<string> {
  if (!target) return path(c, "/account");
  const token = startedHere.get(c.req.raw) ?? getCookie(c, SESSION_COOKIE) ?? "";
  const session = await c.var.services.sessions.resolve(token).catch((e) => {
    if (isAuthError(e)) return null;
    throw e;
  });
  if (!session || session.userId !== userId) throw unauthenticated();
  return issueHandover(c, target, userId, session.amr, session.authAt);
}

export const unauthenticated = () => new AuthError("UNAUTHENTICATED");
