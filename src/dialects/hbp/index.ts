/** The Hasura Backend Plus dialect (api/hbp.txt): /auth/*, /storage/*, /health. */
import { Hono } from "hono";
import { z } from "zod";
import { defineDialect } from "../shared/kit";
import { op, serveOpenApi } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import { account } from "./account";
import { auth } from "./auth";
import { boom, renderHbpError } from "./errors";
import { HBP_DOC } from "./openapi";
import { storage } from "./storage";

const dialect = defineDialect({ onError: renderHbpError, notFound: (c) => boom(c, 404, "Not Found") });

export const hbp = new Hono<AppEnv>();

const authRoutes = dialect.mount(new Hono<AppEnv>(), "/", auth, account);
authRoutes.get(
  "/openapi.json",
  op({ summary: "This OpenAPI 3.1 document", responses: { 200: "The document" } }),
  serveOpenApi(() => hbp, HBP_DOC),
);
authRoutes.all("*", dialect.notFound);

dialect.mount(hbp, "/auth", authRoutes);
dialect.mount(hbp, "/storage", storage);

/**
 * GET /health: a small JSON body a person or a monitor can read (api/hbp.txt says 204; a 2xx is all
 * its clients check). No D1, no KV: it is the bench's baseline. HEAD answers the headers alone.
 */
const HEALTH_BODY = JSON.stringify({ status: "ok" });
hbp.get(
  "/health",
  op({
    summary: "Health check",
    responses: { 200: { description: "The Worker is up", body: z.object({ status: z.literal("ok") }) } },
  }),
  (c) => c.body(HEALTH_BODY, 200, { "Content-Type": "application/json" }),
);
