import { describe, expect, it } from "vitest";
import { call } from "./support/app";

describe("GET /health", () => {
  it("answers 200 with a small JSON body; HEAD with the headers alone", async () => {
    const res = await call("/health");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ status: "ok" });
    const head = await call("/health", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("application/json");
    expect(await head.text()).toBe("");
  });
});
