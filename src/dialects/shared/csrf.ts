/**
 * Cross-site request refusal for routes that act on a cookie credential (or set one: login CSRF).
 * A browser sends `Origin` on every POST and on CORS requests; when it is there it must be this
 * Worker's own origin, PUBLIC_URL's, or one configured as trusted. Without `Origin`, a
 * `Sec-Fetch-Site` other than same-origin / none (a user typing the URL) is refused. Requests with
 * neither header come from non-browser clients, which carry no ambient cookies of a victim.
 * Checked before the body is read, whatever the Content-Type: a text/plain or body-less form post
 * is the classic CSRF vector.
 */
import type { Context } from "hono";
import { AuthError } from "../../core/errors";
import type { AppEnv } from "./types";

export function assertSameOrigin(c: Context<AppEnv>, trusted: readonly string[] = []): void {
  const origin = c.req.header("origin");
  if (origin !== undefined) {
    const allowed = new Set([new URL(c.req.url).origin, new URL(c.var.config.publicUrl).origin, ...trusted]);
    if (!allowed.has(origin)) throw new AuthError("FORBIDDEN", { detail: "Cross-site request refused." });
    return;
  }
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined && site !== "same-origin" && site !== "none")
    throw new AuthError("FORBIDDEN", { detail: "Cross-site request refused." });
}
