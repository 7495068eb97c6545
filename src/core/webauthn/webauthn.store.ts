/**
 * D1 statements of the WebAuthn service: passkeys and their single-use challenges. A challenge is
 * spent by one conditional UPDATE, which a sign counter only passes while it moves forward, so
 * parallel requests can neither reuse a challenge nor roll a counter back. The spend writes a fresh
 * marker (`spent_into`: the new session's id, or a registration's own id), and what the challenge
 * earns is written in the same batch only where that marker stands.
 */
import { and, asc, eq, exists, gt, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { emails, users, webauthnChallenges, webauthnCredentials } from "../../db/schema";
import {
  authenticatedStatement,
  type NewRefreshToken,
  type NewSession,
  type SessionUserRow,
  sessionStatements,
  sessionUserQuery,
} from "../sessions/sessions.store";

/** A stored passkey (the credential row as the schema types it). */
export type Passkey = typeof webauthnCredentials.$inferSelect;
export type NewPasskey = Omit<typeof webauthnCredentials.$inferInsert, "name" | "lastUsedAt"> & {
  name: string;
};
export type NewChallenge = typeof webauthnChallenges.$inferInsert;

/** A verified assertion's sign-in: the challenge to spend into the new session, the use to record. */
export interface PasskeySignIn {
  hash: string;
  now: number;
  /** The credential and its new counter and backup state. */
  use: { id: string; userId: string; signCount: number; backupState: boolean };
  session: NewSession;
  firstToken: NewRefreshToken;
  keep: number;
}

/** What a challenge is for: a registration, a sign-in, or a signed-in user's re-authentication. */
export type Purpose = "registration" | "authentication" | "reauthentication";

export interface WebAuthnStore {
  addChallenge(challenge: NewChallenge): Promise<void>;
  /**
   * Registration options' round trip: stores `challenge` for its user when that user exists, and
   * reads the user's primary address and passkeys. `found` is false for an unknown user.
   */
  openRegistration(
    challenge: NewChallenge & { userId: string },
  ): Promise<{ found: boolean; email: string | null; passkeys: Passkey[] }>;
  /**
   * A login's read: the unspent, unexpired challenge `hash` of `purpose` (default: authentication),
   * and the credential `id`.
   */
  openLogin(
    hash: string,
    id: string,
    now: number,
    purpose?: Purpose,
  ): Promise<{ challenge: { userId: string | null } | null; passkey: Passkey | null }>;
  /**
   * A re-authentication, one round trip, all or nothing: spends the reauthentication challenge of
   * `use.userId` while it is unspent, unexpired, the counter moves forward and `sessionId` is a live
   * session of that enabled user; only where it did, records the use and sets the session's
   * `auth_at`. The challenge is spent in any case. False when nothing was recorded.
   */
  reauthenticate(input: {
    hash: string;
    now: number;
    use: PasskeySignIn["use"];
    sessionId: string;
  }): Promise<boolean>;
  /**
   * One round trip, all or nothing: spends the challenge into the new session while it is unspent,
   * unexpired, for this credential's user (or anyone's), the stored counter is below the new one
   * (or both are zero) and the user is enabled; only where it did, records the use and writes the
   * session. The challenge is spent in any case. Then reads the session's user.
   */
  signIn(input: PasskeySignIn): Promise<{
    user: SessionUserRow | null;
    /** Whether the account is disabled (null when it is gone). */
    disabled: boolean | null;
    endedOthers: number;
  }>;
  /**
   * One round trip, all or nothing: spends the registration challenge `hash` of `passkey.userId`
   * (unspent, unexpired) and, only where it did, stores the passkey. `spent` is false when the
   * challenge was not there to spend; `passkey` null when the credential was registered already.
   * Also reads the user's primary address (for the notice).
   */
  register(
    hash: string,
    passkey: NewPasskey,
  ): Promise<{ spent: boolean; passkey: Passkey | null; email: string | null }>;
  /**
   * Spends the challenge with that hash and purpose once; null when unknown, spent, expired or of
   * another purpose.
   */
  spendChallenge(hash: string, purpose: string, now: number): Promise<{ userId: string | null } | null>;
  /** The user's passkeys, oldest first. */
  listByUser(userId: string): Promise<Passkey[]>;
  /** The renamed passkey; null unless the credential is the user's. */
  rename(userId: string, id: string, name: string): Promise<Passkey | null>;
  /** False unless the credential is the user's. */
  remove(userId: string, id: string): Promise<boolean>;
}

export function createWebAuthnStore(db: Db): WebAuthnStore {
  const c = webauthnCredentials;
  const ch = webauthnChallenges;
  const usable = (hash: string, purpose: string, now: number) =>
    and(eq(ch.hash, hash), eq(ch.purpose, purpose), isNull(ch.usedAt), gt(ch.expiresAt, now));
  /** The challenge `hash` stands spent into `marker` (by this batch: markers are fresh ids). */
  const spentInto = (hash: string, marker: string): SQL =>
    exists(
      db
        .select({ one: sql`1` })
        .from(ch)
        .where(and(eq(ch.hash, hash), eq(ch.spentInto, marker))),
    );
  const primaryEmail = (userId: string) =>
    db
      .select({ address: emails.address })
      .from(emails)
      .where(and(eq(emails.userId, userId), eq(emails.isPrimary, true)));
  const byUser = (userId: string) =>
    db.select().from(c).where(eq(c.userId, userId)).orderBy(asc(c.createdAt), asc(c.id));

  return {
    async addChallenge(challenge) {
      await db.insert(ch).values(challenge);
    },

    async openRegistration(challenge) {
      const value = <T>(v: T, name: string) => sql<T>`${v}`.as(name);
      const [, found, address, passkeys] = await db.batch([
        db.insert(ch).select(
          db
            .select({
              hash: value(challenge.hash, "hash"),
              purpose: value(challenge.purpose, "purpose"),
              userId: users.id,
              createdAt: value(challenge.createdAt, "created_at"),
              expiresAt: value(challenge.expiresAt, "expires_at"),
              usedAt: value(null, "used_at"),
              spentInto: value(null, "spent_into"),
            })
            .from(users)
            .where(eq(users.id, challenge.userId)),
        ),
        db.select({ id: users.id }).from(users).where(eq(users.id, challenge.userId)),
        primaryEmail(challenge.userId),
        byUser(challenge.userId),
      ]);
      return { found: found.length > 0, email: address[0]?.address ?? null, passkeys };
    },

    async openLogin(hash, id, now, purpose = "authentication") {
      const [challenge, passkey] = await db.batch([
        db
          .select({ userId: ch.userId })
          .from(ch)
          .where(usable(hash, purpose, now)),
        db.select().from(c).where(eq(c.id, id)),
      ]);
      return { challenge: challenge[0] ?? null, passkey: passkey[0] ?? null };
    },

    async signIn({ hash, now, use, session, firstToken, keep }) {
      const spentHere = spentInto(hash, session.id);
      const counterMoves = or(
        lt(c.signCount, use.signCount),
        and(eq(c.signCount, 0), sql`${use.signCount} = 0`),
      );
      const [, , state, ...rest] = await db.batch([
        db
          .update(ch)
          .set({ usedAt: now, spentInto: session.id })
          .where(
            and(
              usable(hash, "authentication", now),
              // A challenge issued for one user only accepts that user's credentials.
              or(isNull(ch.userId), eq(ch.userId, use.userId)),
              // Conditional on the counter still being below the new value: no rollback by a parallel login.
              exists(
                db
                  .select({ one: sql`1` })
                  .from(c)
                  .where(and(eq(c.id, use.id), eq(c.userId, use.userId), counterMoves)),
              ),
              exists(
                db
                  .select({ one: sql`1` })
                  .from(users)
                  .where(and(eq(users.id, use.userId), eq(users.disabled, false))),
              ),
            ),
          ),
        db
          .update(c)
          .set({ signCount: use.signCount, backupState: use.backupState, lastUsedAt: now })
          .where(and(eq(c.id, use.id), spentHere)),
        db.select({ disabled: users.disabled }).from(users).where(eq(users.id, use.userId)),
        ...sessionStatements(db, { session, firstToken, keep, guard: spentHere }),
        // A failed attempt spends the challenge too.
        db
          .update(ch)
          .set({ usedAt: now })
          .where(and(eq(ch.hash, hash), isNull(ch.usedAt))),
        sessionUserQuery(db, session.id),
      ]);
      const capped = rest[2] as { meta: { changes: number } };
      const found = rest[rest.length - 1] as SessionUserRow[];
      return {
        user: found[0] ?? null,
        disabled: (state as { disabled: boolean }[])[0]?.disabled ?? null,
        endedOthers: capped.meta.changes,
      };
    },

    async reauthenticate({ hash, now, use, sessionId }) {
      const marker = crypto.randomUUID();
      const spentHere = spentInto(hash, marker);
      const counterMoves = or(
        lt(c.signCount, use.signCount),
        and(eq(c.signCount, 0), sql`${use.signCount} = 0`),
      );
      const [, , recorded] = await db.batch([
        db
          .update(ch)
          .set({ usedAt: now, spentInto: marker })
          .where(
            and(
              usable(hash, "reauthentication", now),
              // Bound to the user it was issued to, and only for a live session of theirs.
              eq(ch.userId, use.userId),
              exists(
                db
                  .select({ one: sql`1` })
                  .from(c)
                  .where(and(eq(c.id, use.id), eq(c.userId, use.userId), counterMoves)),
              ),
            ),
          ),
        db
          .update(c)
          .set({ signCount: use.signCount, backupState: use.backupState, lastUsedAt: now })
          .where(and(eq(c.id, use.id), spentHere)),
        authenticatedStatement(db, sessionId, use.userId, now, spentHere),
        // A failed attempt spends the challenge too.
        db
          .update(ch)
          .set({ usedAt: now })
          .where(and(eq(ch.hash, hash), isNull(ch.usedAt))),
      ]);
      return recorded.meta.changes === 1;
    },

    async register(hash, passkey) {
      const now = passkey.createdAt;
      const marker = crypto.randomUUID();
      const value = <T>(v: T, name: string) => sql<T>`${v}`.as(name);
      const [spent, added, address] = await db.batch([
        db
          .update(ch)
          .set({ usedAt: now, spentInto: marker })
          .where(and(usable(hash, "registration", now), eq(ch.userId, passkey.userId)))
          .returning({ hash: ch.hash }),
        db
          .insert(c)
          .select(
            db
              .select({
                id: value(passkey.id, "id"),
                userId: users.id,
                publicKey: value(passkey.publicKey, "public_key"),
                signCount: value(passkey.signCount, "sign_count"),
                transports: value(JSON.stringify(passkey.transports ?? []), "transports"),
                aaguid: value(passkey.aaguid ?? null, "aaguid"),
                attestationType: value(passkey.attestationType ?? null, "attestation_type"),
                backupEligible: value(passkey.backupEligible ? 1 : 0, "backup_eligible"),
                backupState: value(passkey.backupState ? 1 : 0, "backup_state"),
                name: value(passkey.name, "name"),
                createdAt: value(passkey.createdAt, "created_at"),
                lastUsedAt: value(null, "last_used_at"),
              })
              .from(users)
              .where(and(eq(users.id, passkey.userId), spentInto(hash, marker))),
          )
          .onConflictDoNothing({ target: c.id })
          .returning(),
        primaryEmail(passkey.userId),
      ]);
      return {
        spent: spent.length > 0,
        passkey: added[0] ?? null,
        email: address[0]?.address ?? null,
      };
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

    listByUser(userId) {
      return byUser(userId).all();
    },

    async rename(userId, id, name) {
      const row = await db
        .update(c)
        .set({ name })
        .where(and(eq(c.id, id), eq(c.userId, userId)))
        .returning()
        .get();
      return row ?? null;
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
