/**
 * Development-only routes. Every one answers 404 unless ENVIRONMENT=development and the request was
 * made to a loopback host (localhost, 127.0.0.1, [::1]): a Worker published with the development
 * setting by mistake still never shows its outbox to the world.
 */
import { Hono } from "hono";
import { isLoopbackHost } from "../lib/hosts";
import type { AppEnv } from "./shared/types";

export const devRoutes = new Hono<AppEnv>();

devRoutes.use("*", async (c, next) =>
  c.var.config.isDevelopment && isLoopbackHost(new URL(c.req.url).hostname) ? next() : c.notFound(),
);

/** GET /_dev/outbox?to=<address>: mail the outbox transport kept for that address, newest first. */
devRoutes.get("/outbox", async (c) => {
  const to = (c.req.query("to") ?? "").normalize("NFKC").trim().toLowerCase();
  if (!to) return c.json({ error: "the to query parameter is required" }, 400);
  return c.json(await c.var.services.outbox.list(to));
});
