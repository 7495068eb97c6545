/** The formauth dialect (api/formauth.txt), mounted at /api/auth. */
import { Hono } from "hono";
import type { AppEnv } from "../shared/types";
import { auth } from "./auth";
import { formauthError, renderFormauthError } from "./errors";

const routes = new Hono<AppEnv>();
routes.onError(renderFormauthError);
routes.route("/", auth);
routes.all("*", (c) => formauthError(c, 404, "NOT_FOUND", "Not found."));

export const formauth = new Hono<AppEnv>();
formauth.onError(renderFormauthError);
formauth.route("/api/auth", routes);
