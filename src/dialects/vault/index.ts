/**
 * The vault dialect (api/vault.txt). It owns exactly its own paths under /api (VAULT_PATHS), so
 * the formauth dialect's /api/auth stays its own and either can be turned off alone.
 */
import { Hono } from "hono";
import { defineDialect } from "../shared/kit";
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

// No catch-all: vault owns exactly VAULT_PATHS, the rest of /api is formauth's or the app's.
const dialect = defineDialect({ onError: renderVaultError });

export const vault = dialect.mount(new Hono<AppEnv>(), "/api", dialect.mount(new Hono<AppEnv>(), "/", api));
