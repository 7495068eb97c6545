/**
 * Links opened from mail. Mail security scanners and link previews fetch a link before its owner
 * does, with HEAD (some with GET). Hono answers HEAD with the GET handler, so a GET that spends a
 * single-use secret or hands out a token would be spent by the scanner. Two tools, one per case:
 *
 * - `safeHead`: for a GET the upstream API fixes (hbp activation and magic links, vault's
 *   verify-email, refresh GETs, OAuth callbacks), HEAD answers 200 without running the route, so
 *   it never consumes anything, sets a cookie or names a token.
 * - `confirmPage`: where the link is ours to shape, GET only shows a page whose button POSTs the
 *   secret back, and only that POST spends it.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "./types";

/** HEAD never reaches the route: 200, no body, nothing consumed. */
export const safeHead: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method !== "HEAD") return next();
  return c.body(null, 200, { "Content-Type": "text/html; charset=utf-8" });
};

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

export interface ConfirmPage {
  title: string;
  text: string;
  button: string;
  /** Where the button posts (a path of this Worker). */
  action: string;
  /** The form field that carries the secret, and the secret. */
  field: string;
  secret: string;
}

/**
 * The page a mailed link opens: one button that POSTs the secret (form-urlencoded) to `action`.
 * Nothing runs before the click; the page loads nothing and cannot be framed (a framed button
 * could be clicked for the user).
 */
export function confirmPage(c: Context<AppEnv>, p: ConfirmPage) {
  c.header(
    "Content-Security-Policy",
    "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  c.header("X-Frame-Options", "DENY");
  return c.html(
    `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
      `<meta name="robots" content="noindex"><title>${escapeHtml(p.title)}</title></head><body>` +
      `<h1>${escapeHtml(p.title)}</h1><p>${escapeHtml(p.text)}</p>` +
      `<form method="post" action="${escapeHtml(p.action)}">` +
      `<input type="hidden" name="${escapeHtml(p.field)}" value="${escapeHtml(p.secret)}">` +
      `<button type="submit">${escapeHtml(p.button)}</button></form></body></html>`,
  );
}
