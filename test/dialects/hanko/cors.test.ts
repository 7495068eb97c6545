import { describe, expect, it } from "vitest";
import { call } from "../../support/app";
import { OPEN, signUp } from "./support";

const APP = "http://localhost:5173";
const vars = { ...OPEN, CORS_ORIGINS: APP };

describe("hanko: CORS", () => {
  it("answers a preflight from a configured origin, with credentials", async () => {
    const res = await call("/passcode/login/initialize", {
      method: "OPTIONS",
      headers: {
        origin: APP,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,authorization",
      },
      vars,
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(APP);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("access-control-allow-headers")).toBe("Content-Type, Authorization, Accept");
    expect(res.headers.get("access-control-allow-methods")).toContain("PATCH");
    expect(res.headers.get("vary")).toContain("Origin");
  });

  it("exposes the session headers to the page", async () => {
    const res = await call("/users", {
      json: { email: `cors-${crypto.randomUUID().slice(0, 8)}@example.com` },
      headers: { origin: APP },
      vars,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(APP);
    expect(res.headers.get("access-control-expose-headers")).toBe(
      "X-Auth-Token, X-Session-Lifetime, Retry-After",
    );
  });

  it("gives other origins no CORS headers, on errors too", async () => {
    const { token } = await signUp();
    for (const res of [
      await call("/me", { token, headers: { origin: "https://evil.example" }, vars }),
      await call("/me", { headers: { origin: "https://evil.example" }, vars }),
      await call("/me", {
        method: "OPTIONS",
        headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
        vars,
      }),
    ]) {
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    }
    const err = await call("/me", { headers: { origin: APP }, vars });
    expect(err.status).toBe(401);
    expect(err.headers.get("access-control-allow-origin")).toBe(APP);
  });

  it("leaves other dialects' paths to the shared CORS, without hanko's session headers", async () => {
    const res = await call("/auth/jwks", { headers: { origin: APP }, vars });
    expect(res.headers.get("access-control-allow-origin")).toBe(APP);
    expect(res.headers.get("access-control-expose-headers")).not.toContain("X-Auth-Token");
  });
});
