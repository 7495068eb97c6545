/**
 * D1 statements of the passcode service. A try is counted by one conditional UPDATE (`tries < max`)
 * and a code spent by another, so parallel guesses can never be evaluated more than `max` times and
 * a code signs in once. The spend writes the new session's id into the code (`spent_into`), and the
 * session, its token, the cleared counter and the activation are written in the same batch only
 * where that marker stands: a code is never spent without its session, nor a session made without
 * its code. Send counters are one upsert per window, all in one batch.
 *
 * Just-in-time sign-up (existence hints off): an address with no account gets a pending sign-up
 * (a `signup_pending` row of the tickets table, keyed by the pseudo user id POST /user answered,
 * written in the lookup's own round trip by `offerSignupStatement`). A passcode for that id is then
 * a `signup_passcode` ticket holding the address and the code's MAC, counted and spent exactly as a
 * passcode is; its spend creates the account (the pseudo ids become the real ones, the address
 * verified) together with the session, in one batch, where the spend stands. The unique address
 * index decides between it and anyone who registered the address meanwhile.
 */
import { and, eq, exists, gt, gte, isNull, lt, lte, notExists, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { isUniqueViolation } from "../../db/errors";
import { insertWhere } from "../../db/insert-where";
import { attemptCounters, emails, passcodes, tickets, users } from "../../db/schema";
import { type AttemptPolicy, reserveStatement } from "../rate-limit/attempts.store";
import {
  type CountedWindow,
  hitStatement,
  type RecipientWindow,
  recipientKeyed,
  withinWindow,
} from "../rate-limit/windows.store";
import {
  type NewRefreshToken,
  type NewSession,
  type SessionUserRow,
  sessionStatements,
  sessionUserQuery,
} from "../sessions/sessions.store";
import { defaultTeamStatements } from "../teams/teams.store";
import { activateStatements } from "../users/users.store";

export type NewPasscode = Omit<typeof passcodes.$inferInsert, "tries" | "usedAt" | "spentInto">;
/**
 * What a counted try returns: the stored MAC, whom the code is for, and whether its address is
 * verified and the account active already (then a sign-in activates nothing).
 */
export type CountedTry = Pick<
  typeof passcodes.$inferSelect,
  "tries" | "codeMac" | "expiresAt" | "userId" | "emailId"
> & { address: string | null; settled: boolean };

/** A sign-in with a code whose MAC matched: the session to write, and what to count and clear. */
export interface PasscodeSignIn {
  id: string;
  userId: string;
  now: number;
  /** The account's attempt counter, counted (and cleared on success) in the same batch. */
  attempt: { key: string; policy: AttemptPolicy };
  /** The address to verify and the account to activate (with its default team); null when already so. */
  activate: { address: string } | null;
  session: NewSession;
  firstToken: NewRefreshToken;
  keep: number;
}

/** What the sign-in batch did: the counter's lock, and the session's user when the code was spent into it. */
export interface PasscodeSignInResult {
  lockedUntil: number;
  /** Whether the account is disabled (null when it is gone). */
  disabled: boolean | null;
  user: SessionUserRow | null;
  /** Sessions the cap on live sessions ended. */
  endedOthers: number;
}

/** A counted try of a sign-up passcode: its MAC, and the account its spend would create. */
export interface CountedSignUpTry {
  tries: number;
  codeMac: string;
  expiresAt: number;
  /** The pseudo ids POST /user answered for the address, which the new account takes. */
  userId: string;
  emailId: string;
  address: string;
}

/** The account a sign-up passcode creates, and its first session. */
export interface PasscodeSignUp {
  /** The sign-up passcode's id. */
  id: string;
  now: number;
  attempt: { key: string; policy: AttemptPolicy };
  user: { id: string; emailId: string; address: string; defaultRole: string; allowedRoles: string[] };
  session: NewSession;
  firstToken: NewRefreshToken;
  keep: number;
}

const PENDING = "signup_pending";
const SIGNUP_PASSCODE = "signup_passcode";
const pendingKey = (userId: string) => `signup:${userId}`;
const signUpPasscodeKey = (id: string) => `signup-passcode:${id}`;

/**
 * The pending sign-up of `address` under its pseudo `userId` (and `emailId`), as a statement for the
 * lookup's batch: written, or its lifetime renewed, only where no account holds the address.
 */
export function offerSignupStatement(
  db: Db,
  offer: { userId: string; emailId: string; address: string; now: number; expiresAt: number },
) {
  return insertWhere(
    db,
    tickets,
    {
      hash: pendingKey(offer.userId),
      purpose: PENDING,
      data: { address: offer.address, emailId: offer.emailId },
      createdAt: offer.now,
      expiresAt: offer.expiresAt,
    },
    notExists(db.select({ one: sql`1` }).from(emails).where(eq(emails.address, offer.address))),
  ).onConflictDoUpdate({
    target: tickets.hash,
    set: { expiresAt: offer.expiresAt, data: { address: offer.address, emailId: offer.emailId } },
  });
}

export interface PasscodeStore {
  /**
   * A send, in one round trip: counts it in each window (key, length, max; a window older than its
   * length starts over at 1), and, when every window is within its max and the user has the
   * address `emailId` (or, without one, a primary address) and is not disabled, stores the passcode
   * for that address. Returns each counter after the count, in the order given, and the address
   * (null when there is none; then nothing was stored).
   */
  issue(input: {
    windows: { key: string; windowMs: number; max: number }[];
    now: number;
    userId: string;
    emailId?: string;
    passcode: Omit<NewPasscode, "userId" | "emailId">;
    /**
     * Sign-up on: without such a user, a pending sign-up of `userId` (see offerSignupStatement)
     * whose address no account holds gets the passcode instead, as a sign-up passcode.
     */
    signup: boolean;
    /**
     * The recipients' mail window: counted for the address the code goes to when every send
     * window is within its max; past it, nothing is stored (`stored` false).
     */
    recipient?: RecipientWindow;
    /**
     * The route's per-IP windows (ip-limiter DeferredLimit), each counted first; while one is past
     * its max nothing else is counted or stored.
     */
    routeWindows?: CountedWindow[];
  }): Promise<{
    /** Each route window's count after this request's hit, in the order given. */
    routeCounts: number[];
    /** Each send window's counter after the count (null when the route's windows refused it). */
    counters: ({ count: number; windowStart: number } | null)[];
    target: { id: string; address: string } | null;
    /** The address a sign-up passcode is for (only when `target` is null). */
    signupTarget: { address: string } | null;
    /** Whether the passcode (or the sign-up passcode) was stored. */
    stored: boolean;
  }>;
  /**
   * Counts a try while the code is unspent and below `maxTries` (one conditional UPDATE); `row` is
   * null when that guard failed, and `exhausted` then tells whether the code is unspent but has used
   * up its tries. One round trip.
   */
  countTry(
    id: string,
    maxTries: number,
  ): Promise<{ row: CountedTry | null; signup: CountedSignUpTry | null; exhausted: boolean }>;
  /**
   * One round trip, all or nothing: counts the account's attempt; spends the code into the new
   * session unless it is spent already, the account is locked or disabled; and only where it did,
   * writes the session, clears the counter and activates. Then reads the session's user.
   */
  signIn(input: PasscodeSignIn): Promise<PasscodeSignInResult>;
  /**
   * One round trip, all or nothing: counts the attempt; spends the sign-up passcode into the new
   * session unless it is spent already or the attempt counter is locked; and only where it did,
   * frees the address from an unverified secondary holder, creates the active user with the
   * verified address (the pseudo ids), its default team and the session, and clears the counter.
   * `user` null when nothing was created (spent, locked, or the address or id taken meanwhile).
   */
  signUp(
    input: PasscodeSignUp,
  ): Promise<{ lockedUntil: number; user: SessionUserRow | null; endedOthers: number }>;
}

export function createPasscodeStore(db: Db): PasscodeStore {
  const p = passcodes;
  const a = attemptCounters;
  return {
    async issue({ windows, now, userId, emailId, passcode, signup, recipient, routeWindows = [] }) {
      const routeHits = routeWindows.map((w) => hitStatement(db, w, sql`1`));
      const routeWithin = routeWindows.map((w) => withinWindow(db, w));
      const counts = windows.map(({ key, windowMs }) => {
        const expired = sql`${a.windowStart} <= ${now - windowMs}`;
        return insertWhere(db, a, { key, count: 1, windowStart: now }, and(sql`1`, ...routeWithin)!)
          .onConflictDoUpdate({
            target: a.key,
            set: {
              count: sql`CASE WHEN ${expired} THEN 1 ELSE ${a.count} + 1 END`,
              windowStart: sql`CASE WHEN ${expired} THEN ${now} ELSE ${a.windowStart} END`,
            },
          })
          .returning({ count: a.count, windowStart: a.windowStart });
      });
      const target = and(
        eq(emails.userId, userId),
        emailId ? eq(emails.id, emailId) : eq(emails.isPrimary, true),
        eq(users.disabled, false),
      );
      // The route's windows and the counters just counted, each within its max (a full window
      // sends nothing).
      const withinLimits = [
        ...routeWithin,
        ...windows.map(({ key, max }) =>
          exists(
            db
              .select({ one: sql`1` })
              .from(a)
              .where(and(eq(a.key, key), lte(a.count, max))),
          ),
        ),
      ];
      const value = <T>(v: T, name: string) => sql<T>`${v}`.as(name);
      const t = tickets;
      const pendingAddress = sql<string>`json_extract(${t.data}, '$.address')`;
      // A pending sign-up of this id, unexpired, for this address id, with no such user and no
      // account holding the address (primary or verified, as POST /user's lookup finds one).
      const pendingHere = and(
        eq(t.hash, pendingKey(userId)),
        eq(t.purpose, PENDING),
        gt(t.expiresAt, now),
        emailId ? sql`json_extract(${t.data}, '$.emailId') = ${emailId}` : undefined,
        notExists(db.select({ one: sql`1` }).from(users).where(eq(users.id, userId))),
        notExists(
          db
            .select({ one: sql`1` })
            .from(emails)
            .where(and(eq(emails.address, pendingAddress), sql`(${emails.isPrimary} OR ${emails.verified})`)),
        ),
      );
      // The address the code goes to: the user's, else the pending sign-up's. Its mail window is
      // counted when the send windows admit the send; past it nothing is stored (and nothing sent).
      const targetAddress = db
        .select({ address: emails.address })
        .from(emails)
        .innerJoin(users, eq(users.id, emails.userId))
        .where(target);
      const recipientAddress = signup
        ? sql`coalesce((${targetAddress}), (${db.select({ address: pendingAddress }).from(t).where(pendingHere)}))`
        : sql`(${targetAddress})`;
      const window = recipient ? recipientKeyed(recipient, recipientAddress) : undefined;
      const hit = window
        ? [hitStatement(db, window, and(sql`${recipientAddress} IS NOT NULL`, ...withinLimits)!)]
        : [];
      const withinRecipient = window ? withinWindow(db, window) : undefined;
      const signupStatements = signup
        ? ([
            db
              .insert(t)
              .select(
                db
                  .select({
                    hash: value(signUpPasscodeKey(passcode.id), "hash"),
                    purpose: value(SIGNUP_PASSCODE, "purpose"),
                    userId: value(null, "user_id"),
                    data: sql`json_object('address', ${pendingAddress}, 'emailId', json_extract(${t.data}, '$.emailId'), 'userId', ${userId}, 'codeMac', ${passcode.codeMac})`.as(
                      "data",
                    ),
                    attempts: value(0, "attempts"),
                    createdAt: value(passcode.createdAt, "created_at"),
                    expiresAt: value(passcode.expiresAt, "expires_at"),
                    usedAt: value(null, "used_at"),
                    spentInto: value(null, "spent_into"),
                  })
                  .from(t)
                  .where(and(pendingHere, ...withinLimits, withinRecipient)),
              )
              .returning({ hash: t.hash }),
            db.select({ address: pendingAddress }).from(t).where(pendingHere),
          ] as const)
        : ([] as const);
      // The route's hits first: everything after them reads their counts.
      const results = (await db.batch([
        ...routeHits,
        ...counts,
        ...hit,
        db
          .insert(p)
          .select(
            db
              .select({
                id: value(passcode.id, "id"),
                userId: emails.userId,
                emailId: emails.id,
                codeMac: value(passcode.codeMac, "code_mac"),
                tries: value(0, "tries"),
                createdAt: value(passcode.createdAt, "created_at"),
                expiresAt: value(passcode.expiresAt, "expires_at"),
                usedAt: value(null, "used_at"),
                spentInto: value(null, "spent_into"),
              })
              .from(emails)
              .innerJoin(users, eq(users.id, emails.userId))
              .where(and(target, ...withinLimits, withinRecipient)),
          )
          .returning({ id: p.id }),
        db
          .select({ id: emails.id, address: emails.address })
          .from(emails)
          .innerJoin(users, eq(users.id, emails.userId))
          .where(target),
        ...signupStatements,
      ] as never)) as unknown[][];
      const at = routeHits.length + windows.length + hit.length;
      const inserted = results[at] as unknown[];
      const found = results[at + 1] as { id: string; address: string }[];
      const signedUp = signup ? (results[at + 2] as unknown[]) : [];
      const pending = signup ? (results[at + 3] as { address: string }[]) : [];
      return {
        // An unguarded upsert with RETURNING always yields its row.
        routeCounts: results.slice(0, routeHits.length).map((rows) => (rows[0] as { count: number }).count),
        counters: results
          .slice(routeHits.length, routeHits.length + windows.length)
          .map((rows) => (rows[0] as { count: number; windowStart: number } | undefined) ?? null),
        target: found[0] ?? null,
        signupTarget: found[0] ? null : (pending[0] ?? null),
        stored: inserted.length > 0 || signedUp.length > 0,
      };
    },

    async countTry(id, maxTries) {
      const t = tickets;
      const signUpHere = and(
        eq(t.hash, signUpPasscodeKey(id)),
        eq(t.purpose, SIGNUP_PASSCODE),
        isNull(t.usedAt),
      );
      const [counted, after, signUpCounted, signUpAfter] = await db.batch([
        db
          .update(p)
          .set({ tries: sql`${p.tries} + 1` })
          .where(and(eq(p.id, id), isNull(p.usedAt), lt(p.tries, maxTries)))
          .returning({
            tries: p.tries,
            codeMac: p.codeMac,
            expiresAt: p.expiresAt,
            userId: p.userId,
            emailId: p.emailId,
            // The address and account as they are now: a sign-in activates only when that changes something.
            address: sql<
              string | null
            >`(${db.select({ address: emails.address }).from(emails).where(eq(emails.id, p.emailId))})`,
            settled: sql<boolean>`coalesce((${db
              .select({ settled: sql`${emails.verified} AND ${users.active}` })
              .from(emails)
              .innerJoin(users, eq(users.id, emails.userId))
              .where(eq(emails.id, p.emailId))}), 0)`.mapWith(Boolean),
          }),
        db
          .select({ one: sql<number>`1` })
          .from(p)
          .where(and(eq(p.id, id), isNull(p.usedAt), gte(p.tries, maxTries))),
        db
          .update(t)
          .set({ attempts: sql`${t.attempts} + 1` })
          .where(and(signUpHere, lt(t.attempts, maxTries)))
          .returning({ tries: t.attempts, data: t.data, expiresAt: t.expiresAt }),
        db
          .select({ one: sql<number>`1` })
          .from(t)
          .where(and(signUpHere, gte(t.attempts, maxTries))),
      ]);
      const s = signUpCounted[0];
      const data = (s?.data ?? {}) as Record<string, string>;
      return {
        row: counted[0] ?? null,
        signup: s
          ? {
              tries: s.tries,
              expiresAt: s.expiresAt,
              codeMac: data.codeMac!,
              userId: data.userId!,
              emailId: data.emailId!,
              address: data.address!,
            }
          : null,
        exhausted: after.length > 0 || signUpAfter.length > 0,
      };
    },

    async signIn({ id, userId, now, attempt, activate, session, firstToken, keep }) {
      const locked = db
        .select({ one: sql`1` })
        .from(a)
        .where(and(eq(a.key, attempt.key), gt(a.lockedUntil, now)));
      const enabled = db
        .select({ one: sql`1` })
        .from(users)
        .where(and(eq(users.id, userId), eq(users.disabled, false)));
      // Everything after the spend holds only where the spend wrote this session's id.
      const spentHere = exists(
        db
          .select({ one: sql`1` })
          .from(p)
          .where(and(eq(p.id, id), eq(p.spentInto, session.id))),
      );
      const [[counted], , state, ...rest] = await db.batch([
        reserveStatement(db, attempt.key, now, attempt.policy),
        db
          .update(p)
          .set({ usedAt: now, spentInto: session.id })
          .where(and(eq(p.id, id), isNull(p.usedAt), notExists(locked), exists(enabled))),
        db.select({ disabled: users.disabled }).from(users).where(eq(users.id, userId)),
        ...sessionStatements(db, { session, firstToken, keep, guard: spentHere }),
        db.delete(a).where(and(eq(a.key, attempt.key), spentHere)),
        ...(activate ? activateStatements(db, userId, activate.address, now, spentHere) : []),
        sessionUserQuery(db, session.id),
      ]);
      const capped = rest[2] as { meta: { changes: number } };
      const found = rest[rest.length - 1] as SessionUserRow[];
      return {
        lockedUntil: counted?.lockedUntil ?? 0,
        disabled: (state as { disabled: boolean }[])[0]?.disabled ?? null,
        user: found[0] ?? null,
        endedOthers: capped.meta.changes,
      };
    },

    async signUp({ id, now, attempt, user, session, firstToken, keep }) {
      const t = tickets;
      const key = signUpPasscodeKey(id);
      const locked = db
        .select({ one: sql`1` })
        .from(a)
        .where(and(eq(a.key, attempt.key), gt(a.lockedUntil, now)));
      const spentHere = exists(
        db
          .select({ one: sql`1` })
          .from(t)
          .where(and(eq(t.hash, key), eq(t.spentInto, session.id))),
      );
      try {
        const [[counted], , , , , ...rest] = await db.batch([
          reserveStatement(db, attempt.key, now, attempt.policy),
          db
            .update(t)
            .set({ usedAt: now, spentInto: session.id })
            .where(and(eq(t.hash, key), eq(t.purpose, SIGNUP_PASSCODE), isNull(t.usedAt), notExists(locked))),
          // An address added to some account but never proven does not keep its owner out.
          db
            .delete(emails)
            .where(
              and(
                eq(emails.address, user.address),
                eq(emails.isPrimary, false),
                eq(emails.verified, false),
                spentHere,
              ),
            ),
          insertWhere(
            db,
            users,
            {
              id: user.id,
              displayName: user.address,
              defaultRole: user.defaultRole,
              allowedRoles: user.allowedRoles,
              passwordHash: null,
              active: true,
              createdAt: now,
              updatedAt: now,
            },
            spentHere,
          ),
          insertWhere(
            db,
            emails,
            {
              id: user.emailId,
              userId: user.id,
              address: user.address,
              isPrimary: true,
              verified: true,
              createdAt: now,
              updatedAt: now,
            },
            spentHere,
          ),
          ...defaultTeamStatements(db, user.id, now, null, spentHere),
          ...sessionStatements(db, { session, firstToken, keep, guard: spentHere }),
          db.delete(a).where(and(eq(a.key, attempt.key), spentHere)),
          sessionUserQuery(db, session.id),
        ]);
        const capped = rest[4] as { meta: { changes: number } };
        const found = rest[rest.length - 1] as SessionUserRow[];
        return {
          lockedUntil: (counted as { lockedUntil: number } | undefined)?.lockedUntil ?? 0,
          user: found[0] ?? null,
          endedOthers: capped.meta.changes,
        };
      } catch (e) {
        // Someone registered the address (or this id) meanwhile: the batch wrote nothing.
        if (isUniqueViolation(e)) return { lockedUntil: 0, user: null, endedOthers: 0 };
        throw e;
      }
    },
  };
}
