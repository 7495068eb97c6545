/** D1 statements of the outbox transport: mail kept for development, read back by address. */
import { desc, eq, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { outbox } from "../../db/schema";

export type NewOutboxMessage = typeof outbox.$inferInsert;
export type OutboxMessage = Omit<typeof outbox.$inferSelect, "id">;

export interface OutboxStore {
  add(message: NewOutboxMessage): Promise<void>;
  /** Mail kept for `to`, newest first (in insertion order within a millisecond). */
  listFor(to: string, limit: number): Promise<OutboxMessage[]>;
}

export function createOutboxStore(db: Db): OutboxStore {
  return {
    async add(message) {
      await db.insert(outbox).values(message);
    },

    listFor(to, limit) {
      return db
        .select({
          to: outbox.to,
          subject: outbox.subject,
          text: outbox.text,
          html: outbox.html,
          kind: outbox.kind,
          data: outbox.data,
          createdAt: outbox.createdAt,
        })
        .from(outbox)
        .where(eq(outbox.to, to))
        .orderBy(desc(outbox.createdAt), sql`${outbox}.rowid desc`)
        .limit(limit)
        .all();
    },
  };
}
