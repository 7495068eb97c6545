/**
 * The one cross-site rule, for every route that sets, uses or clears a session cookie (login CSRF
 * included: a cross-site form must not sign a victim into the attacker's account). A browser sends
 * `Origin` on every POST and on CORS requests; when it is there it must be this Worker's own
 * origin, PUBLIC_URL's or one of CORS_ORIGINS. Without `Origin`, a `Sec-Fetch-Site` of `cross-site`
 * or `same-site` is refused (`same-origin` and `none`, a URL the user typed, pass). Requests with
 * neither header come from non-browser clients (curl, the SDKs in Node), which carry no victim's
 * ambient cookies. Checked before the body is read, whatever the Content-Type: a text/plain or
 * body-less form post is the classic CSRF vector.
 *
 * Links opened from mail (hbp activation and magic links) and OAuth callbacks are top-level
 * navigations from another site by nature; they carry their own single-use secret and stay outside
 * this rule.
 */
import type { Context, MiddlewareHandler } from "hono";
import { AuthError } from "../../core/errors";
import type { AppEnv } from "./types";

/** Whether the request may act on a session cookie: see the rule above. */
export function isSameOrigin(c: Context<AppEnv>, trusted: readonly string[] = []): boolean {
  const origin = c.req.header("origin");
  const site = c.req.header("sec-fetch-site");
  // A page whose Referrer-Policy is no-referrer sends `Origin: null` with its plain form posts, even
  // to its own origin (Fetch, "serializing a request origin"); Sec-Fetch-Site, which no script can
  // set, still says same-origin then. An opaque origin (a sandboxed frame) is cross-site to it.
  if (origin === "null" && site === "same-origin") return true;
  if (origin !== undefined)
    return (
      origin === new URL(c.req.url).origin ||
      origin === new URL(c.var.config.publicUrl).origin ||
      c.var.config.cors.origins.includes(origin) ||
      trusted.includes(origin)
    );
  return site === undefined || site === "same-origin" || site === "none";
}

/** Throws FORBIDDEN (403 in each dialect's format) for a cross-site request; `trusted` adds origins. */
export function assertSameOrigin(c: Context<AppEnv>, trusted: readonly string[] = []): void {
  if (!isSameOrigin(c, trusted)) throw new AuthError("FORBIDDEN", { detail: "Cross-site request refused." });
}

/** The rule as a route middleware: `auth.post("/login", sameOrigin, handler)`. */
export const sameOrigin: MiddlewareHandler<AppEnv> = async (c, next) => {
  assertSameOrigin(c);
  await next();
};
