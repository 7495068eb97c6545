/**
 * The signed-in user's own account security at /v1: TOTP recovery codes and sessions.
 * Every route needs a bearer access token from any dialect (auth.ts requireUser).
 */
import { Hono } from "hono";
import { z } from "zod";
import { describeClient } from "../../core/accounts/notices";
import { describeDevice } from "../../core/sessions/device";
import { authenticateBearer, bearerToken } from "../shared/http";
import { limit } from "../shared/kit";
import { op } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import { requireUser } from "./auth";

export const account = new Hono<AppEnv>();

const remainingBody = z.object({ remaining: z.number().int() });
const codesBody = z.object({ codes: z.array(z.string()), remaining: z.number().int() });

const getRecoveryCodes = op({
  summary: "How many of my TOTP recovery codes are left unused",
  auth: ["bearer"],
  responses: {
    200: { description: "The count (0 without codes)", body: remainingBody },
    401: "No live access token",
  },
});

account.get("/mfa/recovery-codes", getRecoveryCodes, async (c) => {
  const { userId } = await requireUser(c);
  return c.json({ remaining: await c.var.services.recoveryCodes.remaining(userId) });
});

const newRecoveryCodes = op({
  summary: "A new set of 10 TOTP recovery codes, shown once; the old set stops working",
  description:
    "Needs TOTP on and a current TOTP code (a fresh second factor). Each code signs in once wherever a TOTP code is asked for.",
  body: z.object({ code: z.string().regex(/^\d{6}$/, "must be a 6-digit TOTP code") }),
  auth: ["bearer"],
  responses: {
    200: { description: "The new codes", body: codesBody },
    400: "Invalid body",
    401: "No live access token, or a wrong TOTP code",
    409: "TOTP is not on",
    429: "Too many attempts",
  },
});

account.post("/mfa/recovery-codes", newRecoveryCodes, limit("verify"), async (c) => {
  const { userId } = await requireUser(c);
  const { code } = await newRecoveryCodes.body(c);
  const codes = await c.var.services.recoveryCodes.regenerate(userId, code);
  c.header("Cache-Control", "no-store");
  return c.json({ codes, remaining: codes.length });
});

const sessionItem = z.object({
  id: z.string(),
  device: z.object({ browser: z.string().nullable(), os: z.string().nullable(), label: z.string() }),
  created_at: z.string().describe("ISO 8601"),
  last_used_at: z.string().describe("ISO 8601: the last sign-in or token refresh"),
  ip_prefix: z.string().nullable().describe("The network (IPv4 /24, IPv6 /48), never the host"),
  current: z.boolean().describe("The session of the access token of this request"),
});

const listSessions = op({
  summary: "My live sessions, newest first",
  auth: ["bearer"],
  responses: {
    200: { description: "The sessions", body: z.object({ sessions: z.array(sessionItem) }) },
    401: "No live access token",
  },
});

account.get("/sessions", listSessions, async (c) => {
  // A write-strength check: a just-ended session never sees the list.
  const { userId, sessionId } = await authenticateBearer(c, bearerToken(c), { fresh: true });
  const rows = await c.var.services.sessions.list(userId);
  c.header("Cache-Control", "no-store");
  return c.json({
    sessions: rows.map((r) => ({
      id: r.id,
      device: describeDevice(r.userAgent),
      created_at: new Date(r.createdAt).toISOString(),
      last_used_at: new Date(r.lastSeenAt).toISOString(),
      ip_prefix: describeClient({ ip: r.ip ?? undefined }).network,
      current: r.id === sessionId,
    })),
  });
});

const endSession = op({
  summary: "End one of my sessions (its tokens stop working at once)",
  params: z.object({ id: z.string().max(100) }),
  auth: ["bearer"],
  responses: { 204: "Ended", 401: "No live access token", 404: "No live session of mine with this id" },
});

account.delete("/sessions/:id", endSession, async (c) => {
  const { userId } = await requireUser(c);
  const { id } = endSession.params(c);
  await c.var.services.sessions.revokeOwn(userId, id);
  return c.body(null, 204);
});

const endOthers = op({
  summary: "End all my sessions but this one (`?others=true`)",
  query: z.object({ others: z.literal("true", { error: 'must be "true"' }) }),
  auth: ["bearer"],
  responses: { 204: "Ended", 400: "Without others=true", 401: "No live access token" },
});

account.delete("/sessions", endOthers, async (c) => {
  const { userId, sessionId } = await requireUser(c);
  endOthers.query(c);
  await c.var.services.sessions.revokeAll(userId, sessionId);
  return c.body(null, 204);
});
