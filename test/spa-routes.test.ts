/**
 * The example SPA's development server (scripts/spa.mjs) sends the paths of scripts/spa-routes.mjs
 * to the Worker and everything else to the SPA's files. Every route a dialect serves must be in
 * that list, or `npm run dev` would answer it with the SPA's index.html.
 */
import { describe, expect, it } from "vitest";
import { runsWorkerFirst, workerFirstPatterns } from "../scripts/spa-routes.mjs";
import { devRoutes } from "../src/dialects/dev";
import { formauth } from "../src/dialects/formauth";
import { HANKO_PATHS, hanko } from "../src/dialects/hanko";
import { hbp } from "../src/dialects/hbp";
import { VAULT_PATHS, vault } from "../src/dialects/vault";
import { call } from "./support/app";

/** A concrete path for a Hono route pattern (`:param` and `*` filled in). */
const concrete = (pattern: string) => pattern.replace(/:[^/]+/g, "x").replace(/\*/g, "x/y");
const paths = (app: { routes: { path: string }[] }) => [...new Set(app.routes.map((r) => concrete(r.path)))];

const SPA_FILES = ["/", "/index.html", "/app.js", "/style.css", "/app.js.map", "/some/client/route"];

describe("run_worker_first (scripts/spa-routes.mjs)", () => {
  it("sends every hbp, formauth, vault and development route to the Worker", () => {
    const patterns = workerFirstPatterns({});
    const all = [
      ...paths(hbp),
      ...paths(formauth),
      ...paths(vault),
      ...VAULT_PATHS,
      ...paths(devRoutes).map((p) => `/_dev${p === "/" ? "" : p}`),
    ];
    expect(all.length).toBeGreaterThan(20);
    expect(all.filter((p) => !runsWorkerFirst(patterns, p))).toEqual([]);
  });

  it("sends the Hanko dialect's routes at the origin root to the Worker, but not / (the SPA's)", () => {
    const patterns = workerFirstPatterns({});
    const all = [...paths(hanko).filter((p) => p !== "/"), ...HANKO_PATHS.filter((p) => p !== "/")];
    expect(all).toContain("/webauthn/login/finalize");
    expect(all.filter((p) => !runsWorkerFirst(patterns, p))).toEqual([]);
  });

  it("follows HANKO_PREFIX and DIRECTUS_PREFIX", () => {
    const patterns = workerFirstPatterns({ HANKO_PREFIX: "/hanko", DIRECTUS_PREFIX: "/cms" });
    for (const p of [
      "/hanko",
      "/hanko/me",
      "/hanko/webauthn/login/finalize",
      "/cms/auth/login",
      "/cms/users/me",
    ])
      expect(runsWorkerFirst(patterns, p), p).toBe(true);
    for (const p of ["/me", "/webauthn/login/finalize", "/directus/auth/login"])
      expect(runsWorkerFirst(patterns, p), p).toBe(false);
    expect(runsWorkerFirst(workerFirstPatterns({}), "/directus/users/me")).toBe(true);
  });

  it("leaves the SPA's own files and client routes to the static assets", () => {
    for (const vars of [{}, { HANKO_PREFIX: "/hanko" }]) {
      const patterns = workerFirstPatterns(vars);
      expect(SPA_FILES.filter((p) => runsWorkerFirst(patterns, p))).toEqual([]);
    }
  });

  it("matches as Cloudflare reads the patterns: * spans segments, /x/* is not /x, ! excludes", () => {
    expect(runsWorkerFirst(["/a/*"], "/a/b/c")).toBe(true);
    expect(runsWorkerFirst(["/a/*"], "/a")).toBe(false);
    expect(runsWorkerFirst(["/a/*"], "/ab")).toBe(false);
    expect(runsWorkerFirst(["/a/*", "!/a/public/*"], "/a/public/x")).toBe(false);
    expect(runsWorkerFirst(["/.well-known/*"], "/x.well-known/y")).toBe(false);
  });

  it("every listed prefix is really the Worker's (none answers the app's generic 404)", async () => {
    const generic = JSON.stringify({ error: "Not Found" });
    const prefixes = workerFirstPatterns({}).filter((p) => !p.endsWith("*") && p !== "/api" && p !== "/_dev");
    for (const p of prefixes) {
      const res = await call(p === "/auth" || p === "/storage" || p === "/directus" ? `${p}/x` : p);
      expect(await res.text(), p).not.toBe(generic);
    }
  });
});
