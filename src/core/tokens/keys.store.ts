/**
 * D1 statements of the development signing keys: one persisted key per algorithm, inserted only
 * if absent so that racing isolates keep whichever was stored first.
 */
import { eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { devSigningKeys } from "../../db/schema";

export type DevSigningKey = typeof devSigningKeys.$inferSelect;

export interface SigningKeyStore {
  /** The stored private JWK (JSON) for the algorithm, or null. */
  find(alg: string): Promise<string | null>;
  /** Stores the key unless one exists for its algorithm already. */
  addIfAbsent(key: DevSigningKey): Promise<void>;
}

export function createSigningKeyStore(db: Db): SigningKeyStore {
  return {
    async find(alg) {
      const row = await db
        .select({ privateJwk: devSigningKeys.privateJwk })
        .from(devSigningKeys)
        .where(eq(devSigningKeys.alg, alg))
        .get();
      return row?.privateJwk ?? null;
    },

    async addIfAbsent(key) {
      await db.insert(devSigningKeys).values(key).onConflictDoNothing();
    },
  };
}
