/** The Directus auth dialect (api/directus-auth.txt), mounted at /directus: /auth/*, /users/me. */
import { Hono } from "hono";
import type { AppEnv } from "../shared/types";
import { auth } from "./auth";
import { directusError, renderDirectusError } from "./errors";
import { oauth } from "./oauth";
import { DIRECTUS_PREFIX } from "./present";
import { users } from "./users";

const routes = new Hono<AppEnv>();
routes.onError(renderDirectusError);
routes.route("/auth", auth);
routes.route("/auth", oauth);
routes.route("/users", users);
routes.all("*", (c) => {
  const path = c.req.path.slice(DIRECTUS_PREFIX.length) || "/";
  return directusError(c, 404, "ROUTE_NOT_FOUND", `Route ${path} doesn't exist.`);
});

export const directus = new Hono<AppEnv>();
directus.onError(renderDirectusError);
directus.route(DIRECTUS_PREFIX, routes);
