import { describe, expect, it } from "vitest";
import { AUTO, activeUser, call, login } from "../dialects/hbp/helpers";

const timing = (res: Response) => res.headers.get("server-timing") ?? "";
const trips = (res: Response) => Number(/d1;desc="(\d+) round trips"/.exec(timing(res))?.[1] ?? Number.NaN);

describe("D1/KV meter (outside production)", () => {
  it("reports round trips, rows and KV operations of the request in Server-Timing", async () => {
    const u = await activeUser(AUTO);
    const res = await call("/auth/login", {
      json: { email: u.email, password: "correct horse battery" },
      vars: AUTO,
    });
    expect(res.status).toBe(200);
    console.log(timing(res));
    expect(trips(res)).toBeGreaterThan(0);
    const health = await call("/health");
    expect(trips(health)).toBe(0);
  });
});
