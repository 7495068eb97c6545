/**
 * The signed-in user's passkeys at /v1: list (with each one's name and its provider's name and
 * icon, from the AAGUID), rename, delete. Every route needs a bearer access token from any
 * dialect; a credential of another user is answered as one that does not exist (404).
 */
import { Hono } from "hono";
import { z } from "zod";
import { authenticatorOf } from "../../core/webauthn/authenticators";
import type { Passkey } from "../../core/webauthn/webauthn.service";
import { op } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import { requireUser } from "./auth";

export const passkeys = new Hono<AppEnv>();

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const passkeyItem = z.object({
  id: z.string().describe("The credential id (base64url)"),
  name: z.string().describe("The user's name for it; at first its provider's name, else \"Passkey\""),
  authenticator: z
    .object({
      aaguid: z.string().nullable(),
      name: z.string().nullable().describe("The provider's name, from the community AAGUID list"),
      icon: z.string().nullable().describe("A data: URI of its light SVG icon (common providers only)"),
    })
    .describe("The passkey provider, as far as its AAGUID tells"),
  created_at: z.string().describe("ISO 8601"),
  last_used_at: z.string().nullable().describe("ISO 8601: the last sign-in with it"),
  backup_eligible: z.boolean().describe("A synced (multi-device) passkey"),
  backed_up: z.boolean().describe("Backed up now, as of its last use"),
  transports: z.array(z.string()),
});

function present(p: Passkey): z.output<typeof passkeyItem> {
  const provider = authenticatorOf(p.aaguid);
  return {
    id: p.id,
    name: p.name ?? provider?.name ?? "Passkey",
    authenticator: { aaguid: p.aaguid, name: provider?.name ?? null, icon: provider?.icon ?? null },
    created_at: iso(p.createdAt)!,
    last_used_at: iso(p.lastUsedAt),
    backup_eligible: p.backupEligible,
    backed_up: p.backupState,
    transports: p.transports,
  };
}

const idParams = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,1400}$/, "must be a base64url credential id"),
});

const listPasskeys = op({
  summary: "My passkeys, oldest first",
  auth: ["bearer"],
  responses: {
    200: { description: "The passkeys", body: z.object({ passkeys: z.array(passkeyItem) }) },
    401: "No live access token",
  },
});

passkeys.get("/passkeys", listPasskeys, async (c) => {
  const { userId } = await requireUser(c);
  const rows = await c.var.services.webauthn.list(userId);
  c.header("Cache-Control", "no-store");
  return c.json({ passkeys: rows.map(present) });
});

const renamePasskey = op({
  summary: "Rename one of my passkeys",
  params: idParams,
  body: z.object({ name: z.string().max(1024).describe("1 to 64 characters once trimmed") }),
  auth: ["bearer"],
  responses: {
    200: { description: "The renamed passkey", body: passkeyItem },
    400: "Invalid body, or a name that is empty or longer than 64 characters",
    401: "No live access token",
    404: "No passkey of mine with this id",
  },
});

passkeys.patch("/passkeys/:id", renamePasskey, async (c) => {
  const { userId } = await requireUser(c);
  const { id } = renamePasskey.params(c);
  const { name } = await renamePasskey.body(c);
  return c.json(present(await c.var.services.webauthn.rename(userId, id, name)));
});

const deletePasskey = op({
  summary: "Delete one of my passkeys (it no longer signs in)",
  params: idParams,
  auth: ["bearer"],
  responses: {
    204: "Deleted",
    401: "No live access token",
    403: "REAUTHENTICATION_REQUIRED: this session's sign-in is older than STEP_UP_MAX_AGE (POST /v1/reauthenticate)",
    404: "No passkey of mine with this id",
  },
});

passkeys.delete("/passkeys/:id", deletePasskey, async (c) => {
  const principal = await requireUser(c);
  const { id } = deletePasskey.params(c);
  await c.var.services.webauthn.remove(principal.userId, id, principal);
  return c.body(null, 204);
});
