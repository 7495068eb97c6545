/**
 * POST /v1/admin/users/import: users from another system with their password hashes (docs/IMPORT.md).
 * Answers per row (created, exists, duplicate, invalid); the valid rows of one call are written in
 * one D1 batch, each user with their address or not at all. scripts/import-users.mjs posts a file
 * in chunks of this size.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { ImportRowResult, ImportUserInput } from "../../core/import/import.service";
import { IMPORT_MAX_ROWS } from "../../core/import/import.service";
import { readBody, validate } from "../shared/http";
import { op } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import { adminActor, adminOnly } from "./auth";

/** A full chunk of IMPORT_MAX_ROWS users with long hashes and some metadata fits. */
const MAX_IMPORT_BODY_BYTES = 1024 * 1024;

const firebaseScrypt = z.object({
  algorithm: z.literal("firebase_scrypt"),
  hash: z.string().max(1024).describe("base64, the export's passwordHash"),
  salt: z.string().max(1024).describe("base64, the export's salt"),
  signer_key: z.string().max(1024).describe("base64_signer_key of the Firebase project"),
  salt_separator: z.string().max(1024).describe("base64_salt_separator of the Firebase project"),
  rounds: z.number().int(),
  mem_cost: z.number().int(),
});

const importUser = z.object({
  email: z.string().max(254),
  email_verified: z.boolean().optional(),
  display_name: z.string().max(200).nullable().optional(),
  avatar_url: z.string().max(2048).nullable().optional(),
  locale: z.string().max(35).nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  default_role: z.string().max(100).optional(),
  roles: z.array(z.string().max(100)).max(50).optional(),
  active: z.boolean().optional().describe("default true"),
  password_hash: z
    .union([
      z
        .string()
        .max(1024)
        .describe("bcrypt $2a$/$2b$/$2y$, argon2id PHC, $pbkdf2-sha256$ or Django pbkdf2_sha256$"),
      firebaseScrypt,
    ])
    .nullable()
    .optional(),
});

const importBody = z.object({ users: z.array(importUser).min(1).max(IMPORT_MAX_ROWS) });
/** What the route checks as a whole; each row is then checked on its own, so one bad row fails alone. */
const envelope = z.object({ users: z.array(z.unknown()).min(1).max(IMPORT_MAX_ROWS) });

const rowResult = z.object({
  index: z.number().int(),
  status: z.enum(["created", "exists", "duplicate", "invalid"]),
  id: z.string().optional(),
  email: z.string().optional(),
  error: z.string().optional(),
});

const importUsers = op({
  summary: "Import users with their password hashes from another system",
  description: `At most ${IMPORT_MAX_ROWS} users per call. Each row answers on its own: created (with its id), exists (the address belongs to an account), duplicate (an earlier row of this call has the address) or invalid (with the reason; hashes over the CPU limits are refused here). A foreign hash is verified at the user's next password login and then replaced with scrypt.`,
  auth: ["serviceKey", "bearer"],
  body: importBody,
  responses: {
    200: { description: "One result per row, in order", body: z.object({ results: z.array(rowResult) }) },
    400: "Not a JSON object with 1..500 users",
    401: "No or bad credentials",
    403: "Not an admin",
    413: "Body over 1 MiB",
  },
});

function toInput(row: z.output<typeof importUser>): ImportUserInput {
  const hash = row.password_hash;
  return {
    email: row.email,
    emailVerified: row.email_verified,
    displayName: row.display_name,
    avatarUrl: row.avatar_url,
    locale: row.locale,
    metadata: row.metadata,
    defaultRole: row.default_role,
    allowedRoles: row.roles,
    active: row.active,
    passwordHash:
      hash && typeof hash === "object"
        ? {
            algorithm: hash.algorithm,
            hash: hash.hash,
            salt: hash.salt,
            signerKey: hash.signer_key,
            saltSeparator: hash.salt_separator,
            rounds: hash.rounds,
            memCost: hash.mem_cost,
          }
        : hash,
  };
}

export const adminImport = new Hono<AppEnv>();

adminImport.post("/admin/users/import", importUsers, adminOnly, async (c) => {
  const { users } = validate(envelope, await readBody(c, MAX_IMPORT_BODY_BYTES));
  const results: ImportRowResult[] = [];
  const rows: { index: number; input: ImportUserInput }[] = [];
  for (const [index, raw] of users.entries()) {
    const parsed = importUser.safeParse(raw);
    if (parsed.success) {
      rows.push({ index, input: toInput(parsed.data) });
      continue;
    }
    const issue = parsed.error.issues[0]!;
    const email = (raw as { email?: unknown } | null)?.email;
    results[index] = {
      index,
      status: "invalid",
      ...(typeof email === "string" ? { email } : {}),
      error: `${issue.path.join(".") || "row"}: ${issue.message}`,
    };
  }
  const imported = rows.length ? await c.var.services.imports.importUsers(rows.map((r) => r.input)) : [];
  // The service numbers the rows it was given: back to their places in the request.
  for (const [i, { index }] of rows.entries()) results[index] = { ...imported[i]!, index };
  // Each account made is announced as any sign-up is, and the import recorded as the admin's act.
  const actor = adminActor(c);
  const { events } = c.var.services;
  const created = imported.flatMap((r) => (r.status === "created" ? [r.id] : []));
  for (const userId of created) {
    events.emit({ type: "user.created", userId, method: "password" });
    events.emit({
      type: "admin.action",
      actor: actor.kind === "service" ? "service" : actor.userId,
      action: "user.import",
      userId,
    });
  }
  return c.json({ results });
});
