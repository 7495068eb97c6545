/**
 * D1 side of the user import: one batch per chunk, whatever its size. The rows travel as one JSON
 * parameter read with json_each (D1 allows 100 bound parameters per statement), so each table is
 * one set-based statement. A user is written only while no account holds the address, and the
 * batch is one transaction, so the check and the insert cannot be raced by a sign-up.
 */
import type { Db } from "../../db/client";

export interface ImportRow {
  id: string;
  emailId: string;
  /** Normalised address. */
  email: string;
  emailVerified: boolean;
  displayName: string | null;
  avatarUrl: string | null;
  locale: string | null;
  metadata: Record<string, unknown>;
  defaultRole: string;
  allowedRoles: string[];
  /** A foreign hash behind its marker (passwords/foreign.ts), or null. */
  passwordHash: string | null;
  active: boolean;
  /** The default team and project of a verified user (core/teams), made in the same batch. */
  teamId: string;
  projectId: string;
}

export interface ImportStore {
  /** Inserts the rows whose address is free; answers the ids that were written. */
  insert(rows: ImportRow[], now: number): Promise<Set<string>>;
}

export function createImportStore(db: Db): ImportStore {
  return {
    async insert(rows, now) {
      const payload = JSON.stringify(
        rows.map((r) => ({
          ...r,
          emailVerified: r.emailVerified ? 1 : 0,
          active: r.active ? 1 : 0,
          metadata: JSON.stringify(r.metadata),
          allowedRoles: JSON.stringify(r.allowedRoles),
        })),
      );
      // drizzle batches only its own builders; these set-based statements go to its D1 client.
      const d1 = (db as Db & { $client: D1Database }).$client;
      const v = (field: string) => `json_extract(j.value, '$.${field}')`;
      const statement = (text: string) => d1.prepare(text).bind(payload, now);
      const results = await d1.batch([
        statement(`
          INSERT INTO users (id, display_name, avatar_url, locale, metadata, default_role, allowed_roles,
                             password_hash, active, created_at, updated_at)
          SELECT ${v("id")}, ${v("displayName")}, ${v("avatarUrl")}, ${v("locale")}, ${v("metadata")},
                 ${v("defaultRole")}, ${v("allowedRoles")}, ${v("passwordHash")}, ${v("active")}, ?2, ?2
          FROM json_each(?1) j
          WHERE NOT EXISTS (SELECT 1 FROM emails e WHERE e.address = ${v("email")})`),
        statement(`
          INSERT INTO emails (id, user_id, address, is_primary, verified, created_at, updated_at)
          SELECT ${v("emailId")}, ${v("id")}, ${v("email")}, 1, ${v("emailVerified")}, ?2, ?2
          FROM json_each(?1) j
          WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = ${v("id")})`),
        // As an activation does (users.store activateStatements): a verified user has a default team.
        statement(`
          INSERT INTO teams (id, owner_id, name, is_default, created_at)
          SELECT ${v("teamId")}, ${v("id")}, substr(coalesce(${v("displayName")}, 'My team'), 1, 200), 1, ?2
          FROM json_each(?1) j
          WHERE ${v("emailVerified")} = 1 AND EXISTS (SELECT 1 FROM users u WHERE u.id = ${v("id")})`),
        statement(`
          INSERT INTO projects (id, team_id, name, is_default, created_at)
          SELECT ${v("projectId")}, ${v("teamId")}, 'Default project', 1, ?2
          FROM json_each(?1) j
          WHERE EXISTS (SELECT 1 FROM teams t WHERE t.id = ${v("teamId")})`),
        statement(
          `SELECT u.id AS id FROM json_each(?1) j JOIN users u ON u.id = ${v("id")} WHERE ?2 IS NOT NULL`,
        ),
      ]);
      const written = (results[4]?.results ?? []) as { id: string }[];
      return new Set(written.map((r) => r.id));
    },
  };
}
