/**
 * Observability (src/dialects/shared/log.ts): one JSON line per request with the matched route
 * pattern, status, duration, D1 round trips and user id; an unexpected error is logged with the
 * same request id; no token, password, address or query string ever reaches a line.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { activeUser, PASSWORD } from "./dialects/hbp/helpers";
import { call, uniqueEmail } from "./support/app";

afterEach(() => vi.restoreAllMocks());

/** Runs `fn`, returning every console line it wrote (the request lines parsed). */
async function captured(fn: () => Promise<unknown>) {
  const lines: string[] = [];
  const keep = (...args: unknown[]) =>
    void lines.push(args.map((a) => (a instanceof Error ? `${a.message}\n${a.stack}` : String(a))).join(" "));
  for (const level of ["log", "error", "warn", "info", "debug"] as const)
    vi.spyOn(console, level).mockImplementation(keep);
  await fn();
  vi.restoreAllMocks();
  const requests = lines.filter((l) => l.startsWith('{"msg":"request"')).map((l) => JSON.parse(l));
  return { lines, requests };
}

describe("the request log", () => {
  it("writes one line per request: id, method, route pattern, status, duration, D1 round trips, user", async () => {
    const s = await activeUser();
    const { requests } = await captured(() =>
      call("/auth/login", {
        json: { email: s.email, password: PASSWORD, cookie: false },
        headers: { "cf-ray": "8f1e2d3c4b5a6978-AMS" },
      }),
    );
    expect(requests).toEqual([
      {
        msg: "request",
        id: "8f1e2d3c4b5a6978-AMS",
        method: "POST",
        route: "/auth/login",
        status: 200,
        ms: expect.any(Number),
        d1: expect.any(Number),
        user: s.userId,
      },
    ]);
    expect(requests[0].d1).toBeGreaterThan(0);
  });

  it("never writes a token, password, address or query string, whatever the request carries", async () => {
    const s = await activeUser();
    const secretPassword = "hunter2-but-longer-and-secret";
    const newEmail = uniqueEmail("logged");
    const { lines, requests } = await captured(async () => {
      // The refresh token in the query string and the path, a bearer token, a cookie, a password and addresses in bodies.
      await call(`/auth/token/refresh?refresh_token=${s.refresh}`, {
        headers: { cookie: `refresh_token=${s.refresh}` },
      });
      await call("/auth/login", { json: { email: s.email, password: secretPassword, cookie: false } });
      await call("/auth/change-password", {
        json: { old_password: secretPassword, new_password: secretPassword },
        token: s.jwt,
      });
      await call("/auth/change-email/request", { json: { new_email: newEmail }, token: s.jwt });
      await call(`/auth/activate?ticket=${s.refresh}`);
      await call(`/storage/o/user/${s.userId}/${s.refresh}.txt?token=${s.refresh}`, { token: s.jwt });
    });
    expect(requests.map((r) => [r.method, r.route])).toEqual([
      ["GET", "/auth/token/refresh"],
      ["POST", "/auth/login"],
      ["POST", "/auth/change-password"],
      ["POST", "/auth/change-email/request"],
      ["GET", "/auth/activate"],
      ["GET", "/storage/o/*"],
    ]);
    const all = lines.join("\n");
    for (const secret of [
      s.refresh,
      s.jwt,
      secretPassword,
      PASSWORD,
      s.email,
      newEmail,
      "refresh_token=",
      "?",
    ])
      expect(all).not.toContain(secret);
  });

  it("logs an unexpected error under the request's id", async () => {
    const { lines, requests } = await captured(() =>
      call("/auth/login", {
        json: { email: uniqueEmail(), password: PASSWORD },
        // Outside production the meter fails the request's first D1 round trip.
        headers: { "x-dev-d1-fail": "1", "cf-ray": "7a7a7a7a7a7a7a7a-FRA" },
      }),
    );
    expect(requests).toEqual([
      expect.objectContaining({ id: "7a7a7a7a7a7a7a7a-FRA", status: 503, route: "/auth/login" }),
    ]);
    const errors = lines.filter((l) => l.startsWith('{"msg":"error"')).map((l) => JSON.parse(l));
    expect(errors).toEqual([
      expect.objectContaining({
        id: "7a7a7a7a7a7a7a7a-FRA",
        route: "/auth/login",
        error: expect.stringContaining("Network connection lost"),
      }),
    ]);
  });

  it("gives each request its own id when no cf-ray came", async () => {
    const { requests } = await captured(async () => {
      await call("/health");
      await call("/health");
    });
    expect(requests).toHaveLength(2);
    expect(requests[0].id).toMatch(/^[0-9a-f-]{36}$/);
    expect(requests[1].id).not.toBe(requests[0].id);
    expect(requests[0]).not.toHaveProperty("user");
  });
});
