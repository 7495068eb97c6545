/**
 * createApp(): global middleware, the dialect mount table and the development routes. Each dialect
 * is a Hono sub-app with its own error renderer; DIALECTS switches them on and off.
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { DialectName } from "./config";
import { configFor } from "./config";
import { devRoutes } from "./dialects/dev";
import { directus } from "./dialects/directus";
import { formauth } from "./dialects/formauth";
import { HANKO_PATHS, hanko } from "./dialects/hanko";
import { hbp } from "./dialects/hbp";
import { cors } from "./dialects/shared/cors";
import type { AppEnv } from "./dialects/shared/types";
import { VAULT_PATHS, vault } from "./dialects/vault";
import { systemClock } from "./lib/clock";
import { isBackendUnavailable } from "./lib/unavailable";
import { createServices, type ServiceOptions } from "./services";

/** The mount table: each dialect's sub-app and the path prefixes it owns at the origin root. */
const MOUNTS: { name: DialectName; paths: string[]; app: Hono<AppEnv>; ownCors?: boolean }[] = [
  { name: "hbp", paths: ["/auth", "/storage", "/health"], app: hbp },
  // Hanko's CORS exposes its session headers; the sub-app applies it itself.
  { name: "hanko", paths: HANKO_PATHS, app: hanko, ownCors: true },
  { name: "directus", paths: ["/directus"], app: directus },
  { name: "formauth", paths: ["/api/auth"], app: formauth },
  { name: "vault", paths: VAULT_PATHS, app: vault },
];

/** Browser apps on the origins in CORS_ORIGINS may call every dialect, with credentials. */
const apiCors = cors({
  origins: (c) => c.var.config.cors.origins,
  exposeHeaders: ["Retry-After", "ETag", "Content-Disposition"],
  credentials: true,
});

export function createApp(opts: Partial<ServiceOptions> = {}) {
  const app = new Hono<AppEnv>();

  app.use("*", async (c, next) => {
    const config = configFor(c.env);
    c.set("config", config);
    c.set(
      "services",
      createServices(c.env, config, {
        clock: opts.clock ?? systemClock,
        waitUntil: (p) => {
          try {
            c.executionCtx.waitUntil(p);
          } catch {
            p.catch(() => {});
          }
        },
        emailMessage: opts.emailMessage,
      }),
    );
    try {
      await next();
    } finally {
      // A hash slot reserved by a credential route (shared/http.ts admitHashing) ends with the request.
      c.var.services.passwords.release();
    }
    c.header("Cache-Control", c.res.headers.get("Cache-Control") ?? "no-store");
    c.header("X-Content-Type-Options", "nosniff");
    // The activation and magic-link redirects carry a refresh token in their URL (api/hbp.txt):
    // no page reached from here, and no resource it loads, may learn that URL.
    c.header("Referrer-Policy", "no-referrer");
  });

  app.route("/_dev", devRoutes);

  for (const mount of MOUNTS) {
    const gate: MiddlewareHandler<AppEnv> = (c, next) =>
      c.var.config.dialects.includes(mount.name) ? next() : Promise.resolve(c.notFound());
    // `${path}/*` matches the path itself too; "/" is owned exactly (the hanko status page),
    // never as a prefix of everything.
    for (const path of mount.paths) {
      const pattern = path === "/" ? "/" : `${path}/*`;
      app.use(pattern, gate);
      if (!mount.ownCors) app.use(pattern, apiCors);
    }
    app.route("/", mount.app);
  }

  app.notFound((c) => c.json({ error: "Not Found" }, 404));
  app.onError((err, c) => {
    console.error(err);
    c.header("Referrer-Policy", "no-referrer");
    if (isBackendUnavailable(err)) {
      c.header("Retry-After", "1");
      return c.json({ error: "Service Unavailable" }, 503);
    }
    return c.json({ error: "Internal Server Error" }, 500);
  });
  return app;
}
