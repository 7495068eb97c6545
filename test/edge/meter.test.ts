/** The development D1/KV meter (src/lib/meter.ts): what it reports, its fault switch, and that production has none. */
import { describe, expect, it } from "vitest";
import { AUTO, activeUser, call, PASSWORD } from "../dialects/hbp/helpers";
import { measured } from "../support/meter";

const PRODUCTION = {
  ENVIRONMENT: "production",
  PUBLIC_URL: "https://auth.example.com",
  LATCHKEY_SECRET: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
  JWT_PRIVATE_KEYS: '{"keys":[{"kty":"EC","kid":"k1","alg":"ES256"}]}',
  MAIL_TRANSPORT: "http",
  MAIL_HTTP_KEY: "key",
  TURNSTILE_SECRET_KEY: "key",
};

describe("D1/KV meter (outside production)", () => {
  it("reports the request's D1 round trips, rows and KV operations in Server-Timing", async () => {
    const u = await activeUser(AUTO);
    const res = await call("/auth/login", { json: { email: u.email, password: PASSWORD, cookie: false } });
    expect(res.status).toBe(200);
    const m = measured(res);
    expect(m.d1).toBeGreaterThan(0);
    expect(m.rowsWritten).toBeGreaterThan(0);
    expect(Number.isInteger(m.kvReads) && Number.isInteger(m.kvWrites)).toBe(true);
    expect(measured(await call("/health"))).toEqual({
      d1: 0,
      rowsRead: 0,
      rowsWritten: 0,
      kvReads: 0,
      kvWrites: 0,
      r2: 0,
    });
  });

  it("X-Dev-D1-Fail fails the chosen round trip: nothing after it runs", async () => {
    const u = await activeUser(AUTO);
    const ok = await call("/auth/login", { json: { email: u.email, password: PASSWORD, cookie: false } });
    const trips = measured(ok).d1;
    const failed = await call("/auth/login", {
      json: { email: u.email, password: PASSWORD, cookie: false },
      headers: { "x-dev-d1-fail": "1" },
    });
    // D1 unreachable: the dialect's 503 with Retry-After, not a 500.
    expect(failed.status).toBe(503);
    expect(failed.headers.get("retry-after")).toBe("1");
    expect(await failed.json()).toEqual({
      statusCode: 503,
      error: "Service Unavailable",
      message: "The server is busy. Try again.",
    });
    expect(measured(failed).d1).toBe(1);
    const all = await call("/auth/login", {
      json: { email: u.email, password: PASSWORD, cookie: false },
      headers: { "x-dev-d1-fail": "all" },
    });
    expect(all.status).toBe(503);
    expect(measured(all).d1).toBe(1);
    expect(trips).toBeGreaterThan(1);
  });

  it("is not installed in production: no Server-Timing, the fault header is ignored", async () => {
    const res = await call("/health", { vars: PRODUCTION, headers: { "x-dev-d1-fail": "all" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("server-timing")).toBeNull();
  });

  it("DEV_D1_RTT_MS is refused in production", async () => {
    const res = await call("/health", { vars: { ...PRODUCTION, DEV_D1_RTT_MS: "80" } });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      error: "Configuration error: DEV_D1_RTT_MS: development only; unset it in production",
    });
  });
});
