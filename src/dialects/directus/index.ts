/**
 * The Directus auth dialect (api/directus-auth.txt): `<DIRECTUS_PREFIX>/auth/*` and
 * `<DIRECTUS_PREFIX>/users/me`, `/directus` by default.
 *
 * The prefix is configuration, but the mount table is built once per isolate before any env is
 * known. So the routes are written without a prefix and an app per prefix is built on first use
 * (shared/prefixed.ts); the mounted `directus` app only hands it requests under the configured
 * prefix, together with the request's config and services.
 */
import { Hono } from "hono";
import { defineDialect } from "../shared/kit";
import { op, serveOpenApi } from "../shared/openapi";
import { prefixedApp } from "../shared/prefixed";
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

export const directus = prefixedApp({
  prefix: (c) => c.var.config.directus.prefix,
  owns: (c, prefix) =>
    c.var.config.dialects.includes("directus") &&
    (c.req.path === prefix || c.req.path.startsWith(`${prefix}/`)),
  build(app, prefix) {
    dialect.mount(app, prefix, routes);
    app.all("*", dialect.notFound);
  },
});
