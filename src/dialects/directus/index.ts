/**
 * The Directus auth dialect (api/directus-auth.txt): `<DIRECTUS_PREFIX>/auth/*` and
 * `<DIRECTUS_PREFIX>/users/me`, `/directus` by default.
 *
 * The prefix is configuration, but the mount table is built once per isolate before any env is
 * known. So the routes are written without a prefix and an app per prefix is built on first use
 * (memoised); the mounted `directus` app only hands requests under the configured prefix to it,
 * together with the request's config and services (kept in a WeakMap keyed by the Request).
 */
import { type Context, Hono } from "hono";
import { defineDialect } from "../shared/kit";
import { op, serveOpenApi } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import { auth } from "./auth";
import { directusError, renderDirectusError } from "./errors";
import { oauth } from "./oauth";
import { DIRECTUS_DOC } from "./openapi";
import { users } from "./users";

const dialect = defineDialect({
  onError: renderDirectusError,
  // The path without the prefix, as Directus names it.
  notFound: (c) => {
    const path = c.req.path.slice(c.var.config.directus.prefix.length) || "/";
    return directusError(c, 404, "ROUTE_NOT_FOUND", `Route ${path} doesn't exist.`);
  },
});

const routes = dialect.mount(new Hono<AppEnv>(), "/auth", auth, oauth);
dialect.mount(routes, "/users", users);
routes.get(
  "/openapi.json",
  op({ summary: "This OpenAPI 3.1 document", responses: { 200: "The document" } }),
  serveOpenApi(
    () => routes,
    DIRECTUS_DOC,
    (c) => c.var.config.directus.prefix,
  ),
);

/** The dialect's routes without the prefix (the OpenAPI document puts DIRECTUS_PREFIX before them). */
export const directusRoutes = routes;

type Vars = AppEnv["Variables"];
const carried = new WeakMap<Request, Vars>();
const apps = new Map<string, Hono<AppEnv>>();

function appFor(prefix: string): Hono<AppEnv> {
  let app = apps.get(prefix);
  if (!app) {
    app = new Hono<AppEnv>();
    app.use("*", async (c, next) => {
      const vars = carried.get(c.req.raw)!;
      c.set("config", vars.config);
      c.set("services", vars.services);
      await next();
    });
    dialect.mount(app, prefix, routes);
    app.all("*", dialect.notFound);
    apps.set(prefix, app);
  }
  return app;
}

type FetchContext = Parameters<Hono<AppEnv>["fetch"]>[2];

function executionContext(c: Context<AppEnv>): FetchContext {
  try {
    return c.executionCtx as FetchContext;
  } catch {
    return undefined;
  }
}

export const directus = new Hono<AppEnv>();
directus.use("*", async (c, next) => {
  const { config } = c.var;
  const prefix = config.directus.prefix;
  const path = c.req.path;
  if (!config.dialects.includes("directus") || (path !== prefix && !path.startsWith(`${prefix}/`)))
    return next();
  carried.set(c.req.raw, c.var);
  return appFor(prefix).fetch(c.req.raw, c.env, executionContext(c));
});
