/**
 * The hosted sign-in pages: `/login`, `/register`, `/reset-password`, `/verify`, `/account` under
 * PAGES_PREFIX (the origin root by default), server-rendered, calling core services directly.
 *
 * The prefix is configuration while the mount table is built once per isolate (as for Directus):
 * the routes are written without it, an app per prefix is built on first use (shared/prefixed.ts),
 * and the mounted `pages` app hands it only requests under its paths, with the request's config
 * and services.
 */
import { type Context, Hono } from "hono";
import { isAuthError } from "../core/errors";
import { prefixedApp } from "../dialects/shared/prefixed";
import type { AppEnv } from "../dialects/shared/types";
import { isBackendUnavailable } from "../lib/unavailable";
import { account } from "./account";
import { esc, page, prepare, refusal, strings } from "./kit";
import { login } from "./login";
import { register } from "./register";
import { reset } from "./reset";
import { stepUp } from "./step-up";
import { verify } from "./verify";

/** The first path segments the pages own under their prefix. */
export const PAGE_PATHS = ["/login", "/register", "/reset-password", "/verify", "/account"];

/** JSON routes (the passkey ceremonies) answer errors as `{error}`; page routes as a page. */
function renderError(err: Error, c: Context<AppEnv>) {
  const json = (c.req.header("content-type") ?? "").includes("json");
  let r: { message: string; status: number };
  try {
    r = refusal(c, err);
  } catch {
    if (!isAuthError(err)) console.error(err);
    const busy = isBackendUnavailable(err) || (isAuthError(err) && err.code === "BUSY");
    if (busy) c.header("Retry-After", "1");
    r = { message: strings(c).errGeneric, status: busy ? 503 : 500 };
  }
  if (json) return c.json({ error: isAuthError(err) ? err.code : "INTERNAL" }, r.status as 400);
  return page(c, {
    title: strings(c).errGeneric,
    body: `<p class="error" role="alert">${esc(r.message)}</p>`,
    status: r.status,
  });
}

const routes = new Hono<AppEnv>();
routes.use("*", async (c, next) => {
  // GET and HEAD: `redirect_to` from the query; a form post reads its body after its rate limit.
  if (c.req.method === "GET" || c.req.method === "HEAD") await prepare(c);
  await next();
});
for (const sub of [login, register, reset, verify, account, stepUp]) {
  sub.onError(renderError);
  routes.route("/", sub);
}
routes.onError(renderError);
routes.notFound((c) =>
  page(c, {
    title: strings(c).errNotFound,
    body: `<p><a href="${esc(`${c.var.config.pages.prefix}/login`)}">${esc(strings(c).backToSignIn)}</a></p>`,
    status: 404,
  }),
);

/** Whether `path` is one of the pages under `prefix`. */
export function isPagePath(prefix: string, path: string): boolean {
  if (prefix && !path.startsWith(`${prefix}/`)) return false;
  const rest = path.slice(prefix.length);
  return PAGE_PATHS.some((p) => rest === p || rest.startsWith(`${p}/`));
}

export const pages = prefixedApp({
  prefix: (c) => c.var.config.pages.prefix,
  owns: (c, prefix) => isPagePath(prefix, c.req.path),
  build(app, prefix) {
    app.route(prefix || "/", routes);
    app.onError(renderError);
  },
});
