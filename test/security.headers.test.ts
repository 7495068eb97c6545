/**
 * Headers every answer carries, whatever the dialect, status or route: Referrer-Policy:
 * no-referrer (the activation redirect carries a refresh token in its URL, as api/hbp.txt requires,
 * so no page reached from here may learn it), X-Content-Type-Options and a Cache-Control.
 */
import { describe, expect, it } from "vitest";
import { call } from "./support/app";

describe("Referrer-Policy: no-referrer on every response", () => {
  const cases: [string, Parameters<typeof call>[1]][] = [
    ["/health", {}],
    ["/auth/jwks", {}],
    ["/auth/login", { json: {} }],
    ["/auth/activate?ticket=nope", { vars: { REDIRECT_URL_ERROR: "https://app.example.com/oops" } }],
    ["/auth/activate?ticket=nope", {}],
    ["/auth/nowhere", {}],
    ["/storage/o/public/missing.txt", {}],
    ["/me", {}],
    ["/", {}],
    ["/.well-known/jwks.json", {}],
    ["/directus/auth/login", { json: {} }],
    ["/directus/users/me", {}],
    ["/api/auth/login", { form: {} }],
    ["/api/auth/confirm?token=x", {}],
    ["/api/login", { json: {} }],
    ["/api/verify-email/nope", { method: "HEAD" }],
    ["/no/such/route", {}],
    ["/_dev/outbox?to=x@example.com", {}],
  ];
  for (const [path, opts] of cases)
    it(`${opts?.method ?? (opts?.json || opts?.form ? "POST" : "GET")} ${path}`, async () => {
      const res = await call(path, opts);
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    });
});
