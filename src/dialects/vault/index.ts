/**
 * The vault dialect (api/vault.txt). It owns exactly its own paths under /api (VAULT_PATHS), so
 * the formauth dialect's /api/auth stays its own and either can be turned off alone.
 */
import { Hono } from "hono";
import { defineDialect } from "../shared/kit";
import { op, serveOpenApi } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import { api } from "./api";
import { renderVaultError } from "./errors";
import { VAULT_DOC } from "./openapi";

// compat(vault): the document spells forgot-passsword and reset-passsword with three s.
export const VAULT_PATHS = [
  "/api/login",
  "/api/register",
  "/api/verify-email",
  "/api/resend-email-verification",
  "/api/refresh",
  "/api/forgot-passsword",
  "/api/reset-passsword",
  "/api/exist-email",
  "/api/openapi.json",
];

// No catch-all: vault owns exactly VAULT_PATHS, the rest of /api is formauth's or the app's.
const dialect = defineDialect({ onError: renderVaultError });

const routes = dialect.mount(new Hono<AppEnv>(), "/", api);
routes.get(
  "/openapi.json",
  op({ summary: "This OpenAPI 3.1 document", responses: { 200: "The document" } }),
  serveOpenApi(() => vault, VAULT_DOC),
);

export const vault = dialect.mount(new Hono<AppEnv>(), "/api", routes);
