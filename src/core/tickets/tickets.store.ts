/**
 * Where tickets are kept. Spending and counting are each one conditional UPDATE ... RETURNING, so
 * under any number of parallel requests exactly one wins (see tickets.service.ts).
 */
import { and, eq, gt, isNull, lt, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { tickets } from "../../db/schema";

export type NewTicket = typeof tickets.$inferInsert;
export type TicketRow = Pick<typeof tickets.$inferSelect, "userId" | "data">;

export interface TicketStore {
  /**
   * Stores a ticket. With `spendOpen`, every open ticket of its user and purpose is spent (at
   * `ticket.createdAt`) in the same batch first.
   */
  insert(ticket: NewTicket & { userId: string }, spendOpen: boolean): Promise<void>;
  /** Spends the open, unexpired ticket; its user and data, or null when there was none to spend. */
  consume(hash: string, purpose: string, now: number): Promise<TicketRow | null>;
  /** Counts one attempt on the open, unexpired ticket while it has fewer than `maxAttempts`; null otherwise. */
  attempt(hash: string, purpose: string, now: number, maxAttempts: number): Promise<TicketRow | null>;
  /** Spends every open ticket of that purpose for the user. */
  spendAll(userId: string, purpose: string, now: number): Promise<void>;
}

export function createTicketStore(db: Db): TicketStore {
  const open = (userId: string, purpose: string) =>
    and(eq(tickets.userId, userId), eq(tickets.purpose, purpose), isNull(tickets.usedAt));

  return {
    async insert(ticket, spendOpen) {
      const insert = db.insert(tickets).values(ticket);
      if (spendOpen) {
        await db.batch([
          db.update(tickets).set({ usedAt: ticket.createdAt }).where(open(ticket.userId, ticket.purpose)),
          insert,
        ]);
      } else {
        await insert;
      }
    },

    async consume(hash, purpose, now) {
      const rows = await db
        .update(tickets)
        .set({ usedAt: now })
        .where(
          and(
            eq(tickets.hash, hash),
            eq(tickets.purpose, purpose),
            isNull(tickets.usedAt),
            gt(tickets.expiresAt, now),
          ),
        )
        .returning({ userId: tickets.userId, data: tickets.data });
      return rows[0] ?? null;
    },

    async attempt(hash, purpose, now, maxAttempts) {
      const rows = await db
        .update(tickets)
        .set({ attempts: sql`${tickets.attempts} + 1` })
        .where(
          and(
            eq(tickets.hash, hash),
            eq(tickets.purpose, purpose),
            isNull(tickets.usedAt),
            gt(tickets.expiresAt, now),
            lt(tickets.attempts, maxAttempts),
          ),
        )
        .returning({ userId: tickets.userId, data: tickets.data });
      return rows[0] ?? null;
    },

    async spendAll(userId, purpose, now) {
      await db.update(tickets).set({ usedAt: now }).where(open(userId, purpose));
    },
  };
}
