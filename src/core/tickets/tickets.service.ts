/**
 * Typed one-time secrets (activation, password reset, email change, MFA step, magic link, ...).
 * The secret is 256 random bits handed to the user once; only its SHA-256 is stored. Consuming it is
 * one conditional UPDATE ... RETURNING, so under any number of parallel requests exactly one wins.
 */
import { and, eq, gt, isNull, lt, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { tickets } from "../../db/schema";
import type { Clock } from "../../lib/clock";
import { randomToken, sha256Hex } from "../../lib/crypto";

export type TicketPurpose =
  | "activation"
  | "password_reset"
  | "email_change"
  | "mfa"
  | "magic_link"
  | "magic_register"
  /** A one-time value that a browser exchanges for a session (hanko `/token` after OAuth). */
  | "session_exchange";

export interface TicketGrant {
  userId: string;
  data: Record<string, unknown>;
}

export interface TicketService {
  /** Issues a ticket; `replace` first spends every open ticket of that purpose for the user. */
  issue(opts: {
    purpose: TicketPurpose;
    userId: string;
    ttlMs: number;
    data?: Record<string, unknown>;
    replace?: boolean;
  }): Promise<string>;
  /** Spends the ticket; null when unknown, of another purpose, expired or already spent. */
  consume(token: string, purpose: TicketPurpose): Promise<TicketGrant | null>;
  /** Counts one attempt against the ticket without spending it; null past `maxAttempts` or when invalid. */
  attempt(token: string, purpose: TicketPurpose, maxAttempts: number): Promise<TicketGrant | null>;
  /** Spends every open ticket of that purpose for the user. */
  revokeAll(userId: string, purpose: TicketPurpose): Promise<void>;
}

export function createTicketService(deps: { db: Db; clock: Clock }): TicketService {
  const { db, clock } = deps;
  const grant = (row: { userId: string | null; data: Record<string, unknown> } | undefined) =>
    row?.userId ? { userId: row.userId, data: row.data } : null;

  return {
    async issue({ purpose, userId, ttlMs, data = {}, replace = false }) {
      const token = randomToken();
      const now = clock.now();
      const insert = db.insert(tickets).values({
        hash: await sha256Hex(token),
        purpose,
        userId,
        data,
        createdAt: now,
        expiresAt: now + ttlMs,
      });
      if (replace) {
        await db.batch([
          db
            .update(tickets)
            .set({ usedAt: now })
            .where(and(eq(tickets.userId, userId), eq(tickets.purpose, purpose), isNull(tickets.usedAt))),
          insert,
        ]);
      } else {
        await insert;
      }
      return token;
    },

    async consume(token, purpose) {
      if (!token || token.length > 200) return null;
      const now = clock.now();
      const rows = await db
        .update(tickets)
        .set({ usedAt: now })
        .where(
          and(
            eq(tickets.hash, await sha256Hex(token)),
            eq(tickets.purpose, purpose),
            isNull(tickets.usedAt),
            gt(tickets.expiresAt, now),
          ),
        )
        .returning({ userId: tickets.userId, data: tickets.data });
      return grant(rows[0]);
    },

    async attempt(token, purpose, maxAttempts) {
      if (!token || token.length > 200) return null;
      const now = clock.now();
      const rows = await db
        .update(tickets)
        .set({ attempts: sql`${tickets.attempts} + 1` })
        .where(
          and(
            eq(tickets.hash, await sha256Hex(token)),
            eq(tickets.purpose, purpose),
            isNull(tickets.usedAt),
            gt(tickets.expiresAt, now),
            lt(tickets.attempts, maxAttempts),
          ),
        )
        .returning({ userId: tickets.userId, data: tickets.data });
      return grant(rows[0]);
    },

    async revokeAll(userId, purpose) {
      await db
        .update(tickets)
        .set({ usedAt: clock.now() })
        .where(and(eq(tickets.userId, userId), eq(tickets.purpose, purpose), isNull(tickets.usedAt)));
    },
  };
}
