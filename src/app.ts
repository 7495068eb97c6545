/**
 * createApp(): global middleware, the dialect mount table and the development routes. Each dialect
 * is a Hono sub-app with its own error renderer; DIALECTS switches them on and off.
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { DialectName } from "./config";
import { configFor } from "./config";
import { negotiate } from "./core/i18n";
import { type Db, isBookmark, type SessionStart, sessionDb, startSession } from "./db/client";
import { devRoutes } from "./dialects/dev";
import { directus } from "./dialects/directus";
import { formauth } from "./dialects/formauth";
import { hankoApp, hankoPaths } from "./dialects/hanko";
import { hbp } from "./dialects/hbp";
import { V1_PATHS, v1 } from "./dialects/latchkey";
import { wellKnown } from "./dialects/latchkey/well-known";
import { cors } from "./dialects/shared/cors";
import { clientIp } from "./dialects/shared/http";
import { logError, requestLog } from "./dialects/shared/log";
import { perPrefix } from "./dialects/shared/prefixed";
import type { AppEnv } from "./dialects/shared/types";
import { VAULT_PATHS, vault } from "./dialects/vault";
import { systemClock } from "./lib/clock";
import { isBackendUnavailable } from "./lib/unavailable";
import { pages } from "./pages";
import { type Bindings, createServices, releaseServices, type ServiceOptions } from "./services";

/**
 * The mount table: each dialect's sub-app and the path prefixes it owns at the origin root. Hanko's
 * paths and sub-app depend on HANKO_PREFIX, so the table (and the app over it) is built per prefix.
 */
function mounts(
  hankoPrefix: string,
): { name: DialectName; paths: string[]; app: Hono<AppEnv>; ownCors?: boolean }[] {
  return [
    { name: "hbp", paths: ["/auth", "/storage", "/health"], app: hbp },
    // Hanko's CORS exposes its session headers; the sub-app applies it itself.
    { name: "hanko", paths: hankoPaths(hankoPrefix), app: hankoApp(hankoPrefix), ownCors: true },
    { name: "directus", paths: ["/directus"], app: directus },
    { name: "formauth", paths: ["/api/auth"], app: formauth },
    { name: "vault", paths: VAULT_PATHS, app: vault },
  ];
}

/** Browser apps on the origins in CORS_ORIGINS may call every dialect, with credentials. */
const apiCors = cors({
  origins: (c) => c.var.config.cors.origins,
  exposeHeaders: ["Retry-After", "ETag", "Content-Disposition"],
  credentials: true,
});

const directusPrefixCors: MiddlewareHandler<AppEnv> = (c, next) => {
  const { prefix } = c.var.config.directus;
  const path = c.req.path;
  const under = prefix !== "/directus" && (path === prefix || path.startsWith(`${prefix}/`));
  return under ? apiCors(c, next) : next();
};

/** The request header a client echoes, and the response header that carries the bookmark (README). */
export const BOOKMARK_HEADER = "X-Latchkey-Bookmark";

/**
 * GET/HEAD routes that only read D1 (no write, no conditional count): their D1 session may start on
 * the nearest replica. Every other request starts on the primary, including the GET routes that
 * write (activation, magic and change-email links, refresh, OAuth starts and callbacks, every vault
 * GET, rate-limited GETs) and any route added later: a route missing here is only slower.
 */
const REPLICA_READS = [
  // hbp: health, JWKS, storage downloads and metadata (file metadata lives in R2; D1 only authenticates).
  /^\/health$/,
  /^\/auth\/jwks$/,
  /^\/storage\/[om]\//,
];
/** Hanko's, matched on the path below HANKO_PREFIX: status page, JWKS, config, profile reads. */
const HANKO_REPLICA_READS = [
  /^\/$/,
  /^\/\.well-known\/(jwks\.json|config)$/,
  /^\/me$/,
  /^\/users\/[^/]+$/,
  /^\/emails$/,
  /^\/webauthn\/credentials$/,
];

/** The path below `prefix` ("/" for the prefix itself), or null when the path is not under it. */
function below(path: string, prefix: string): string | null {
  if (!prefix) return path;
  if (path === prefix) return "/";
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : null;
}

/** Where this request's D1 session starts (README "Read replication"). */
export function sessionStart(
  method: string,
  path: string,
  bookmark: string | undefined,
  directusPrefix: string,
  hankoPrefix = "",
): SessionStart {
  const hankoPath = below(path, hankoPrefix);
  const read =
    (method === "GET" || method === "HEAD") &&
    (REPLICA_READS.some((r) => r.test(path)) ||
      (hankoPath !== null && HANKO_REPLICA_READS.some((r) => r.test(hankoPath))) ||
      path === `${directusPrefix}/users/me`);
  // Writes, counts and the reads they decide on see every committed write, revocations included:
  // the primary is never behind any bookmark, so a write request needs none.
  if (!read) return "first-primary";
  return isBookmark(bookmark) ? { bookmark } : "first-unconstrained";
}

/** Replica reads refused (401) after asking D1, and their reruns, which start on the primary. */
const refusedOnReplica = new WeakSet<Request>();
const rerun = new WeakSet<Request>();

function secureHeaders(h: Headers) {
  if (!h.has("Cache-Control")) h.set("Cache-Control", "no-store");
  h.set("X-Content-Type-Options", "nosniff");
  // The activation and magic-link redirects carry a refresh token in their URL (api/hbp.txt):
  // no page reached from here, and no resource it loads, may learn that URL.
  h.set("Referrer-Policy", "no-referrer");
}

/** The app over the mount table for one HANKO_PREFIX. */
function buildApp(opts: Partial<ServiceOptions>, hankoPrefix: string) {
  const app = new Hono<AppEnv>();

  app.use("*", requestLog);
  app.use("*", async (c, next) => {
    const config = configFor(c.env);
    c.set("config", config);
    // One D1 session per request, and a drizzle instance over it, started when the request first
    // needs the database (a route that runs no query pays nothing); off: the binding itself.
    let session: D1DatabaseSession | undefined;
    let start: SessionStart | undefined;
    const db = config.d1ReadReplication
      ? (): Db => {
          start = rerun.has(c.req.raw)
            ? "first-primary"
            : sessionStart(
                c.req.method,
                c.req.path,
                c.req.header(BOOKMARK_HEADER),
                config.directus.prefix,
                config.hankoPrefix,
              );
          session = startSession(c.env.DB, start);
          return sessionDb(session);
        }
      : undefined;
    c.set(
      "services",
      createServices(c.env, config, {
        db,
        clock: opts.clock ?? systemClock,
        waitUntil: (p) => {
          try {
            c.executionCtx.waitUntil(p);
          } catch {
            p.catch(() => {});
          }
        },
        emailMessage: opts.emailMessage,
        // Mail this request causes (notices sent after the response included) is in its language.
        locale: negotiate(c.req.header("accept-language")),
        client: { ip: clientIp(c), userAgent: c.req.header("user-agent") ?? null },
      }),
    );
    try {
      await next();
    } finally {
      // A hash slot reserved by a credential route (shared/http.ts admitHashing) ends with the request.
      releaseServices(c.var.services);
    }
    // The session's latest position: echoed back, the next request reads at least this write.
    const bookmark = (session as D1DatabaseSession | undefined)?.getBookmark();
    // A session issued a moment ago may not have reached this replica yet: a refusal that came
    // from D1 (a query ran) is confirmed on the primary before it is answered (fetch below).
    if (bookmark && start !== "first-primary" && c.res.status === 401) refusedOnReplica.add(c.req.raw);
    // Set on the response itself: c.header() after the handler copies the whole Response each time.
    // A response with immutable headers (one passed through from fetch) is copied once instead.
    const finish = (h: Headers) => {
      secureHeaders(h);
      if (bookmark) h.set(BOOKMARK_HEADER, bookmark);
    };
    try {
      finish(c.res.headers);
    } catch {
      c.res = new Response(c.res.body, c.res);
      finish(c.res.headers);
    }
  });

  app.route("/_dev", devRoutes);
  // The hosted pages (PAGES_PREFIX): their paths are owned by no dialect.
  app.route("/", pages);
  // Ahead of the dialects (Hanko owns /.well-known/*): answered whatever DIALECTS says.
  app.route("/", wellKnown);

  for (const mount of mounts(hankoPrefix)) {
    const gate: MiddlewareHandler<AppEnv> = (c, next) =>
      c.var.config.dialects.includes(mount.name) ? next() : Promise.resolve(c.notFound());
    // `${path}/*` matches the path itself too; "/" is owned exactly (the hanko status page),
    // never as a prefix of everything.
    for (const path of mount.paths) {
      const pattern = path === "/" ? "/" : `${path}/*`;
      app.use(pattern, gate);
      if (!mount.ownCors) app.use(pattern, apiCors);
    }
    // DIRECTUS_PREFIX is configuration, known per request: another prefix than the default gets
    // the same CORS here (the dialect itself only answers under its configured prefix).
    if (mount.name === "directus") app.use("*", directusPrefixCors);
    app.route("/", mount.app);
  }
  // Latchkey's own API is no upstream dialect: DIALECTS does not switch it off.
  for (const path of V1_PATHS) app.use(`${path}/*`, apiCors);
  app.route("/", v1);

  app.notFound((c) => c.json({ error: "Not Found" }, 404));
  app.onError((err, c) => {
    logError(c, err);
    c.header("Referrer-Policy", "no-referrer");
    if (isBackendUnavailable(err)) {
      c.header("Retry-After", "1");
      return c.json({ error: "Service Unavailable" }, 503);
    }
    return c.json({ error: "Internal Server Error" }, 500);
  });

  return app;
}

export function createApp(opts: Partial<ServiceOptions> = {}) {
  // One app per HANKO_PREFIX, built on first use: an isolate has one env, so in practice one app.
  const forPrefix = perPrefix((prefix) => buildApp(opts, prefix));
  const appFor = (env: Bindings) => forPrefix(configFor(env).hankoPrefix);
  return {
    /**
     * The app's fetch, and once more from the primary for a replica read D1 refused. Only reads that
     * write nothing start on a replica (REPLICA_READS), so running one twice changes nothing.
     */
    async fetch(request: Request, env: Bindings, ctx?: ExecutionContext): Promise<Response> {
      const app = appFor(env);
      const res = await app.fetch(request, env, ctx);
      if (!refusedOnReplica.has(request)) return res;
      const again = new Request(request);
      rerun.add(again);
      return app.fetch(again, env, ctx);
    },
  };
}
