/** CORS_ORIGINS opens every dialect to browser apps on those origins, and to no other. */
import { describe, expect, it } from "vitest";
import { call, uniqueEmail } from "./support/app";

const APP = "http://localhost:5173";
const vars = { CORS_ORIGINS: APP, AUTO_ACTIVATE_NEW_USERS: "true" };

describe("CORS on the hbp, directus, formauth and vault routes", () => {
  for (const path of [
    "/auth/login",
    "/storage/o/public/x.txt",
    "/directus/auth/login",
    "/api/auth/login",
    "/api/login",
  ]) {
    it(`answers a preflight from a configured origin on ${path}`, async () => {
      const res = await call(path, {
        method: "OPTIONS",
        headers: {
          origin: APP,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
        vars,
      });
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe(APP);
      expect(res.headers.get("access-control-allow-credentials")).toBe("true");
      expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    });
  }

  it("follows DIRECTUS_PREFIX: the configured prefix gets the same CORS", async () => {
    const preflight = (path: string) =>
      call(path, {
        method: "OPTIONS",
        headers: { origin: APP, "access-control-request-method": "POST" },
        vars: { ...vars, DIRECTUS_PREFIX: "/cms" },
      });
    const moved = await preflight("/cms/auth/login");
    expect(moved.status).toBe(204);
    expect(moved.headers.get("access-control-allow-origin")).toBe(APP);
    const login = await call("/cms/auth/login", {
      json: { email: uniqueEmail("cors"), password: "not the password" },
      headers: { origin: APP },
      vars: { ...vars, DIRECTUS_PREFIX: "/cms" },
    });
    expect(login.status).toBe(401);
    expect(login.headers.get("access-control-allow-origin")).toBe(APP);
    expect(login.headers.get("access-control-allow-credentials")).toBe("true");
  });

  it("decorates answers for the configured origin and exposes Retry-After", async () => {
    const email = uniqueEmail("cors");
    const res = await call("/auth/register", {
      json: { email, password: "pw-12345678", cookie: false },
      headers: { origin: APP },
      vars,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(APP);
    expect(res.headers.get("access-control-expose-headers")).toBe("Retry-After, ETag, Content-Disposition");
    expect(res.headers.get("vary")).toContain("Origin");
  });

  it("gives other origins, and every origin when none is configured, no CORS headers", async () => {
    for (const [origin, v] of [
      ["https://evil.example", vars],
      [APP, {}],
    ] as const) {
      const res = await call("/auth/login", {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST" },
        vars: v,
      });
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    }
  });
});
