/**
 * D1 statements of SAML logins: AuthnRequests in flight, spent by one conditional UPDATE ...
 * RETURNING (a RelayState works once), and the accepted assertion IDs, recorded by one conditional
 * upsert (an ID is accepted once while it could still be valid).
 */
import { and, eq, gt, isNull, lt, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { samlAssertions, samlRequests } from "../../db/schema";

export type NewSamlRequest = Omit<typeof samlRequests.$inferInsert, "usedAt">;
export type SpentSamlRequest = Pick<
  typeof samlRequests.$inferSelect,
  "requestId" | "domain" | "redirectAfter"
>;

export interface SamlStore {
  addRequest(request: NewSamlRequest): Promise<void>;
  /** Spends the request with that key (saml.service requestKey) once; null when unknown, expired or already used. */
  spendRequest(hash: string, now: number): Promise<SpentSamlRequest | null>;
  /**
   * Records an accepted assertion ID; false when the same issuer's ID is already recorded and not
   * yet expired (a replay).
   */
  recordAssertion(issuer: string, assertionId: string, expiresAt: number, now: number): Promise<boolean>;
}

export function createSamlStore(db: Db): SamlStore {
  const r = samlRequests;
  const a = samlAssertions;
  return {
    async addRequest(request) {
      await db.insert(r).values(request);
    },

    async spendRequest(hash, now) {
      const row = await db
        .update(r)
        .set({ usedAt: now })
        .where(and(eq(r.hash, hash), isNull(r.usedAt), gt(r.expiresAt, now)))
        .returning({ requestId: r.requestId, domain: r.domain, redirectAfter: r.redirectAfter })
        .get();
      return row ?? null;
    },

    async recordAssertion(issuer, assertionId, expiresAt, now) {
      // An expired record (not yet purged) may be taken over; a live one may not.
      const row = await db
        .insert(a)
        .values({ issuer, assertionId, expiresAt })
        .onConflictDoUpdate({
          target: [a.issuer, a.assertionId],
          set: { expiresAt: sql`excluded.expires_at` },
          setWhere: lt(a.expiresAt, now),
        })
        .returning({ issuer: a.issuer })
        .get();
      return row !== undefined;
    },
  };
}
