/**
 * Sub-apps mounted under a configured prefix (HANKO_PREFIX, DIRECTUS_PREFIX, PAGES_PREFIX). The
 * mount table is built once per isolate before any env is known, so the routes are written without
 * the prefix and an app per prefix is built on first use and memoised.
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "./types";

/** `build`, memoised per prefix: each prefix's app is built once. */
export function perPrefix(build: (prefix: string) => Hono<AppEnv>): (prefix: string) => Hono<AppEnv> {
  const apps = new Map<string, Hono<AppEnv>>();
  return (prefix) => {
    let app = apps.get(prefix);
    if (!app) {
      app = build(prefix);
      apps.set(prefix, app);
    }
    return app;
  };
}

type FetchContext = Parameters<Hono<AppEnv>["fetch"]>[2];

function executionContext(c: Context<AppEnv>): FetchContext {
  try {
    return c.executionCtx as FetchContext;
  } catch {
    return undefined;
  }
}

/**
 * A mountable app that hands each request it `owns` to the app built for the request's prefix,
 * together with the request's config and services (carried in a WeakMap keyed by the Request, since
 * the inner app's fetch starts a new context); other requests pass on to the next route.
 * `build(app, prefix)` adds the routes to an app that already sets those variables.
 */
export function prefixedApp(opts: {
  prefix: (c: Context<AppEnv>) => string;
  owns: (c: Context<AppEnv>, prefix: string) => boolean;
  build: (app: Hono<AppEnv>, prefix: string) => void;
}): Hono<AppEnv> {
  const carried = new WeakMap<Request, AppEnv["Variables"]>();
  const appFor = perPrefix((prefix) => {
    const app = new Hono<AppEnv>();
    app.use("*", async (c, next) => {
      const vars = carried.get(c.req.raw)!;
      c.set("config", vars.config);
      c.set("services", vars.services);
      await next();
    });
    opts.build(app, prefix);
    return app;
  });
  const outer = new Hono<AppEnv>();
  outer.use("*", async (c, next) => {
    const prefix = opts.prefix(c);
    if (!opts.owns(c, prefix)) return next();
    carried.set(c.req.raw, c.var);
    return appFor(prefix).fetch(c.req.raw, c.env, executionContext(c));
  });
  return outer;
}
