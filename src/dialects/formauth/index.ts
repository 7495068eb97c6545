/** The formauth dialect (api/formauth.txt), mounted at /api/auth. */
import { Hono } from "hono";
import { defineDialect } from "../shared/kit";
import type { AppEnv } from "../shared/types";
import { auth } from "./auth";
import { formauthError, renderFormauthError } from "./errors";

const dialect = defineDialect({
  onError: renderFormauthError,
  notFound: (c) => formauthError(c, 404, "NOT_FOUND", "Not found."),
});

const routes = dialect.mount(new Hono<AppEnv>(), "/", auth);
routes.all("*", dialect.notFound);

export const formauth = dialect.mount(new Hono<AppEnv>(), "/api/auth", routes);
