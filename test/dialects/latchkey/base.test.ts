/** The /v1 base: its error body, its OpenAPI document, and who the admin guard lets through. */
import { describe, expect, it } from "vitest";
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
