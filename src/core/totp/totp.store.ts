/**
 * D1 store of users' TOTP state. Claiming a time step is one conditional UPDATE that refuses any
 * step at or below the last accepted one, so a replayed or parallel code fails.
 */
import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { users } from "../../db/schema";

export type TotpStateRow = Pick<
  typeof users.$inferSelect,
  "totpSecret" | "totpPendingSecret" | "totpEnabled"
>;

export interface TotpStore {
  /** The user's TOTP columns; null for an unknown user. */
  state(userId: string): Promise<TotpStateRow | null>;
  /** Stores a sealed pending secret (replacing an earlier one). */
  setPending(userId: string, sealedSecret: string, now: number): Promise<void>;
  /** Turns TOTP on with the pending secret if it is still `sealedPending` and TOTP is off; false otherwise. */
  enable(userId: string, sealedPending: string, step: number, now: number): Promise<boolean>;
  /** Turns TOTP off if on and `step` is past the last accepted step; false otherwise. */
  disable(userId: string, step: number, now: number): Promise<boolean>;
  /** Records `step` as accepted if TOTP is on and it is past the last accepted step; false otherwise. */
  claimStep(userId: string, step: number): Promise<boolean>;
}

/** The step is newer than the last accepted one (a replay or a parallel use of one code is not). */
const newerStep = (step: number) => or(isNull(users.totpLastStep), lt(users.totpLastStep, step));

export function createTotpStore(db: Db): TotpStore {
  return {
    state: async (userId) =>
      (await db
        .select({
          totpSecret: users.totpSecret,
          totpPendingSecret: users.totpPendingSecret,
          totpEnabled: users.totpEnabled,
        })
        .from(users)
        .where(eq(users.id, userId))
        .get()) ?? null,

    async setPending(userId, sealedSecret, now) {
      await db
        .update(users)
        .set({ totpPendingSecret: sealedSecret, updatedAt: now })
        .where(eq(users.id, userId));
    },

    async enable(userId, sealedPending, step, now) {
      const r = await db
        .update(users)
        .set({
          totpSecret: sql`${users.totpPendingSecret}`,
          totpPendingSecret: null,
          totpEnabled: true,
          totpLastStep: step,
          updatedAt: now,
        })
        .where(
          and(eq(users.id, userId), eq(users.totpEnabled, false), eq(users.totpPendingSecret, sealedPending)),
        )
        .run();
      return r.meta.changes === 1;
    },

    async disable(userId, step, now) {
      const r = await db
        .update(users)
        .set({ totpSecret: null, totpEnabled: false, totpLastStep: step, updatedAt: now })
        .where(and(eq(users.id, userId), eq(users.totpEnabled, true), newerStep(step)))
        .run();
      return r.meta.changes === 1;
    },

    async claimStep(userId, step) {
      const r = await db
        .update(users)
        .set({ totpLastStep: step })
        .where(and(eq(users.id, userId), eq(users.totpEnabled, true), newerStep(step)))
        .run();
      return r.meta.changes === 1;
    },
  };
}
