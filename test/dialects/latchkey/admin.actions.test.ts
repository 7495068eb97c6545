/** Every change made through the admin API is in the audit log, with who made it; reads are not. */
import { describe, expect, it } from "vitest";
import { activeUser } from "../hbp/helpers";
import { acall, adminUser } from "./helpers";

interface AuditEvent {
  type: string;
  user_id: string | null;
  data: Record<string, unknown>;
}

async function eventsOf(userId: string): Promise<AuditEvent[]> {
  const res = await acall(`/v1/admin/audit?user_id=${userId}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: AuditEvent[] }).events;
}

const adminActions = (events: AuditEvent[]) =>
  events
    .filter((e) => e.type === "admin.action")
    .map((e) => ({ actor: e.data.actor, action: e.data.action }))
    .reverse();

describe("admin actions in the audit log", () => {
  it("records each change with its actor (service key or admin user), and no read", async () => {
    const target = await activeUser();
    const admin = await adminUser();
    expect((await acall(`/v1/admin/users/${target.userId}`)).status).toBe(200);
    expect((await acall(`/v1/admin/users/${target.userId}/disable`, { method: "POST" })).status).toBe(204);
    expect(
      (await acall(`/v1/admin/users/${target.userId}/enable`, { method: "POST", token: admin.jwt })).status,
    ).toBe(204);
    const revoke = await acall(`/v1/admin/users/${target.userId}/sessions`, { method: "DELETE" });
    expect(revoke.status).toBe(200);
    expect(adminActions(await eventsOf(target.userId))).toEqual([
      { actor: "service", action: "user.disable" },
      { actor: admin.userId, action: "user.enable" },
      { actor: "service", action: "user.revoke_sessions" },
    ]);
  });

  it("a refused change records nothing", async () => {
    const target = await activeUser();
    const plain = await activeUser();
    const res = await acall(`/v1/admin/users/${target.userId}/disable`, { method: "POST", token: plain.jwt });
    expect(res.status).toBe(403);
    expect(adminActions(await eventsOf(target.userId))).toEqual([]);
  });

  it("a user the admin creates is announced as created", async () => {
    const res = await acall("/v1/admin/users", {
      method: "POST",
      json: { email: `made-${crypto.randomUUID().slice(0, 8)}@example.com`, email_verified: true },
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const events = await eventsOf(id);
    expect(events.map((e) => e.type).sort()).toEqual(["admin.action", "user.created"]);
    expect(adminActions(events)).toEqual([{ actor: "service", action: "user.create" }]);
  });
});
