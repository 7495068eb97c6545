/**
 * Teams and projects (vault). A user's default team and its default project are created once,
 * however many requests race: one D1 batch of two INSERT ... ON CONFLICT DO NOTHING statements
 * against partial unique indexes (one default team per owner, one default project per team).
 * Activation creates it (users.service.ts: every path that verifies an address goes through
 * `activate`), so an account activated through any dialect has its team.
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
  /**
   * The statements that make the default team, named after the owner's display name ("My team"
   * without one), for a caller to put into its own batch (activation): the team comes with the
   * change that earns it, in one round trip.
   */
  defaultTeamStatements(ownerId: string): D1PreparedStatement[];
  /** The owner's default team, or null before it exists. */
  defaultTeam(ownerId: string): Promise<Team | null>;
}

export function createTeamService(deps: { d1: D1Database; clock: Clock }): TeamService {
  const { d1, clock } = deps;

  /** `name` null takes the owner's display name. Nothing happens for an unknown owner. */
  function statements(ownerId: string, name: string | null): D1PreparedStatement[] {
    const now = clock.now();
    return [
      d1
        .prepare(
          `INSERT INTO teams (id, owner_id, name, is_default, created_at)
           SELECT ?, id, substr(COALESCE(?, display_name, 'My team'), 1, 200), 1, ? FROM users WHERE id = ?
           ON CONFLICT DO NOTHING`,
        )
        .bind(crypto.randomUUID(), name, now, ownerId),
      d1
        .prepare(
          `INSERT INTO projects (id, team_id, name, is_default, created_at)
           SELECT ?, id, 'Default project', 1, ? FROM teams WHERE owner_id = ? AND is_default = 1
           ON CONFLICT DO NOTHING`,
        )
        .bind(crypto.randomUUID(), now, ownerId),
    ];
  }

  /** One batch: the team, then its project. */
  async function create(ownerId: string, name: string | null) {
    await d1.batch(statements(ownerId, name));
  }

  const service: TeamService = {
    async ensureDefault(ownerId, name) {
      await create(ownerId, name);
      return (await service.defaultTeam(ownerId))!;
    },

    defaultTeamStatements: (ownerId) => statements(ownerId, null),

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
