/**
 * The dialect kit: what every dialect declares once instead of repeating per route. A dialect
 * gives its error renderer (from its error table) and its not-found answer to `defineDialect`, and
 * registers its sub-apps through it, so `onError` is applied once and never forgotten (Hono only
 * applies a sub-app's own handler when it is set before `route()`). Routes declare their per-IP
 * window (`limit`, `limitHashing`) and feature gates (`feature`) as middleware.
 */
import type { Context, ErrorHandler, Handler, Hono, MiddlewareHandler } from "hono";
import type { Config } from "../../core/config";
import { AuthError, type AuthErrorCode, isAuthError } from "../../core/errors";
import type { DeferredLimit, LimitName } from "../../core/rate-limit/ip-limiter";
import { isBackendUnavailable } from "../../lib/unavailable";
import { admitHashing, clientIp } from "./http";
import { logError } from "./log";
import type { AppEnv } from "./types";

/**
 * One renderer skeleton for every dialect: an unexpected error is logged and answered as the
 * table's INTERNAL entry (a generic body), or as BUSY (503, Retry-After) when the database could not
 * be reached
 * (D1 or R2); an AuthError sets Retry-After when it has one and is
 * answered from its table entry. `send` writes the dialect's body; `err` is null for INTERNAL.
 */
export function errorRenderer<R>(
  table: Record<AuthErrorCode, R>,
  send: (c: Context, entry: R, err: AuthError | null) => Response,
): ErrorHandler {
  return (thrown, c) => {
    let err: AuthError;
    if (isAuthError(thrown)) err = thrown;
    else {
      logError(c, thrown);
      if (!isBackendUnavailable(thrown)) return send(c, table.INTERNAL, null);
      // D1 unreachable or overloaded: the dialect's 503, worth retrying in a moment.
      err = new AuthError("BUSY", { retryAfter: 1, cause: thrown });
    }
    if (err.retryAfter !== undefined) c.header("Retry-After", String(err.retryAfter));
    return send(c, table[err.code], err);
  };
}

/** A dialect declared once: its error renderer and its not-found answer. */
export interface Dialect {
  onError: ErrorHandler<AppEnv>;
  /** The dialect's 404, for the catch-all routes of the paths it owns. */
  notFound: Handler<AppEnv>;
  /** Mounts sub-apps at `path` of `parent`, each with the dialect's error renderer. */
  mount(parent: Hono<AppEnv>, path: string, ...subs: Hono<AppEnv>[]): Hono<AppEnv>;
}

export function defineDialect(d: { onError: ErrorHandler<AppEnv>; notFound?: Handler<AppEnv> }): Dialect {
  return {
    notFound: (c) => d.onError(new AuthError("NOT_FOUND"), c),
    ...d,
    mount(parent, path, ...subs) {
      parent.onError(d.onError);
      for (const sub of subs) {
        sub.onError(d.onError);
        parent.route(path, sub);
      }
      return parent;
    },
  };
}

/** Counts the request in its per-IP window (RATE_LIMITED when full); for limits decided mid-route. */
export function countRequest(c: Context<AppEnv>, name: LimitName): Promise<void> {
  return c.var.services.limiter.hit(name, clientIp(c));
}

/**
 * The route's per-IP mail window for its core service to count in its first round trip
 * (IpLimiter `deferred`): the in-isolate count is taken now, before the body is read.
 */
export function deferRequest(c: Context<AppEnv>, name: "mail"): DeferredLimit {
  return c.var.services.limiter.deferred(name, clientIp(c));
}

/** The route's per-IP window, counted before the route runs: `auth.post("/x", limit("verify"), ...)`. */
export const limit =
  (name: LimitName): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    await countRequest(c, name);
    await next();
  };

/**
 * For routes that hash a password: admitHashing (http.ts) runs synchronously as the middleware's
 * first statement, before any await and before the body is read, so a flood is refused at once.
 */
export const limitHashing =
  (name: LimitName): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    await admitHashing(c, name);
    await next();
  };

/** FEATURE_DISABLED (each dialect's 404) unless the flag is on. */
export const feature =
  (flag: keyof Config["features"]): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    if (!c.var.config.features[flag]) throw new AuthError("FEATURE_DISABLED");
    await next();
  };

/**
 * A link opened from mail whose secret is spent or unknown (INVALID_TICKET) sends the browser to
 * REDIRECT_URL_ERROR when one is set; any other outcome is `run`'s.
 */
export async function invalidTicketRedirect(
  c: Context<AppEnv>,
  status: 302 | 303,
  run: () => Promise<Response>,
): Promise<Response> {
  try {
    return await run();
  } catch (e) {
    const to = c.var.config.redirects.error;
    if (isAuthError(e) && e.code === "INVALID_TICKET" && to) return c.redirect(to, status);
    throw e;
  }
}

/** HTTP reason phrases, the `error`/`message` of Boom and echo bodies (RFC 9110's, in their spelling). */
const REASON_PHRASES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  413: "Request Entity Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export const reasonPhrase = (status: number): string => REASON_PHRASES[status] ?? "Error";
