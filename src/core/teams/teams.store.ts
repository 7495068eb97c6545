/**
 * D1 store of teams and projects. The default team and its default project are two
 * INSERT ... SELECT ... ON CONFLICT DO NOTHING statements against partial unique indexes (one
 * default team per owner, one default project per team), so racing callers make them once.
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../../db/client";
import { projects, teams, users } from "../../db/schema";

/** A default team with its default project's id (null before the project exists). */
export type DefaultTeamRow = Pick<typeof teams.$inferSelect, "id" | "ownerId" | "name"> & {
  projectId: string | null;
};

export interface TeamStore {
  /** Makes the owner's default team (named `name`, or the owner's display name when null) and project, once. */
  createDefault(ownerId: string, name: string | null, now: number): Promise<void>;
  defaultTeam(ownerId: string): Promise<DefaultTeamRow | null>;
}

/**
 * The statements that make the default team and its project, for a D1 batch of another store
 * (user activation): the team comes with the change that earns it, in one round trip. `name` null
 * takes the owner's display name ("My team" without one). Nothing happens for an unknown owner.
 */
export function defaultTeamStatements(
  db: Db,
  ownerId: string,
  now: number,
  name: string | null = null,
  /** A condition the team is made only under (e.g. "the activation ticket is spent in this batch"). */
  guard?: SQL,
): [BatchItem<"sqlite">, BatchItem<"sqlite">] {
  return [
    db
      .insert(teams)
      .select(
        db
          .select({
            id: sql<string>`${crypto.randomUUID()}`.as("id"),
            ownerId: users.id,
            name: sql<string>`substr(coalesce(${name}, ${users.displayName}, 'My team'), 1, 200)`.as("name"),
            isDefault: sql<boolean>`1`.as("is_default"),
            createdAt: sql<number>`${now}`.as("created_at"),
          })
          .from(users)
          .where(and(eq(users.id, ownerId), guard)),
      )
      .onConflictDoNothing(),
    db
      .insert(projects)
      .select(
        db
          .select({
            id: sql<string>`${crypto.randomUUID()}`.as("id"),
            teamId: teams.id,
            name: sql<string>`'Default project'`.as("name"),
            isDefault: sql<boolean>`1`.as("is_default"),
            createdAt: sql<number>`${now}`.as("created_at"),
          })
          .from(teams)
          .where(and(eq(teams.ownerId, ownerId), eq(teams.isDefault, true))),
      )
      .onConflictDoNothing(),
  ];
}

export function createTeamStore(db: Db): TeamStore {
  return {
    async createDefault(ownerId, name, now) {
      // One batch: the team, then its project.
      await db.batch(defaultTeamStatements(db, ownerId, now, name));
    },

    async defaultTeam(ownerId) {
      const row = await db
        .select({ id: teams.id, ownerId: teams.ownerId, name: teams.name, projectId: projects.id })
        .from(teams)
        .leftJoin(projects, and(eq(projects.teamId, teams.id), eq(projects.isDefault, true)))
        .where(and(eq(teams.ownerId, ownerId), eq(teams.isDefault, true)))
        .get();
      return row ?? null;
    },
  };
}
