/** Development-only routes; every one answers 404 unless ENVIRONMENT=development. */
import { Hono } from "hono";
import type { AppEnv } from "./shared/types";

export const devRoutes = new Hono<AppEnv>();

devRoutes.use("*", async (c, next) => (c.var.config.isDevelopment ? next() : c.notFound()));

/** GET /_dev/outbox?to=<address>: mail the outbox transport kept for that address, newest first. */
devRoutes.get("/outbox", async (c) => {
  const to = (c.req.query("to") ?? "").normalize("NFKC").trim().toLowerCase();
  if (!to) return c.json({ error: "the to query parameter is required" }, 400);
  return c.json(await c.var.services.outbox.list(to));
});
