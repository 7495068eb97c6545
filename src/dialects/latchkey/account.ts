/**
 * The signed-in user's own account security at /v1: TOTP recovery codes (and, below, sessions).
 * Every route needs a bearer access token from any dialect (auth.ts requireUser).
 */
import { Hono } from "hono";
import { z } from "zod";
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
