/**
 * Where sessions and their refresh-token families are kept. The D1 implementation below keeps the
 * exactly-once guarantees of sessions.service.ts: a rotation is one batch whose later statements are
 * guarded by the marker (`replaced_by`) its first statement wrote, and an access token is exchanged
 * once through one conditional INSERT.
 */
import {
  and,
  desc,
  eq,
  exists,
  gt,
  gte,
  inArray,
  isNotNull,
  isNull,
  lt,
  ne,
  notInArray,
  or,
  type SQL,
  sql,
} from "drizzle-orm";
import type { Db } from "../../db/client";
import { emails, refreshTokens, sessions, tickets, users } from "../../db/schema";
import { clearStatement } from "../rate-limit/attempts.store";
import { rehashStatement } from "../users/users.store";

export type NewSession = typeof sessions.$inferInsert;
export type NewRefreshToken = typeof refreshTokens.$inferInsert;

/** The user of a session, as tokens are issued for it. */
export type SessionUserRow = Pick<
  typeof users.$inferSelect,
  "id" | "defaultRole" | "allowedRoles" | "disabled" | "displayName" | "avatarUrl" | "locale" | "metadata"
> & { email: (typeof emails.$inferSelect)["address"] | null };

export type SessionRoles = Pick<typeof users.$inferSelect, "defaultRole" | "allowedRoles">;

/** What a login writes along with its session, in the same round trip. */
export interface SessionWriteExtras {
  /** An attempt-counter key to clear (rate-limit/attempts). */
  clearAttempts?: string;
  /**
   * A new hash for the user's password (the stored one used weaker parameters or was imported):
   * `from`, the hash the login verified, becomes `to` while it is still stored.
   */
  rehash?: { from: string; to: string };
}

export interface SessionRef {
  sessionId: string;
  userId: string;
}

/** The one-time claim on an access token's jti (vault reissue), kept until the token could no longer be used. */
export interface ReissueClaim {
  hash: string;
  userId: string;
  sessionId: string;
  createdAt: number;
  expiresAt: number;
}

/** What `reissue` found: `claimed` when this call stored the claim; `claimedAt` null when there is none. */
export interface ReissueOutcome {
  claimed: boolean;
  claimedAt: number | null;
  alive: boolean;
  user: SessionUserRow | null;
}

export interface SessionStore {
  /**
   * Stores a session with its first refresh token and, together with them, ends the user's oldest
   * live sessions beyond the newest `keep`. Returns how many sessions that ended. `also` joins the
   * same write: the login's attempt counter cleared, a password rehashed on the way in.
   */
  create(
    session: NewSession,
    firstToken: NewRefreshToken,
    keep: number,
    also?: SessionWriteExtras,
  ): Promise<number>;
  /**
   * Presents refresh token `oldHash`, in one round trip: rotates it to `childHash` when it is live
   * (the child lives `idleMs`, never past its session's end) and marks the session seen; ends the
   * session when the token was rotated `graceMs` or longer ago (reuse); and reads the session's
   * user when the token stands rotated to `childHash` less than `graceMs` ago (by this call or by a
   * parallel one) in a live session. `user` is null when the token gives no session.
   */
  present(
    oldHash: string,
    childHash: string,
    now: number,
    times: { idleMs: number; graceMs: number },
  ): Promise<{
    user: (SessionUserRow & { sessionId: string }) | null;
    /** The session ended because an old token came back (reuse detection). */
    reuseEnded: { sessionId: string; userId: string } | null;
  }>;
  /** The user of a session (whatever the session's state), with the primary address. */
  user(sessionId: string): Promise<SessionUserRow | null>;
  /** The roles of `userId` when its session is alive and the user enabled. */
  aliveRoles(sessionId: string, userId: string, now: number): Promise<SessionRoles | null>;
  /** The session of any refresh token of its family (rotated or not) while the session is alive. */
  byRefreshToken(hash: string, now: number): Promise<SessionRef | null>;
  /**
   * The session of a current refresh token (unexpired, not rotated or rotated less than `graceMs`
   * ago) while the session is alive and its user enabled.
   */
  byCurrentRefreshToken(
    hash: string,
    now: number,
    graceMs: number,
  ): Promise<(SessionRef & { amr: string[]; authAt: number }) | null>;
  /**
   * A vault reissue in one round trip: stores the claim when the session of its user is alive and
   * the user enabled (of parallel claims exactly one inserts), reads back when the claim was made
   * (this one or an earlier one), touches the session when that claim is younger than `graceMs`,
   * and reads the session's user and whether the session is alive.
   */
  reissue(claim: ReissueClaim, graceMs: number): Promise<ReissueOutcome>;
  /** Ends the session; answers it when it was live until now. */
  revoke(sessionId: string, now: number): Promise<EndedSession[]>;
  /** Ends every session of the user but `exceptSessionId`; answers those that were live until now. */
  revokeAll(userId: string, now: number, exceptSessionId?: string): Promise<EndedSession[]>;
  /** The user's live sessions, newest first. */
  listLive(userId: string, now: number): Promise<SessionListRow[]>;
  /** Ends the session if it is a live one of `userId`; false otherwise (one conditional UPDATE). */
  revokeOwn(userId: string, sessionId: string, now: number): Promise<boolean>;
  /**
   * When the user last proved a credential in the session (`auth_at`), while it is a live session
   * of `userId` and the user enabled; null otherwise.
   */
  authAt(sessionId: string, userId: string, now: number): Promise<number | null>;
  /**
   * Records a fresh authentication (`auth_at = now`) in a live session of `userId` whose user is
   * enabled; false otherwise (one conditional UPDATE, see `authenticatedStatement`).
   */
  markAuthenticated(sessionId: string, userId: string, now: number): Promise<boolean>;
}

/**
 * The step-up write: `auth_at = now` on the session when it is a live one of `userId`, the user
 * enabled and `guard` (another statement's marker in the same batch) holds.
 */
export function authenticatedStatement(db: Db, sessionId: string, userId: string, now: number, guard?: SQL) {
  return db
    .update(sessions)
    .set({ authAt: now })
    .where(
      and(
        eq(sessions.id, sessionId),
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, now),
        exists(
          db
            .select({ one: sql`1` })
            .from(users)
            .where(and(eq(users.id, userId), eq(users.disabled, false))),
        ),
        guard,
      ),
    );
}

export interface EndedSession {
  sessionId: string;
  userId: string;
}
const ended = { sessionId: sessions.id, userId: sessions.userId };

export type SessionListRow = Pick<
  typeof sessions.$inferSelect,
  "id" | "createdAt" | "lastSeenAt" | "userAgent" | "ip" | "amr"
>;

/** The purpose the reissue claims carry in tickets (they share its one-time semantics and its clean-up). */
const REISSUE = "access_reissue";

/** The user as tokens are issued for it (SessionUserRow). */
const sessionUserFields = {
  id: users.id,
  defaultRole: users.defaultRole,
  allowedRoles: users.allowedRoles,
  disabled: users.disabled,
  displayName: users.displayName,
  avatarUrl: users.avatarUrl,
  locale: users.locale,
  metadata: users.metadata,
  email: emails.address,
};

/**
 * A new session's statements, for the D1 stores that start a session in the same batch as they
 * spend a one-time secret (passcodes, tickets, WebAuthn challenges): the session, its first refresh
 * token, the cap on live sessions, and `also`. With `guard` (a condition such as "this passcode row
 * is spent into this session id"), the session row is written only where the guard holds, and
 * everything after it only where the session row exists, so a lost race writes nothing. The first
 * three items are always the session insert, the token insert and the cap update (whose `changes`
 * count the sessions it ended).
 */
export function sessionStatements(
  db: Db,
  input: {
    session: NewSession;
    firstToken: NewRefreshToken;
    keep: number;
    also?: SessionWriteExtras;
    guard?: SQL;
  },
) {
  const { session, firstToken, keep, also = {}, guard } = input;
  const value = <T>(v: T, name: string) => sql<T>`${v}`.as(name);
  const insertSession = guard
    ? db.insert(sessions).select(
        db
          .select({
            id: value(session.id, "id"),
            userId: users.id,
            createdAt: value(session.createdAt, "created_at"),
            lastSeenAt: value(session.lastSeenAt, "last_seen_at"),
            expiresAt: value(session.expiresAt, "expires_at"),
            revokedAt: value(null, "revoked_at"),
            userAgent: value(session.userAgent ?? null, "user_agent"),
            ip: value(session.ip ?? null, "ip"),
            amr: value(JSON.stringify(session.amr), "amr"),
            authAt: value(session.authAt ?? session.createdAt, "auth_at"),
          })
          .from(users)
          .where(and(eq(users.id, session.userId), guard)),
      )
    : db.insert(sessions).values(session);
  const insertToken = guard
    ? db.insert(refreshTokens).select(
        db
          .select({
            hash: value(firstToken.hash, "hash"),
            sessionId: sessions.id,
            parentHash: value(null, "parent_hash"),
            createdAt: value(firstToken.createdAt, "created_at"),
            expiresAt: value(firstToken.expiresAt, "expires_at"),
            rotatedAt: value(null, "rotated_at"),
            replacedBy: value(null, "replaced_by"),
          })
          .from(sessions)
          .where(eq(sessions.id, session.id)),
      )
    : db.insert(refreshTokens).values(firstToken);
  return [
    insertSession,
    insertToken,
    // Keep at most `keep` live sessions: the oldest beyond that end now (nothing, when a guarded
    // session was not written and the user had no more than `keep`).
    db
      .update(sessions)
      .set({ revokedAt: session.createdAt })
      .where(
        and(
          eq(sessions.userId, session.userId),
          isNull(sessions.revokedAt),
          notInArray(
            sessions.id,
            db
              .select({ id: sessions.id })
              .from(sessions)
              .where(and(eq(sessions.userId, session.userId), isNull(sessions.revokedAt)))
              .orderBy(desc(sessions.createdAt), sessions.id)
              .limit(keep),
          ),
        ),
      ),
    ...(also.clearAttempts ? [clearStatement(db, also.clearAttempts)] : []),
    ...(also.rehash
      ? [rehashStatement(db, session.userId, also.rehash.from, also.rehash.to, session.createdAt)]
      : []),
  ] as const;
}

/** The user of a session as tokens are issued for it, as a batch item (null row when the session was not written). */
export const sessionUserQuery = (db: Db, sessionId: string) =>
  db
    .select(sessionUserFields)
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .leftJoin(emails, and(eq(emails.userId, users.id), eq(emails.isPrimary, true)))
    .where(eq(sessions.id, sessionId));

/** Ending every live session of a user (revokeAll), as a statement for another D1 store's batch; with `guard`, only where it holds. */
export const revokeAllStatement = (db: Db, userId: string | SQL, now: number, guard?: SQL) =>
  db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), guard));

export function createSessionStore(db: Db): SessionStore {
  const liveSession = (now: number) => and(isNull(sessions.revokedAt), gt(sessions.expiresAt, now));

  /** The session of `userId` is alive and its user enabled (sessions joined with users). */
  const liveSessionOf = (sessionId: string, userId: string, now: number) =>
    and(eq(sessions.id, sessionId), eq(sessions.userId, userId), liveSession(now), eq(users.disabled, false));

  const sessionOf = (refreshHash: string) =>
    db.select({ id: refreshTokens.sessionId }).from(refreshTokens).where(eq(refreshTokens.hash, refreshHash));

  return {
    async create(session, firstToken, keep, also = {}) {
      const [, , capped] = await db.batch(sessionStatements(db, { session, firstToken, keep, also }));
      return capped.meta.changes;
    },

    async present(oldHash, childHash, now, { idleMs, graceMs }) {
      const [, , , reused, current] = await db.batch([
        // 1. The rotation: only a live token of a live session; writes the marker.
        db
          .update(refreshTokens)
          .set({ rotatedAt: now, replacedBy: childHash })
          .where(
            and(
              eq(refreshTokens.hash, oldHash),
              isNull(refreshTokens.rotatedAt),
              gt(refreshTokens.expiresAt, now),
              inArray(
                refreshTokens.sessionId,
                db.select({ id: sessions.id }).from(sessions).where(liveSession(now)),
              ),
            ),
          ),
        // 2. The child, only where this batch's first statement (or a parallel one) wrote the
        // marker. A parallel loser finds the same successor already there: nothing to add.
        db
          .insert(refreshTokens)
          .select(
            db
              .select({
                hash: sql<string>`${childHash}`.as("hash"),
                sessionId: refreshTokens.sessionId,
                parentHash: refreshTokens.hash,
                createdAt: sql<number>`${now}`.as("created_at"),
                // The child's expiry: idle lifetime, never past the session's absolute end.
                expiresAt: sql<number>`MIN(${now} + ${idleMs}, ${sessions.expiresAt})`.as("expires_at"),
                rotatedAt: sql<null>`NULL`.as("rotated_at"),
                replacedBy: sql<null>`NULL`.as("replaced_by"),
              })
              .from(refreshTokens)
              .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
              .where(and(eq(refreshTokens.hash, oldHash), eq(refreshTokens.replacedBy, childHash))),
          )
          .onConflictDoNothing({ target: refreshTokens.hash }),
        // 3. The session's last use.
        db
          .update(sessions)
          .set({ lastSeenAt: now })
          .where(eq(sessions.id, sessionOf(childHash))),
        // 4. Reuse: a token rotated before the grace window (never the one statement 1 just
        // rotated, whose rotated_at is now, even with no grace) ends its whole session. Statements
        // 4 and 5 split rotated tokens at now - grace: before it reuse, from it on a retry.
        db
          .update(sessions)
          .set({ revokedAt: now })
          .where(
            and(
              isNull(sessions.revokedAt),
              eq(
                sessions.id,
                db
                  .select({ id: refreshTokens.sessionId })
                  .from(refreshTokens)
                  .where(
                    and(
                      eq(refreshTokens.hash, oldHash),
                      isNotNull(refreshTokens.rotatedAt),
                      lt(refreshTokens.rotatedAt, sql`${now} - ${graceMs}`),
                    ),
                  ),
              ),
            ),
          )
          .returning({ endedSessionId: sessions.id, endedUserId: sessions.userId }),
        // 5. What the new access token needs: the user, when the token stands rotated to this
        // child within the grace window in a live session (a retry or a second tab gets the same
        // successor; nothing more is written for it).
        db
          // (D1 batches answer rows as objects: each column name must be unique in the select.)
          .select({ sessionId: refreshTokens.sessionId, ...sessionUserFields })
          .from(refreshTokens)
          .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
          .innerJoin(users, eq(users.id, sessions.userId))
          .leftJoin(emails, and(eq(emails.userId, users.id), eq(emails.isPrimary, true)))
          .where(
            and(
              eq(refreshTokens.hash, oldHash),
              eq(refreshTokens.replacedBy, childHash),
              gte(refreshTokens.rotatedAt, sql`${now} - ${graceMs}`),
              liveSession(now),
            ),
          ),
      ]);
      const ended = reused[0];
      return {
        user: current[0] ?? null,
        reuseEnded: ended ? { sessionId: ended.endedSessionId, userId: ended.endedUserId } : null,
      };
    },

    async user(sessionId) {
      const row = await sessionUserQuery(db, sessionId).get();
      return row ?? null;
    },

    async aliveRoles(sessionId, userId, now) {
      const row = await db
        .select({ defaultRole: users.defaultRole, allowedRoles: users.allowedRoles })
        .from(sessions)
        .innerJoin(users, eq(users.id, sessions.userId))
        .where(liveSessionOf(sessionId, userId, now))
        .get();
      return row ?? null;
    },

    async byRefreshToken(hash, now) {
      const row = await db
        .select({ sessionId: sessions.id, userId: sessions.userId })
        .from(refreshTokens)
        .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
        .where(and(eq(refreshTokens.hash, hash), liveSession(now)))
        .get();
      return row ?? null;
    },

    async byCurrentRefreshToken(hash, now, graceMs) {
      const row = await db
        .select({
          sessionId: sessions.id,
          userId: sessions.userId,
          amr: sessions.amr,
          authAt: sessions.authAt,
        })
        .from(refreshTokens)
        .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
        .innerJoin(users, eq(users.id, sessions.userId))
        .where(
          and(
            eq(refreshTokens.hash, hash),
            gt(refreshTokens.expiresAt, now),
            or(isNull(refreshTokens.rotatedAt), gt(refreshTokens.rotatedAt, sql`${now} - ${graceMs}`)),
            liveSession(now),
            eq(users.disabled, false),
          ),
        )
        .get();
      return row ?? null;
    },

    async reissue(claim, graceMs) {
      const now = claim.createdAt;
      // The claim: one conditional INSERT. The session (at most one row, by its key) must be alive,
      // the user's and the user enabled; of parallel claims exactly one inserts, the others
      // conflict and return nothing.
      const insert = db
        .insert(tickets)
        .select(
          db
            .select({
              hash: sql<string>`${claim.hash}`.as("hash"),
              purpose: sql<string>`${REISSUE}`.as("purpose"),
              userId: sql<string>`${claim.userId}`.as("user_id"),
              data: sql<Record<string, unknown>>`'{}'`.as("data"),
              attempts: sql<number>`0`.as("attempts"),
              createdAt: sql<number>`${claim.createdAt}`.as("created_at"),
              expiresAt: sql<number>`${claim.expiresAt}`.as("expires_at"),
              usedAt: sql<null>`NULL`.as("used_at"),
              spentInto: sql<null>`NULL`.as("spent_into"),
            })
            .from(sessions)
            .innerJoin(users, eq(users.id, sessions.userId))
            .where(liveSessionOf(claim.sessionId, claim.userId, now)),
        )
        .onConflictDoNothing({ target: tickets.hash })
        .returning({ hash: tickets.hash });
      const claimOf = and(eq(tickets.hash, claim.hash), eq(tickets.purpose, REISSUE));
      const [inserted, found, , state] = await db.batch([
        insert,
        db.select({ claimedAt: tickets.createdAt }).from(tickets).where(claimOf),
        // Touched only on the way to an answer: the claim (this one or one within the grace
        // window) exists and the session is the claimant's, alive, its user enabled.
        db
          .update(sessions)
          .set({ lastSeenAt: now })
          .where(
            and(
              eq(sessions.id, claim.sessionId),
              eq(sessions.userId, claim.userId),
              liveSession(now),
              exists(
                db
                  .select({ one: sql`1` })
                  .from(tickets)
                  .where(and(claimOf, gt(tickets.createdAt, now - graceMs))),
              ),
              exists(
                db
                  .select({ one: sql`1` })
                  .from(users)
                  .where(and(eq(users.id, claim.userId), eq(users.disabled, false))),
              ),
            ),
          ),
        // (D1 batches answer rows as objects: each column name must be unique in the select.)
        db
          .select({
            ...sessionUserFields,
            alive: sql<number>`CASE WHEN ${liveSession(now)} THEN 1 ELSE 0 END`.as("session_alive"),
          })
          .from(sessions)
          .innerJoin(users, eq(users.id, sessions.userId))
          .leftJoin(emails, and(eq(emails.userId, users.id), eq(emails.isPrimary, true)))
          .where(eq(sessions.id, claim.sessionId)),
      ]);
      const row = state[0];
      const { alive, ...user } = row ?? { alive: 0 };
      return {
        claimed: inserted.length > 0,
        claimedAt: found[0]?.claimedAt ?? null,
        alive: alive === 1,
        user: row ? (user as SessionUserRow) : null,
      };
    },

    revoke(sessionId, now) {
      return db
        .update(sessions)
        .set({ revokedAt: now })
        .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)))
        .returning(ended);
    },

    async listLive(userId, now) {
      return db
        .select({
          id: sessions.id,
          createdAt: sessions.createdAt,
          lastSeenAt: sessions.lastSeenAt,
          userAgent: sessions.userAgent,
          ip: sessions.ip,
          amr: sessions.amr,
        })
        .from(sessions)
        .where(and(eq(sessions.userId, userId), liveSession(now)))
        .orderBy(desc(sessions.createdAt), sessions.id)
        .all();
    },

    async authAt(sessionId, userId, now) {
      const row = await db
        .select({ authAt: sessions.authAt })
        .from(sessions)
        .innerJoin(users, eq(users.id, sessions.userId))
        .where(liveSessionOf(sessionId, userId, now))
        .get();
      return row?.authAt ?? null;
    },

    async markAuthenticated(sessionId, userId, now) {
      const r = await authenticatedStatement(db, sessionId, userId, now).run();
      return r.meta.changes === 1;
    },

    async revokeOwn(userId, sessionId, now) {
      const r = await db
        .update(sessions)
        .set({ revokedAt: now })
        .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), liveSession(now)))
        .run();
      return r.meta.changes === 1;
    },

    revokeAll(userId, now, exceptSessionId) {
      return db
        .update(sessions)
        .set({ revokedAt: now })
        .where(
          and(
            eq(sessions.userId, userId),
            isNull(sessions.revokedAt),
            exceptSessionId === undefined ? undefined : ne(sessions.id, exceptSessionId),
          ),
        )
        .returning(ended);
    },
  };
}
