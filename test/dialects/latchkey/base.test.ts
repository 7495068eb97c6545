/** The /v1 base: its error body, its OpenAPI document, and who the admin guard lets through. */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/config";
import { call } from "../../support/app";

describe("/v1", () => {
  it("answers unknown paths with the API's error body", async () => {
    const res = await call("/v1/nothing-here");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "NOT_FOUND", message: "Not found." } });
  });

  it("serves its OpenAPI 3.1 document", async () => {
    const res = await call("/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\.1/);
    expect(Object.keys(doc.paths)).toContain("/v1/openapi.json");
  });
});

const cfg = (vars: Record<string, string>) => parseConfig({ ENVIRONMENT: "test", ...vars });

describe("ADMIN_ROLE and ADMIN_API_KEY", () => {
  it("ADMIN_ROLE may not be a role registration can give", () => {
    expect(() => cfg({ ADMIN_ROLE: "editor", ALLOWED_USER_ROLES: "user,me,editor" })).toThrowError(
      /^ADMIN_ROLE:/,
    );
    expect(() => cfg({ ADMIN_ROLE: "user" })).toThrowError(/^ADMIN_ROLE:/);
    expect(cfg({ ADMIN_ROLE: "admin" }).admin.role).toBe("admin");
    // Off by default: a deployment whose users may register as "admin" keeps working.
    expect(cfg({ ALLOWED_USER_ROLES: "user,me,admin" }).admin.role).toBe("");
  });
  it("ADMIN_API_KEY must be a strong secret, and is never echoed", () => {
    expect(() => cfg({ ADMIN_API_KEY: "short-key" })).toThrowError(/^ADMIN_API_KEY:/);
    try {
      cfg({ ADMIN_API_KEY: "short-key" });
    } catch (e) {
      expect(String(e)).not.toContain("short-key");
    }
    const key = "k".repeat(43);
    expect(cfg({ ADMIN_API_KEY: key }).admin.apiKey).toBe(key);
  });
});
