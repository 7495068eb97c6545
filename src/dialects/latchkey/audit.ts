/**
 * GET /v1/admin/audit: the audit log (core/events/audit.ts) by user and time, newest first, a page
 * at a time (`next_cursor` continues it). Admin only: the service key or a user holding ADMIN_ROLE.
 */
import { Hono } from "hono";
import { z } from "zod";
import { AUDIT_PAGE_MAX, type AuditEntry } from "../../core/events/audit";
import { op } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import { adminOnly } from "./auth";

/** A point in time: an ISO 8601 date-time, or milliseconds since the epoch. */
const instant = z
  .string()
  .refine((v) => /^\d{1,15}$/.test(v) || (/^\d{4}-\d\d-\d\dT/.test(v) && !Number.isNaN(Date.parse(v))), {
    message: "must be an ISO 8601 date-time or milliseconds since the epoch",
  })
  .transform((v) => (/^\d+$/.test(v) ? Number(v) : Date.parse(v)));

const query = z.object({
  user_id: z.uuid().optional(),
  since: instant.optional().describe("Inclusive lower bound (ISO 8601 or epoch ms)."),
  until: instant.optional().describe("Exclusive upper bound (ISO 8601 or epoch ms)."),
  cursor: z.string().max(200).optional().describe("next_cursor of the previous page."),
  limit: z.coerce.number().int().min(1).max(AUDIT_PAGE_MAX).optional(),
});

const event = z.object({
  id: z.string(),
  type: z.string(),
  at: z.string().describe("ISO 8601"),
  user_id: z.string().nullable(),
  subject_hash: z.string().nullable().describe("Keyed hash of the identifier tried, for unknown accounts."),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
});

const listAudit = op({
  summary: "Audit log by user and time, newest first",
  description:
    "Sign-ins and their failures (with reason), sign-ups, token reuse, revoked sessions, password, email, MFA and passkey changes, lockouts, deletions and admin actions. Kept AUDIT_RETENTION_DAYS days.",
  query,
  auth: ["serviceKey", "bearer"],
  responses: {
    200: {
      description: "A page of events",
      body: z.object({ events: z.array(event), next_cursor: z.string().nullable() }),
    },
    400: "A bad parameter or cursor",
    401: "No or an invalid credential",
    403: "Not an admin",
  },
});

const present = (e: AuditEntry) => ({
  id: e.id,
  type: e.type,
  at: new Date(e.at).toISOString(),
  user_id: e.userId,
  subject_hash: e.subjectHash,
  ip: e.ip,
  user_agent: e.userAgent,
  data: e.data,
});

export const audit = new Hono<AppEnv>();

audit.get("/admin/audit", listAudit, adminOnly, async (c) => {
  const q = listAudit.query(c);
  const page = await c.var.services.audit.query({
    userId: q.user_id,
    since: q.since,
    until: q.until,
    cursor: q.cursor,
    limit: q.limit,
  });
  return c.json({ events: page.events.map(present), next_cursor: page.nextCursor });
});
