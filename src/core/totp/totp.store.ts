/**
 * D1 store of users' TOTP state. Claiming a time step is one conditional UPDATE that refuses any
 * step at or below the last accepted one, so a replayed or parallel code fails.
 */
import { and, eq, exists, isNull, lt, notExists, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { recoveryCodes, users } from "../../db/schema";

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

/**
 * Claiming a step (what claimStep does), as a statement another D1 store can put in its own batch;
 * with `guard`, only where it holds too.
 */
export const claimStepStatement = (db: Db, userId: string, step: number, guard?: SQL) =>
  db
    .update(users)
    .set({ totpLastStep: step })
    .where(and(eq(users.id, userId), eq(users.totpEnabled, true), newerStep(step), guard));

/** The condition under which claimStepStatement claims `step` (for a statement before it in the batch). */
export const stepClaimable = (db: Db, userId: string, step: number) =>
  exists(
    db
      .select({ ok: sql`1` })
      .from(users)
      .where(and(eq(users.id, userId), eq(users.totpEnabled, true), newerStep(step))),
  );

/** A user's TOTP columns, as a batch item of another D1 store (the MFA ticket's attempt reads them). */
export const totpStateQuery = (db: Db, userId: SQL | string) =>
  db
    .select({
      totpSecret: users.totpSecret,
      totpPendingSecret: users.totpPendingSecret,
      totpEnabled: users.totpEnabled,
    })
    .from(users)
    .where(eq(users.id, userId));

/** Deletes the user's recovery codes where TOTP is off (they belong to the secret that was on). */
const deleteCodesWhileOff = (db: Db, userId: string) =>
  db.delete(recoveryCodes).where(
    and(
      eq(recoveryCodes.userId, userId),
      notExists(
        db
          .select({ ok: sql`1` })
          .from(users)
          .where(and(eq(users.id, userId), eq(users.totpEnabled, true))),
      ),
    ),
  );

export function createTotpStore(db: Db): TotpStore {
  return {
    state: async (userId) => (await totpStateQuery(db, userId).get()) ?? null,

    async setPending(userId, sealedSecret, now) {
      await db
        .update(users)
        .set({ totpPendingSecret: sealedSecret, updatedAt: now })
        .where(eq(users.id, userId));
    },

    async enable(userId, sealedPending, step, now) {
      // Codes of an earlier TOTP secret never carry over to a new one.
      const [, r] = await db.batch([
        deleteCodesWhileOff(db, userId),
        db
          .update(users)
          .set({
            totpSecret: sql`${users.totpPendingSecret}`,
            totpPendingSecret: null,
            totpEnabled: true,
            totpLastStep: step,
            updatedAt: now,
          })
          .where(
            and(
              eq(users.id, userId),
              eq(users.totpEnabled, false),
              eq(users.totpPendingSecret, sealedPending),
            ),
          ),
      ]);
      return r.meta.changes === 1;
    },

    async disable(userId, step, now) {
      // The recovery codes go with TOTP, in the same transaction.
      const [r] = await db.batch([
        db
          .update(users)
          .set({ totpSecret: null, totpEnabled: false, totpLastStep: step, updatedAt: now })
          .where(and(eq(users.id, userId), eq(users.totpEnabled, true), newerStep(step))),
        deleteCodesWhileOff(db, userId),
      ]);
      return r.meta.changes === 1;
    },

    async claimStep(userId, step) {
      const r = await claimStepStatement(db, userId, step).run();
      return r.meta.changes === 1;
    },
  };
}
