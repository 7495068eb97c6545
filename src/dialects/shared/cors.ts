/**
 * CORS for browser clients on another origin, with credentials. Only origins listed in the
 * configuration (exact `scheme://host:port`) get Access-Control-* headers; every other origin gets
 * none, so its browser keeps the response from the page. Preflights from listed origins answer
 * 204. While any origin is configured, `Vary: Origin` is set so caches keep the answers apart.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "./types";

export interface CorsOptions {
  /** The allowed origins for this request (usually from config). */
  origins: (c: Context<AppEnv>) => readonly string[];
  allowMethods?: readonly string[];
  allowHeaders?: readonly string[];
  /** Response headers the page's script may read. */
  exposeHeaders?: readonly string[];
  credentials?: boolean;
  /** Preflight cache lifetime, seconds. */
  maxAge?: number;
}

export function cors(opts: CorsOptions): MiddlewareHandler<AppEnv> {
  const methods = (opts.allowMethods ?? ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]).join(", ");
  const headers = (opts.allowHeaders ?? ["Content-Type", "Authorization", "Accept"]).join(", ");
  const expose = opts.exposeHeaders?.join(", ");
  return async (c, next) => {
    const origins = opts.origins(c);
    // With no origin configured the answer never depends on Origin: no headers, no Vary.
    if (origins.length === 0) return next();
    const origin = c.req.header("origin");
    const allowed = origin !== undefined && origins.includes(origin);
    const decorate = (h: Headers) => {
      h.append("Vary", "Origin");
      if (!allowed) return;
      h.set("Access-Control-Allow-Origin", origin);
      if (opts.credentials) h.set("Access-Control-Allow-Credentials", "true");
    };
    if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) {
      const res = new Response(null, { status: 204 });
      decorate(res.headers);
      if (allowed) {
        res.headers.set("Access-Control-Allow-Methods", methods);
        res.headers.set("Access-Control-Allow-Headers", headers);
        res.headers.set("Access-Control-Max-Age", String(opts.maxAge ?? 600));
      }
      return res;
    }
    await next();
    decorate(c.res.headers);
    if (allowed && expose) c.res.headers.set("Access-Control-Expose-Headers", expose);
  };
}
