/**
 * Teams and projects (vault). A user's default team and its default project are created once,
 * however many requests race: one D1 batch of two INSERT ... ON CONFLICT DO NOTHING statements
 * against partial unique indexes (one default team per owner, one default project per team).
 */
import type { Clock } from "../../lib/clock";

export interface Team {
  id: string;
  ownerId: string;
  name: string;
  /** The team's default project. */
  projectId: string | null;
}

export interface TeamService {
  /** The owner's default team (and project), created on first call. */
  ensureDefault(ownerId: string, name: string): Promise<Team>;
  /** The owner's default team, or null before it exists. */
  defaultTeam(ownerId: string): Promise<Team | null>;
}

export function createTeamService(deps: { d1: D1Database; clock: Clock }): TeamService {
  const { d1, clock } = deps;

  const service: TeamService = {
    async ensureDefault(ownerId, name) {
      const now = clock.now();
      await d1.batch([
        d1
          .prepare(
            "INSERT INTO teams (id, owner_id, name, is_default, created_at) VALUES (?, ?, ?, 1, ?) ON CONFLICT DO NOTHING",
          )
          .bind(crypto.randomUUID(), ownerId, name.slice(0, 200), now),
        d1
          .prepare(
            `INSERT INTO projects (id, team_id, name, is_default, created_at)
             SELECT ?, id, 'Default project', 1, ? FROM teams WHERE owner_id = ? AND is_default = 1
             ON CONFLICT DO NOTHING`,
          )
          .bind(crypto.randomUUID(), now, ownerId),
      ]);
      return (await service.defaultTeam(ownerId))!;
    },

    async defaultTeam(ownerId) {
      const row = await d1
        .prepare(
          `SELECT t.id, t.owner_id, t.name, p.id AS project_id FROM teams t
           LEFT JOIN projects p ON p.team_id = t.id AND p.is_default = 1
           WHERE t.owner_id = ? AND t.is_default = 1`,
        )
        .bind(ownerId)
        .first<{ id: string; owner_id: string; name: string; project_id: string | null }>();
      return row ? { id: row.id, ownerId: row.owner_id, name: row.name, projectId: row.project_id } : null;
    },
  };
  return service;
}
