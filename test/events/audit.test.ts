/**
 * The audit log (src/core/events): what the core services record, after the response and in one
 * batch, who it names (a keyed hash for unknown accounts, never the address), reading it back by
 * user and time with a cursor, and the retention purge of the scheduled handler.
 */
import {
  createExecutionContext,
  createScheduledController,
  env,
  waitOnExecutionContext,
} from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { createAuditLog } from "../../src/core/events/audit";
import { createAuditStore } from "../../src/core/events/audit.store";
import type { RecordedEvent } from "../../src/core/events/events";
import { createDb } from "../../src/db/client";
import { createWorker } from "../../src/worker";
import { activeUser, PASSWORD } from "../dialects/hbp/helpers";
import { call, uniqueEmail } from "../support/app";
import { testClock } from "../support/clock";

interface Row {
  id: string;
  at: number;
  type: string;
  user_id: string | null;
  subject_hash: string | null;
  ip: string | null;
  user_agent: string | null;
  data: string;
}

const rowsOf = async (where: string, ...args: unknown[]) =>
  (
    await env.DB.prepare(`SELECT * FROM audit_events WHERE ${where} ORDER BY at, type`)
      .bind(...args)
      .all<Row>()
  ).results;

const typesOf = async (userId: string) => (await rowsOf("user_id = ?", userId)).map((r) => r.type);

describe("audit events from the core services", () => {
  it("records a sign-up and a sign-in with when, IP, user agent and the session, no secret", async () => {
    const s = await activeUser();
    const res = await call("/auth/login", {
      json: { email: s.email, password: PASSWORD, cookie: false },
      ip: "203.0.113.7",
      headers: { "user-agent": "AuditTest/1.0" },
    });
    expect(res.status).toBe(200);
    const rows = await rowsOf("user_id = ? AND ip = ?", s.userId, "203.0.113.7");
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row).toMatchObject({ type: "sign_in.succeeded", user_agent: "AuditTest/1.0", subject_hash: null });
    expect(JSON.parse(row.data)).toEqual({ sessionId: expect.any(String), methods: ["pwd"] });
    expect(await typesOf(s.userId)).toEqual(
      expect.arrayContaining(["user.created", "sign_in.succeeded", "sign_in.succeeded"]),
    );
    const all = JSON.stringify(await rowsOf("user_id = ?", s.userId));
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(s.email);
    expect(all).not.toContain(s.refresh);
  });

  it("records a wrong password with its reason, and an unknown address only as a keyed hash", async () => {
    const s = await activeUser();
    const ip = `192.0.2.${Math.floor(Math.random() * 200)}-${crypto.randomUUID().slice(0, 6)}`;
    expect(
      (await call("/auth/login", { json: { email: s.email, password: "wrong password!" }, ip })).status,
    ).toBe(401);
    const [wrong] = await rowsOf("user_id = ? AND type = 'sign_in.failed'", s.userId);
    expect(JSON.parse(wrong!.data)).toEqual({ reason: "wrong_password" });

    const ghost = uniqueEmail("ghost");
    for (const variant of [ghost, ghost.toUpperCase()])
      expect(
        (await call("/auth/login", { json: { email: variant, password: "whatever123" }, ip })).status,
      ).toBe(401);
    const unknown = await rowsOf("ip = ? AND user_id IS NULL", ip);
    expect(unknown).toHaveLength(2);
    expect(unknown.map((r) => JSON.parse(r.data))).toEqual([
      { reason: "unknown_account" },
      { reason: "unknown_account" },
    ]);
    // The same address (however it is typed) gives the same hash, and the address is nowhere.
    expect(unknown[0]!.subject_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(unknown[1]!.subject_hash).toBe(unknown[0]!.subject_hash);
    expect(JSON.stringify(unknown).toLowerCase()).not.toContain(ghost.split("@")[0]);
  });

  it("records the lockout once, and the refused attempts as failures of reason locked", async () => {
    const vars = { ACCOUNT_MAX_FAILURES: "2" };
    const s = await activeUser(vars);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push(
        (await call("/auth/login", { json: { email: s.email, password: "wrong password!" }, vars })).status,
      );
    expect(statuses).toEqual([401, 401, 429, 429]);
    const failures = (await rowsOf("user_id = ? AND type = 'sign_in.failed'", s.userId)).map(
      (r) => JSON.parse(r.data).reason,
    );
    expect(failures).toEqual(["wrong_password", "wrong_password", "locked", "locked"]);
    const locks = await rowsOf("user_id = ? AND type = 'account.locked'", s.userId);
    expect(locks).toHaveLength(1);
    expect(JSON.parse(locks[0]!.data).until).toBeGreaterThan(locks[0]!.at);
  });

  it("records token reuse and the session it ended", async () => {
    const vars = { REFRESH_REUSE_GRACE: "0" };
    const s = await activeUser(vars);
    expect((await call(`/auth/token/refresh?refresh_token=${s.refresh}`, { vars })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 5));
    expect((await call(`/auth/token/refresh?refresh_token=${s.refresh}`, { vars })).status).toBe(401);
    const reuse = await rowsOf(
      "user_id = ? AND type IN ('token.reuse_detected', 'session.revoked')",
      s.userId,
    );
    expect(reuse.map((r) => [r.type, JSON.parse(r.data)])).toEqual([
      ["session.revoked", { sessionId: expect.any(String), reason: "reuse" }],
      ["token.reuse_detected", { sessionId: expect.any(String) }],
    ]);
  });

  it("records a password change and the other sessions it ended", async () => {
    const s = await activeUser();
    expect(
      (await call("/auth/login", { json: { email: s.email, password: PASSWORD, cookie: false } })).status,
    ).toBe(200);
    const res = await call("/auth/change-password", {
      json: { old_password: PASSWORD, new_password: "another good password" },
      token: s.jwt,
    });
    expect(res.status).toBe(204);
    const rows = await rowsOf("user_id = ? AND type IN ('password.changed', 'session.revoked')", s.userId);
    expect(rows.map((r) => [r.type, JSON.parse(r.data)])).toEqual([
      ["password.changed", { via: "change" }],
      ["session.revoked", { sessionId: expect.any(String), reason: "security_change" }],
    ]);
  });

  it("writes nothing with AUDIT_LOG_ENABLED=false", async () => {
    const s = await activeUser({ AUDIT_LOG_ENABLED: "false" });
    await call("/auth/login", {
      json: { email: s.email, password: PASSWORD },
      vars: { AUDIT_LOG_ENABLED: "false" },
    });
    expect(await rowsOf("user_id = ?", s.userId)).toEqual([]);
  });

  it("records a self-deletion", async () => {
    const vars = { ALLOW_USER_SELF_DELETE: "true" };
    const s = await activeUser(vars);
    expect((await call("/auth/delete", { method: "POST", token: s.jwt, vars })).status).toBe(204);
    expect(await typesOf(s.userId)).toContain("user.deleted");
  });
});

const event = (over: Partial<RecordedEvent>): RecordedEvent => ({
  id: crypto.randomUUID(),
  type: "sign_in.succeeded",
  at: 0,
  userId: null,
  subjectHash: null,
  ip: null,
  userAgent: null,
  data: {},
  ...over,
});

describe("audit log reads and writes", () => {
  const db = createDb(env.DB);
  const store = createAuditStore(db);

  it("pages a user's events newest first between since and until, with an opaque cursor", async () => {
    const user = crypto.randomUUID();
    const base = 1_800_000_000_000;
    // Five events, two of them at the same millisecond (the cursor orders them by id).
    await store.insert(
      [0, 1, 1, 2, 3].map((d, i) => event({ userId: user, at: base + d * 1000, data: { i } })),
    );
    await store.insert([event({ userId: crypto.randomUUID(), at: base + 1000 })]);
    const log = createAuditLog({ store, clock: testClock(base), retentionDays: 90 });
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await log.query({
        userId: user,
        since: base + 1000,
        until: base + 3000,
        cursor,
        limit: 2,
      });
      seen.push(...page.events.map((e) => e.data.i as number));
      expect(page.events.every((e) => e.userId === user)).toBe(true);
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    // since is inclusive, until exclusive: the events at +1 s (two) and +2 s.
    expect(seen.sort()).toEqual([1, 2, 3]);
    expect(pages).toBe(2);
    const all = await log.query({ userId: user });
    expect(all.events.map((e) => e.at)).toEqual([3, 2, 1, 1, 0].map((d) => base + d * 1000));
    await expect(log.query({ userId: user, cursor: "not-a-cursor" })).rejects.toMatchObject({
      code: "INVALID_REQUEST",
    });
    await expect(log.query({ userId: user, limit: 0 })).rejects.toMatchObject({ code: "INVALID_REQUEST" });
  });

  it("logs a failed write and never throws it to the request", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const failing = { ...store, insert: () => Promise.reject(new Error("D1_ERROR: no such table")) };
    const log = createAuditLog({ store: failing, clock: testClock(0), retentionDays: 90 });
    await expect(log.sink([event({})])).resolves.toBeUndefined();
    expect(errors.mock.calls.map((c) => String(c[0])).join("\n")).toContain("audit write failed");
    errors.mockRestore();
  });

  it("is purged past AUDIT_RETENTION_DAYS by the scheduled handler", async () => {
    const now = 1_950_000_000_000;
    const user = crypto.randomUUID();
    const DAY = 86_400_000;
    await store.insert([
      event({ userId: user, at: now - 10 * DAY - 1, data: { keep: false } }),
      event({ userId: user, at: now - 10 * DAY + 1000, data: { keep: true } }),
    ]);
    const worker = createWorker(testClock(now));
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController(), { ...env, AUDIT_RETENTION_DAYS: "10" } as never, ctx);
    await waitOnExecutionContext(ctx);
    expect((await rowsOf("user_id = ?", user)).map((r) => JSON.parse(r.data))).toEqual([{ keep: true }]);
  });
});
