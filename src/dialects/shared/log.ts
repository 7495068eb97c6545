/**
 * Observability: one JSON line per request for Workers Logs / Logpush (`msg: "request"`), and
 * unexpected errors as JSON lines with the same request id (`msg: "error"`). The line holds the
 * method, Hono's matched route pattern (never the raw path, which may carry a token, nor the query
 * string), the status, the duration, the D1 round trips where the development meter counts them, and
 * the user id where the request learned it. Never a header, body, token, password or address.
 */
import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { currentProbe } from "../../lib/meter";
import type { AppEnv } from "./types";

/** The request's id: Cloudflare's cf-ray when present, else a random UUID. */
function requestIdOf(c: Context): string {
  const ray = c.req.header("cf-ray");
  return ray && /^[A-Za-z0-9-]{1,64}$/.test(ray) ? ray : crypto.randomUUID();
}

/** First line of an error's message, bounded (a driver's message may go on to list bound values). */
const firstLine = (e: unknown) =>
  (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).split("\n")[0]!.slice(0, 300);

/** Logs an unexpected error under the request's id (the stack's frames name code, not data). */
export function logError(c: Context, err: unknown): void {
  const cause = err instanceof Error && err.cause !== undefined ? firstLine(err.cause) : undefined;
  const stack =
    err instanceof Error && err.stack
      ? err.stack
          .split("\n")
          .filter((l) => /^\s+at /.test(l))
          .slice(0, 8)
          .map((l) => l.trim())
      : undefined;
  console.error(
    JSON.stringify({
      msg: "error",
      id: (c.get("requestId") as string | undefined) ?? null,
      route: routePath(c) || null,
      error: firstLine(err),
      cause,
      stack,
    }),
  );
}

/** The request line, written when the response is ready (the global middleware's first step). */
export const requestLog: MiddlewareHandler<AppEnv> = async (c, next) => {
  const started = performance.now();
  c.set("requestId", requestIdOf(c));
  try {
    await next();
  } finally {
    const probe = currentProbe();
    const line: Record<string, unknown> = {
      msg: "request",
      id: c.var.requestId,
      method: c.req.method,
      route: routePath(c),
      status: c.res.status,
      ms: Math.round(performance.now() - started),
    };
    if (probe) line.d1 = probe.d1;
    const user = c.var.userId ?? c.var.services?.eventUserId ?? null;
    if (user) line.user = user;
    console.log(JSON.stringify(line));
  }
};
