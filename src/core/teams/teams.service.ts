/**
 * Teams and projects (vault). A user's default team and its default project are created once,
 * however many requests race: one D1 batch of two INSERT ... ON CONFLICT DO NOTHING statements
 * against partial unique indexes (one default team per owner, one default project per team).
 * Activation creates it (users.service.ts: every path that verifies an address goes through
 * `activate`, whose batch carries teams.store.ts's `defaultTeamStatements`), so an account
 * activated through any dialect has its team.
 */
import type { Clock } from "../../lib/clock";
import type { TeamStore } from "./teams.store";

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

export function createTeamService(deps: { store: TeamStore; clock: Clock }): TeamService {
  const { store, clock } = deps;

  const service: TeamService = {
    async ensureDefault(ownerId, name) {
      await store.createDefault(ownerId, name, clock.now());
      return (await service.defaultTeam(ownerId))!;
    },

    defaultTeam: (ownerId) => store.defaultTeam(ownerId),
  };
  return service;
}
