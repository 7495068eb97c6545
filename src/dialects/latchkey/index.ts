/**
 * The Latchkey API at /v1: what users of an auth server expect beyond the five upstream APIs
 * (sessions, recovery codes, passkeys, the admin API). Each area is a sub-app in this folder, mounted below.
 */
import { Hono } from "hono";
import { defineDialect } from "../shared/kit";
import { op, serveOpenApi } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import { account } from "./account";
import { admin } from "./admin";
import { adminImport } from "./admin-import";
import { audit } from "./audit";
import { renderV1Error, v1Error } from "./errors";
import { V1_DOC } from "./openapi";
import { passkeys } from "./passkeys";
import { reauth } from "./reauth";

const dialect = defineDialect({
  onError: renderV1Error,
  notFound: (c) => v1Error(c, 404, "NOT_FOUND", "Not found."),
});

/** The API's areas (account, admin, ...), each a sub-app with paths relative to /v1. */
const areas: Hono<AppEnv>[] = [account, reauth, passkeys, adminImport, admin, audit];

const routes = dialect.mount(new Hono<AppEnv>(), "/", ...areas);
routes.get(
  "/openapi.json",
  op({ summary: "This OpenAPI 3.1 document", responses: { 200: "The document" } }),
  serveOpenApi(() => v1, V1_DOC),
);
routes.all("*", dialect.notFound);

export const V1_PATHS = ["/v1"];
export const v1 = dialect.mount(new Hono<AppEnv>(), "/v1", routes);
