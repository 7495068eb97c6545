/** D1 side of the audit log: one batched insert per request, reads by user and time, the purge. */
import { and, desc, eq, gte, lt, or, type SQL } from "drizzle-orm";
import type { Db } from "../../db/client";
import { auditEvents } from "../../db/schema";
import type { RecordedEvent } from "./events";

export interface AuditQuery {
  userId?: string;
  /** Inclusive lower bound, ms since the epoch. */
  since?: number;
  /** Exclusive upper bound, ms since the epoch. */
  until?: number;
  /** Continue after this row (newest first): the (at, id) of the last row of the previous page. */
  after?: { at: number; id: string };
  limit: number;
}

export type AuditRow = typeof auditEvents.$inferSelect;

export interface AuditStore {
  /** Writes the events in one round trip. */
  insert(events: RecordedEvent[]): Promise<void>;
  /** Newest first, at most `limit` rows. */
  list(q: AuditQuery): Promise<AuditRow[]>;
  /** Deletes rows older than `before`. */
  purge(before: number): Promise<void>;
}

export function createAuditStore(db: Db): AuditStore {
  return {
    async insert(events) {
      if (events.length === 0) return;
      // One statement per row (D1 binds at most 100 values per statement), one batch for all.
      const [first, ...rest] = events.map((e) => db.insert(auditEvents).values(e));
      await db.batch([first!, ...rest]);
    },

    async list({ userId, since, until, after, limit }) {
      const where: (SQL | undefined)[] = [
        userId === undefined ? undefined : eq(auditEvents.userId, userId),
        since === undefined ? undefined : gte(auditEvents.at, since),
        until === undefined ? undefined : lt(auditEvents.at, until),
        after === undefined
          ? undefined
          : or(lt(auditEvents.at, after.at), and(eq(auditEvents.at, after.at), lt(auditEvents.id, after.id))),
      ];
      return db
        .select()
        .from(auditEvents)
        .where(and(...where))
        .orderBy(desc(auditEvents.at), desc(auditEvents.id))
        .limit(limit);
    },

    async purge(before) {
      await db.delete(auditEvents).where(lt(auditEvents.at, before));
    },
  };
}
