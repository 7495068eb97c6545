/**
 * Bulk import of users from another system, with their password hashes as that system stored
 * them (passwords/foreign.ts): each hash is checked and bounded now, verified once at the user's
 * next login and then replaced with Latchkey's scrypt. A batch answers per row: a row that is
 * invalid, repeats an address of the same batch, or names an address already taken is reported
 * and skipped, the others are written together in one D1 batch. A user and their address are
 * written together or not at all.
 */
import type { Clock } from "../../lib/clock";
import type { Config } from "../config";
import { AuthError } from "../errors";
import { ForeignHashError, type ForeignHashInput, importHash } from "../passwords/foreign";
import { normalizeEmail } from "../users/email-address";
import type { ImportRow, ImportStore } from "./import.store";

/** Rows per call: the batch's JSON stays far below D1's 2 MB value limit. */
export const IMPORT_MAX_ROWS = 500;

export interface ImportUserInput {
  email: unknown;
  emailVerified?: unknown;
  displayName?: unknown;
  avatarUrl?: unknown;
  locale?: unknown;
  metadata?: unknown;
  defaultRole?: unknown;
  allowedRoles?: unknown;
  /** Absent or null: no password (the user signs in by link, passcode or reset). */
  passwordHash?: ForeignHashInput | null;
  /** Default true: the account could sign in on the old system. */
  active?: unknown;
}

export type ImportRowResult =
  | { index: number; status: "created"; id: string; email: string }
  | { index: number; status: "exists"; email: string }
  | { index: number; status: "duplicate"; email: string }
  | { index: number; status: "invalid"; email?: string; error: string };

export interface ImportService {
  /** Imports up to IMPORT_MAX_ROWS users; one result per row, in order. */
  importUsers(rows: ImportUserInput[]): Promise<ImportRowResult[]>;
}

class RowError extends Error {}

const optionalText = (v: unknown, what: string, max: number): string | null => {
  if (v === undefined || v === null) return null;
  if (typeof v !== "string" || v.length > max)
    throw new RowError(`${what} must be a string of at most ${max} characters`);
  return v;
};

const optionalBool = (v: unknown, what: string, fallback: boolean): boolean => {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") throw new RowError(`${what} must be true or false`);
  return v;
};

export function createImportService(deps: {
  config: Config;
  clock: Clock;
  store: ImportStore;
}): ImportService {
  const { config, clock, store } = deps;

  function roles(defaultRole: unknown, allowedRoles: unknown) {
    if (
      allowedRoles !== undefined &&
      (!Array.isArray(allowedRoles) || !allowedRoles.every((r) => typeof r === "string"))
    )
      throw new RowError("roles must be an array of strings");
    const allowed = [...new Set((allowedRoles as string[] | undefined) ?? config.roles.defaultAllowed)];
    const fallback = allowed.includes(config.roles.defaultRole) ? config.roles.defaultRole : allowed[0];
    const role = defaultRole === undefined ? fallback : defaultRole;
    if (typeof role !== "string" || !allowed.includes(role))
      throw new RowError("default_role must be one of the user's roles");
    const unknown = allowed.find((r) => !config.roles.allowed.includes(r));
    if (unknown !== undefined) throw new RowError(`role "${unknown}" is not in ALLOWED_ROLES`);
    return { defaultRole: role, allowedRoles: allowed };
  }

  function toRow(input: ImportUserInput, email: string): ImportRow {
    const metadata = input.metadata ?? {};
    if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata))
      throw new RowError("metadata must be an object");
    if (JSON.stringify(metadata).length > 8192) throw new RowError("metadata is larger than 8 KB");
    let passwordHash: string | null = null;
    if (input.passwordHash !== undefined && input.passwordHash !== null) {
      try {
        passwordHash = importHash(input.passwordHash);
      } catch (e) {
        if (e instanceof ForeignHashError) throw new RowError(`password_hash: ${e.message}`);
        throw e;
      }
    }
    return {
      id: crypto.randomUUID(),
      emailId: crypto.randomUUID(),
      email,
      emailVerified: optionalBool(input.emailVerified, "email_verified", false),
      displayName: optionalText(input.displayName, "display_name", 200) ?? email,
      avatarUrl: optionalText(input.avatarUrl, "avatar_url", 2048),
      locale: optionalText(input.locale, "locale", 35),
      metadata: metadata as Record<string, unknown>,
      ...roles(input.defaultRole, input.allowedRoles),
      passwordHash,
      active: optionalBool(input.active, "active", true),
      teamId: crypto.randomUUID(),
      projectId: crypto.randomUUID(),
    };
  }

  return {
    async importUsers(inputs) {
      if (!Array.isArray(inputs) || inputs.length === 0)
        throw new AuthError("INVALID_REQUEST", { detail: "Expected a non-empty array of users." });
      if (inputs.length > IMPORT_MAX_ROWS)
        throw new AuthError("PAYLOAD_TOO_LARGE", { detail: `At most ${IMPORT_MAX_ROWS} users per request.` });
      const results: ImportRowResult[] = [];
      const rows: { index: number; row: ImportRow }[] = [];
      const seen = new Set<string>();
      inputs.forEach((input, index) => {
        let email: string | undefined;
        try {
          if (typeof input !== "object" || input === null) throw new RowError("expected an object");
          try {
            email = normalizeEmail(input.email);
          } catch {
            throw new RowError("email is not a valid address");
          }
          if (seen.has(email)) {
            results[index] = { index, status: "duplicate", email };
            return;
          }
          rows.push({ index, row: toRow(input, email) });
          seen.add(email);
        } catch (e) {
          if (!(e instanceof RowError)) throw e;
          results[index] = { index, status: "invalid", ...(email ? { email } : {}), error: e.message };
        }
      });
      const written = rows.length
        ? await store.insert(
            rows.map((r) => r.row),
            clock.now(),
          )
        : new Set<string>();
      for (const { index, row } of rows) {
        results[index] = written.has(row.id)
          ? { index, status: "created", id: row.id, email: row.email }
          : { index, status: "exists", email: row.email };
      }
      return results;
    },
  };
}
