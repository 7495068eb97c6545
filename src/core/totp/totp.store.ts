/**
 * D1 store of users' TOTP state. Claiming a time step is one conditional UPDATE that refuses any
 * step at or below the last accepted one, so a replayed or parallel code fails.
 */
import { and, eq, gt, isNull, lt, notExists, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { attemptCounters, users } from "../../db/schema";
import { type AttemptPolicy, reserveStatement } from "../rate-limit/attempts.store";

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
  /**
   * In one round trip: counts one attempt on `attempt.key` (rate-limit/attempts) and, when `step` is
   * given, claims it as claimStep does unless that count left the key locked. Returns the key's
   * locked-until time and whether the step was claimed.
   */
  reserveAndClaim(
    userId: string,
    step: number | null,
    attempt: { key: string; now: number; policy: AttemptPolicy },
  ): Promise<{ lockedUntil: number; claimed: boolean }>;
}

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

/** The step is newer than the last accepted one (a replay or a parallel use of one code is not). */
const newerStep = (step: number) => or(isNull(users.totpLastStep), lt(users.totpLastStep, step));

export function createTotpStore(db: Db): TotpStore {
  const claimStatement = (userId: string, step: number, also?: SQL) =>
    db
      .update(users)
      .set({ totpLastStep: step })
      .where(and(eq(users.id, userId), eq(users.totpEnabled, true), newerStep(step), also));

  return {
    state: async (userId) => (await totpStateQuery(db, userId).get()) ?? null,

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
      const r = await claimStatement(userId, step).run();
      return r.meta.changes === 1;
    },

    async reserveAndClaim(userId, step, { key, now, policy }) {
      const reserve = reserveStatement(db, key, now, policy);
      if (step === null) {
        const [row] = await reserve;
        return { lockedUntil: row?.lockedUntil ?? 0, claimed: false };
      }
      const [[row], claim] = await db.batch([
        reserve,
        // Claimed only when the count just made left the key unlocked (what attempts.reserve would
        // have allowed before the claim).
        claimStatement(
          userId,
          step,
          notExists(
            db
              .select({ ok: sql`1` })
              .from(attemptCounters)
              .where(and(eq(attemptCounters.key, key), gt(attemptCounters.lockedUntil, now))),
          ),
        ),
      ]);
      return { lockedUntil: row?.lockedUntil ?? 0, claimed: claim.meta.changes === 1 };
    },
  };
}
