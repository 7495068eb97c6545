/**
 * D1 statements of the WebAuthn service: passkeys and their single-use challenges. A challenge is
 * spent by one conditional UPDATE ... RETURNING, and a sign counter only moves forward by one
 * conditional UPDATE, so parallel requests can neither reuse a challenge nor roll a counter back.
 */
import { and, asc, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { isUniqueViolation } from "../../db/errors";
import { webauthnChallenges, webauthnCredentials } from "../../db/schema";

/** A stored passkey (the credential row as the schema types it). */
export type Passkey = typeof webauthnCredentials.$inferSelect;
export type NewPasskey = Omit<typeof webauthnCredentials.$inferInsert, "name" | "lastUsedAt">;
export type NewChallenge = typeof webauthnChallenges.$inferInsert;

export interface WebAuthnStore {
  addChallenge(challenge: NewChallenge): Promise<void>;
  /**
   * Spends the challenge with that hash and purpose once; null when unknown, spent, expired or of
   * another purpose.
   */
  spendChallenge(hash: string, purpose: string, now: number): Promise<{ userId: string | null } | null>;
  /** Stores a new passkey; null when a credential with that id is already registered. */
  addCredential(passkey: NewPasskey): Promise<Passkey | null>;
  findCredential(id: string): Promise<Passkey | null>;
  /**
   * Records a login: sets the counter, backup state and last use only while the stored counter is
   * below `signCount` (or both are zero). False when that guard failed.
   */
  recordUse(id: string, signCount: number, backupState: boolean, now: number): Promise<boolean>;
  /** The user's passkeys, oldest first. */
  listByUser(userId: string): Promise<Passkey[]>;
  /** False unless the credential is the user's. */
  rename(userId: string, id: string, name: string): Promise<boolean>;
  /** False unless the credential is the user's. */
  remove(userId: string, id: string): Promise<boolean>;
}

export function createWebAuthnStore(db: Db): WebAuthnStore {
  const c = webauthnCredentials;
  const ch = webauthnChallenges;
  return {
    async addChallenge(challenge) {
      await db.insert(ch).values(challenge);
    },

    async spendChallenge(hash, purpose, now) {
      const row = await db
        .update(ch)
        .set({ usedAt: now })
        .where(and(eq(ch.hash, hash), eq(ch.purpose, purpose), isNull(ch.usedAt), gt(ch.expiresAt, now)))
        .returning({ userId: ch.userId })
        .get();
      return row ?? null;
    },

    async addCredential(passkey) {
      try {
        const row = await db
          .insert(c)
          .values({ ...passkey, name: null })
          .returning()
          .get();
        return row!;
      } catch (e) {
        if (isUniqueViolation(e, "webauthn_credentials.id")) return null;
        throw e;
      }
    },

    async findCredential(id) {
      return (await db.select().from(c).where(eq(c.id, id)).get()) ?? null;
    },

    async recordUse(id, signCount, backupState, now) {
      const row = await db
        .update(c)
        .set({ signCount, backupState, lastUsedAt: now })
        .where(
          and(eq(c.id, id), or(lt(c.signCount, signCount), and(eq(c.signCount, 0), sql`${signCount} = 0`))),
        )
        .returning({ id: c.id })
        .get();
      return row !== undefined;
    },

    listByUser(userId) {
      return db.select().from(c).where(eq(c.userId, userId)).orderBy(asc(c.createdAt), asc(c.id)).all();
    },

    async rename(userId, id, name) {
      const row = await db
        .update(c)
        .set({ name })
        .where(and(eq(c.id, id), eq(c.userId, userId)))
        .returning({ id: c.id })
        .get();
      return row !== undefined;
    },

    async remove(userId, id) {
      const row = await db
        .delete(c)
        .where(and(eq(c.id, id), eq(c.userId, userId)))
        .returning({ id: c.id })
        .get();
      return row !== undefined;
    },
  };
}
