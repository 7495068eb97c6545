import { describe, expect, it } from "vitest";
import { call } from "./support/app";

describe("GET /health", () => {
  it("answers 204 with no body", async () => {
    const res = await call("/health");
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
  });
});
