/// <reference types="vite/client" />
/**
 * The example SPA's development server (scripts/spa.mjs) sends the paths of scripts/spa-routes.mjs
 * to the Worker and everything else to the SPA's files. Every route the Worker serves must be in
 * that list, or `npm run dev` would answer it with the SPA's index.html: the routes are collected
 * from every Hono app that src/dialects exports (a new dialect is checked without editing this file).
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { runsWorkerFirst, workerFirstPatterns } from "../scripts/spa-routes.mjs";
import { HANKO_PATHS } from "../src/dialects/hanko";
import { PAGE_PATHS } from "../src/pages";
import { call } from "./support/app";

const modules = import.meta.glob("../src/dialects/*/index.ts", { eager: true }) as Record<
  string,
  Record<string, unknown>
>;

/** A concrete path for a Hono route pattern (`:param` and `*` filled in). */
const concrete = (pattern: string) => pattern.replace(/:[^/]+/g, "x").replace(/\*/g, "x/y");

/**
 * Every route path of every exported Hono app, and every exported `*_PATHS` list. Directus's
 * routes are relative to DIRECTUS_PREFIX (its `directus` app is a catch-all that dispatches to them).
 */
function workerPaths(): string[] {
  const out = new Set<string>();
  for (const [file, mod] of Object.entries(modules)) {
    const prefix = file.includes("/directus/") ? "/directus" : "";
    for (const [name, value] of Object.entries(mod)) {
      if (value instanceof Hono)
        for (const r of value.routes)
          if (r.path !== "*" && r.path !== "/*") out.add(prefix + concrete(r.path));
      if (name.endsWith("_PATHS") && Array.isArray(value)) for (const p of value) out.add(prefix + p);
    }
  }
  return [...out];
}

const SPA_FILES = ["/", "/index.html", "/app.js", "/style.css", "/app.js.map", "/some/client/route"];

describe("run_worker_first (scripts/spa-routes.mjs)", () => {
  it("sends every route of every dialect to the Worker, but not / (the SPA's)", () => {
    const patterns = workerFirstPatterns({});
    const all = workerPaths().filter((p) => p !== "/");
    // hbp, Hanko, formauth, vault and the /v1 API are all in there.
    for (const p of [
      "/auth/login",
      "/storage/o/x/y",
      "/webauthn/login/finalize",
      "/api/auth/login",
      "/api/login",
    ])
      expect(all).toContain(p);
    expect(all.some((p) => p.startsWith("/v1/"))).toBe(true);
    expect(all.filter((p) => !runsWorkerFirst(patterns, p))).toEqual([]);
    expect(HANKO_PATHS.filter((p) => p !== "/" && !runsWorkerFirst(patterns, p))).toEqual([]);
  });

  it("sends the development routes and Directus (mounted by prefix) to the Worker", () => {
    const patterns = workerFirstPatterns({});
    for (const p of ["/_dev/outbox", "/directus/auth/login", "/directus/users/me", "/health"])
      expect(runsWorkerFirst(patterns, p), p).toBe(true);
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
    // The root paths the dialect keeps under a prefix (the 0.12 SDK builds them from the origin).
    for (const p of ["/thirdparty/auth", "/saml/auth", "/saml/callback"])
      expect(runsWorkerFirst(patterns, p), p).toBe(true);
  });

  it("sends the hosted sign-in pages to the Worker, under PAGES_PREFIX", () => {
    for (const prefix of ["", "/id"]) {
      const patterns = workerFirstPatterns({ PAGES_PREFIX: prefix });
      for (const p of PAGE_PATHS) {
        expect(runsWorkerFirst(patterns, `${prefix}${p}`), p).toBe(true);
        expect(runsWorkerFirst(patterns, `${prefix}${p}/x`), p).toBe(true);
      }
    }
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
      const res = await call(["/auth", "/storage", "/directus", "/v1"].includes(p) ? `${p}/x` : p);
      expect(await res.text(), p).not.toBe(generic);
    }
  });
});
