/**
 * The vault dialect (api/vault.txt). It owns exactly its own paths under /api (VAULT_PATHS), so
 * the formauth dialect's /api/auth stays its own and either can be turned off alone.
 */
import { Hono } from "hono";
import type { AppEnv } from "../shared/types";
import { api } from "./api";
import { renderVaultError } from "./errors";

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
];

const routes = new Hono<AppEnv>();
routes.onError(renderVaultError);
routes.route("/", api);

export const vault = new Hono<AppEnv>();
vault.onError(renderVaultError);
vault.route("/api", routes);
