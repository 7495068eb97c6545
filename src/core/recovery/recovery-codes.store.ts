/**
 * D1 store of TOTP recovery codes. A code is spent by one conditional UPDATE (`used_at IS NULL`),
 * which the MFA ticket's sign-in batch runs under its own guard (tickets.store), so of any number
 * of parallel uses of one code exactly one signs in.
 */
import { and, count, eq, exists, isNull, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { recoveryCodes } from "../../db/schema";
import {
  type AttemptPolicy,
  type LockState,
  lockState,
  reserveStatement,
} from "../rate-limit/attempts.store";

export interface RecoveryCodeStore {
  /** Replaces the user's codes with `macs` in one batch (the old set is void at once). */
  replace(userId: string, macs: string[], now: number): Promise<void>;
  /** How many of the user's codes are unused. */
  remaining(userId: string): Promise<number>;
  /**
   * A sign-in try with a code, in one round trip: counts one attempt on `attempt.key` (the
   * reserving upsert of rate-limit/attempts) and tells whether the user holds the code unused.
   */
  attempt(
    userId: string,
    mac: string,
    attempt: { key: string; now: number; policy: AttemptPolicy },
  ): Promise<{ lock: LockState; unused: boolean }>;
}

const unusedCode = (userId: string, mac: string) =>
  and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeMac, mac), isNull(recoveryCodes.usedAt));

/** The condition under which spendCodeStatement spends the code (for a statement before it in a batch). */
export const codeUnused = (db: Db, userId: string, mac: string) =>
  exists(db.select({ ok: sql`1` }).from(recoveryCodes).where(unusedCode(userId, mac)));

/** Spending a code, as a statement another D1 store can put in its batch; with `guard`, only where it holds. */
export const spendCodeStatement = (db: Db, userId: string, mac: string, now: number, guard?: SQL) =>
  db
    .update(recoveryCodes)
    .set({ usedAt: now })
    .where(and(unusedCode(userId, mac), guard));

/** How many of the user's codes are unused, as a batch item of another D1 store (`{ n }`). */
export const remainingQuery = (db: Db, userId: string) =>
  db
    .select({ n: count() })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)));

/** Whether the user holds the code unused, as a batch item of another D1 store (a row when so). */
export const unusedCodeQuery = (db: Db, userId: string, mac: string) =>
  db.select({ ok: sql`1` }).from(recoveryCodes).where(unusedCode(userId, mac));

export function createRecoveryCodeStore(db: Db): RecoveryCodeStore {
  return {
    async replace(userId, macs, now) {
      await db.batch([
        db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
        db.insert(recoveryCodes).values(macs.map((codeMac) => ({ userId, codeMac, createdAt: now }))),
      ]);
    },

    async remaining(userId) {
      const row = await remainingQuery(db, userId).get();
      return row?.n ?? 0;
    },

    async attempt(userId, mac, { key, now, policy }) {
      const [[counted], found] = await db.batch([
        reserveStatement(db, key, now, policy),
        unusedCodeQuery(db, userId, mac),
      ]);
      return { lock: lockState(counted, now), unused: found.length > 0 };
    },
  };
}
