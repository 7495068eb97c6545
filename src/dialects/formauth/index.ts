/** The formauth dialect (api/formauth.txt), mounted at /api/auth. */
import { Hono } from "hono";
import { defineDialect } from "../shared/kit";
import { op, serveOpenApi } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import { auth } from "./auth";
import { formauthError, renderFormauthError } from "./errors";
import { FORMAUTH_DOC } from "./openapi";

const dialect = defineDialect({
  onError: renderFormauthError,
  notFound: (c) => formauthError(c, 404, "NOT_FOUND", "Not found."),
});

const routes = dialect.mount(new Hono<AppEnv>(), "/", auth);
routes.get(
  "/openapi.json",
  op({ summary: "This OpenAPI 3.1 document", responses: { 200: "The document" } }),
  serveOpenApi(() => formauth, FORMAUTH_DOC),
);
routes.all("*", dialect.notFound);

export const formauth = dialect.mount(new Hono<AppEnv>(), "/api/auth", routes);
