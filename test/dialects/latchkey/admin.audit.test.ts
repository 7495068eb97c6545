/** GET /v1/admin/audit: admin only, by user and time, newest first, cursor pages. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call } from "../../support/app";
import { activeUser, PASSWORD } from "../hbp/helpers";

const KEY = "k".repeat(43);
// ADMIN_ROLE is off by default: the admin-user case names it.
const vars = { ADMIN_API_KEY: KEY, ADMIN_ROLE: "admin" };
const get = (query: string, token = KEY) => call(`/v1/admin/audit${query}`, { token, vars });

interface Page {
  events: {
    id: string;
    type: string;
    at: string;
    user_id: string | null;
    ip: string;
    data: Record<string, unknown>;
  }[];
  next_cursor: string | null;
}

describe("GET /v1/admin/audit", () => {
  it("refuses without a credential (401) and to a user who is not an admin (403)", async () => {
    const s = await activeUser();
    const none = await call("/v1/admin/audit", { vars });
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: { code: "UNAUTHENTICATED", message: expect.any(String) } });
    const user = await get(`?user_id=${s.userId}`, s.jwt);
    expect(user.status).toBe(403);
    expect(((await user.json()) as { error: { code: string } }).error.code).toBe("FORBIDDEN");
    expect((await get("", `${KEY.slice(1)}x`)).status).toBe(401);
  });

  it("answers a user's events newest first, a page at a time, to the service key and to an admin user", async () => {
    const s = await activeUser();
    for (let i = 0; i < 2; i++)
      await call("/auth/login", {
        json: { email: s.email, password: PASSWORD, cookie: false },
        ip: `203.0.113.${i + 1}`,
      });
    await call("/auth/login", { json: { email: s.email, password: "not the password" } });
    const all = (await (await get(`?user_id=${s.userId}`)).json()) as Page;
    // The sign-up and its first session share a millisecond: the same instant is ordered by id.
    expect(all.events[0]!.type).toBe("sign_in.failed");
    expect(all.events.map((e) => e.type).sort()).toEqual([
      "sign_in.failed",
      "sign_in.succeeded",
      "sign_in.succeeded",
      "sign_in.succeeded",
      "user.created",
    ]);
    expect(all.events).toHaveLength(5);
    expect(all.next_cursor).toBeNull();
    expect(all.events[0]).toMatchObject({ user_id: s.userId, data: { reason: "wrong_password" } });
    expect(all.events.map((e) => e.at)).toEqual([...all.events.map((e) => e.at)].sort().reverse());

    const walked: string[] = [];
    let cursor = "";
    for (let pages = 0; pages < 10; pages++) {
      const page = (await (await get(`?user_id=${s.userId}&limit=2${cursor}`)).json()) as Page;
      walked.push(...page.events.map((e) => e.id));
      if (!page.next_cursor) break;
      cursor = `&cursor=${page.next_cursor}`;
    }
    expect(walked).toEqual(all.events.map((e) => e.id));

    // An admin user (ADMIN_ROLE among the roles D1 holds) may read it too.
    const admin = await activeUser();
    await env.DB.prepare(`UPDATE users SET allowed_roles = '["user","admin"]' WHERE id = ?`)
      .bind(admin.userId)
      .run();
    const byAdmin = await get(`?user_id=${s.userId}`, admin.jwt);
    expect(byAdmin.status, await byAdmin.clone().text()).toBe(200);
    expect(((await byAdmin.json()) as Page).events).toHaveLength(5);
  });

  it("bounds by since (inclusive) and until (exclusive), as ISO 8601 or epoch milliseconds", async () => {
    const s = await activeUser();
    const all = (await (await get(`?user_id=${s.userId}`)).json()) as Page;
    const created = all.events.find((e) => e.type === "user.created")!;
    const at = Date.parse(created.at);
    const from = (await (await get(`?user_id=${s.userId}&since=${at}&until=${at + 1}`)).json()) as Page;
    expect(from.events.map((e) => e.id)).toContain(created.id);
    const before = (await (
      await get(`?user_id=${s.userId}&until=${encodeURIComponent(created.at)}`)
    ).json()) as Page;
    expect(before.events).toEqual([]);
  });

  it("answers 400 for a bad cursor, time or limit", async () => {
    for (const q of ["?cursor=bogus", "?since=yesterday", "?limit=0", "?limit=1000", "?user_id=nope"]) {
      const res = await get(q);
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code, q).toBe("INVALID_REQUEST");
    }
  });
});
