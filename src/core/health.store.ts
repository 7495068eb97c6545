/** D1 side of the health probe. */
import { sql } from "drizzle-orm";
import type { Db } from "../db/client";

export interface HealthStore {
  /** Resolves when the database answers a trivial query; rejects otherwise. */
  ping(): Promise<void>;
}

export function createHealthStore(db: Db): HealthStore {
  return {
    async ping() {
      await db.get(sql`SELECT 1`);
    },
  };
}
