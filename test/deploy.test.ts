/**
 * Deploy safety through the real Worker entry: a production configuration with a development value
 * left answers 500 naming the key and why (never the value), and /_dev/* answers only in
 * development and only to a loopback host.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { call, TEST_VARS } from "./support/app";

async function fetchAt(url: string, vars: Record<string, string>): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(url), { ...env, ...TEST_VARS, ...vars } as never, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("production configuration through the Worker", () => {
  it("answers 500 naming the key and why, for /health too, and never the value", async () => {
    const secret = "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3QtbGVhaw";
    const res = await call("/health", {
      vars: { ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com", LATCHKEY_SECRET: secret },
    });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: string };
    expect(body).toEqual({
      error: "Configuration error: JWT_PRIVATE_KEYS: required in production (npm run keys makes a key set)",
    });
    expect(JSON.stringify(body)).not.toContain(secret);
  });

  it("refuses the outbox in production", async () => {
    const res = await call("/health", {
      vars: {
        ENVIRONMENT: "production",
        PUBLIC_URL: "https://auth.example.com",
        LATCHKEY_SECRET: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        JWT_PRIVATE_KEYS: '{"keys":[{"kty":"EC","kid":"k1","alg":"ES256"}]}',
        MAIL_TRANSPORT: "outbox",
      },
    });
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: string }).error).toMatch(
      /^Configuration error: MAIL_TRANSPORT: outbox keeps mail in D1/,
    );
  });
});

describe("/_dev/*", () => {
  const outbox = "/_dev/outbox?to=someone%40example.com";

  it("serves the outbox in development to a loopback host", async () => {
    for (const host of ["http://localhost:8787", "http://127.0.0.1:8787", "http://[::1]:8787"]) {
      const res = await fetchAt(`${host}${outbox}`, { ENVIRONMENT: "development" });
      expect(res.status, host).toBe(200);
      expect(await res.json()).toEqual([]);
    }
  });

  it("is 404 in development for any other host", async () => {
    for (const host of [
      "https://auth.example.com",
      "http://192.0.2.10:8787",
      "http://latchkey.workers.dev",
    ]) {
      const res = await fetchAt(`${host}${outbox}`, { ENVIRONMENT: "development" });
      expect(res.status, host).toBe(404);
    }
  });

  it("is 404 outside development, even on localhost", async () => {
    expect((await fetchAt(`http://localhost:8787${outbox}`, { ENVIRONMENT: "test" })).status).toBe(404);
    const production = {
      ENVIRONMENT: "production",
      PUBLIC_URL: "https://auth.example.com",
      LATCHKEY_SECRET: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
      JWT_PRIVATE_KEYS: '{"keys":[{"kty":"EC","kid":"k1","alg":"ES256"}]}',
      MAIL_TRANSPORT: "http",
      MAIL_HTTP_KEY: "key",
      TURNSTILE_SECRET_KEY: "key",
    };
    const res = await fetchAt(`http://localhost:8787${outbox}`, production);
    expect(res.status).toBe(404);
  });
});
