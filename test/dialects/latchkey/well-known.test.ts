/**
 * GET /.well-known/webauthn (WebAuthn Level 3, related origin requests) from WEBAUTHN_RELATED_ORIGINS,
 * and that variable's checks at start-up.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../../src/config";
import { call, json } from "../hbp/helpers";

const RELATED = {
  WEBAUTHN_RELATED_ORIGINS: "https://example.co.uk, https://shop.example.de/,https://example.co.uk",
};

describe("GET /.well-known/webauthn", () => {
  it("answers the configured origins, deduplicated, cacheable", async () => {
    const res = await call("/.well-known/webauthn", { vars: RELATED });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("cache-control")).toBe("public, max-age=3600");
    expect(await json(res)).toEqual({ origins: ["https://example.co.uk", "https://shop.example.de"] });
  });

  it("is there whatever DIALECTS says (Hanko owns the rest of /.well-known)", async () => {
    const res = await call("/.well-known/webauthn", { vars: { ...RELATED, DIALECTS: "hbp" } });
    expect(res.status).toBe(200);
    expect((await json(res)).origins).toHaveLength(2);
  });

  it("answers 404 when WEBAUTHN_RELATED_ORIGINS is unset", async () => {
    expect((await call("/.well-known/webauthn")).status).toBe(404);
    expect((await call("/.well-known/webauthn", { vars: { DIALECTS: "hbp" } })).status).toBe(404);
  });
});

describe("WEBAUTHN_RELATED_ORIGINS", () => {
  const parse = (v: string) => parseConfig({ ENVIRONMENT: "test", WEBAUTHN_RELATED_ORIGINS: v });

  it("takes https origins, and accepts their WebAuthn responses besides WEBAUTHN_ORIGINS'", () => {
    const { webauthn } = parse("https://example.co.uk,https://b.example.net:8443");
    expect(webauthn.relatedOrigins).toEqual(["https://example.co.uk", "https://b.example.net:8443"]);
    expect(webauthn.origins).toEqual([
      "http://localhost:8787",
      "https://example.co.uk",
      "https://b.example.net:8443",
    ]);
    expect(parseConfig({ ENVIRONMENT: "test" }).webauthn.relatedOrigins).toEqual([]);
  });

  it.each([
    "http://example.co.uk",
    "https://example.co.uk/login",
    "https://example.co.uk/?a=1",
    "https://example.co.uk/#x",
    "https://user:pw@example.co.uk",
    "example.co.uk",
    "*.example.co.uk",
  ])("refuses %s at start, naming the key", (v) => {
    expect(() => parse(v)).toThrowError(ConfigError);
    expect(() => parse(v)).toThrowError(/^WEBAUTHN_RELATED_ORIGINS: must be https origins/);
  });
});
