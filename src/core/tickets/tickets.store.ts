/**
 * Where tickets are kept. Spending and counting are each one conditional UPDATE ... RETURNING, so
 * under any number of parallel requests exactly one wins (see tickets.service.ts).
 */
import { and, eq, exists, gt, isNull, lt, ne, notExists, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { attemptCounters, emails, tickets, users } from "../../db/schema";
import {
  type CountedWindow,
  hitStatement,
  type RecipientWindow,
  recipientKeyed,
  withinWindow,
} from "../rate-limit/windows.store";
import {
  codeUnused,
  remainingQuery,
  spendCodeStatement,
  unusedCodeQuery,
} from "../recovery/recovery-codes.store";
import {
  type NewRefreshToken,
  type NewSession,
  revokeAllStatement,
  sessionStatements,
} from "../sessions/sessions.store";
import { claimStepStatement, stepClaimable, type TotpStateRow, totpStateQuery } from "../totp/totp.store";
import {
  activateStatements,
  addressHeld,
  heldBy,
  setPasswordStatement,
  type UserRow,
  userByIdQuery,
  usersWithPrimaryQuery,
} from "../users/users.store";

export type NewTicket = typeof tickets.$inferInsert;
export type TicketRow = Pick<typeof tickets.$inferSelect, "userId" | "data">;

/** What spending a ticket into a new session writes besides the spend and the session. */
export interface SpendExtras {
  /** Activate the user (active, this address or the primary one verified, the default team). */
  activate?: { address?: string };
  /**
   * A TOTP step to claim with the spend (totp.store): the ticket is spent only while the step is
   * newer than the user's last accepted one, and the step is claimed only by that spend.
   */
  totpStep?: number;
  /**
   * A recovery code (its MAC) to spend with the ticket (recovery-codes.store): the ticket is spent
   * only while the code is unused, and the code only by that spend.
   */
  recoveryCodeMac?: string;
  /** An attempt-counter key to clear (rate-limit/attempts) when the spend wins. */
  clearAttempts?: string;
}

export interface SpentTicket {
  data: TicketRow["data"];
  /** The user after the batch; null when it is gone. A session was written when it is not disabled. */
  user: UserRow | null;
  /** How many older sessions the new one's cap ended. */
  endedOthers: number;
  /** With `recoveryCodeMac`: how many of the user's codes are left unused after the spend. */
  recoveryCodesLeft: number | null;
}

export interface TicketStore {
  /**
   * Stores a ticket. With `spendOpen`, every open ticket of its user and purpose is spent (at
   * `ticket.createdAt`) in the same batch first.
   */
  insert(ticket: NewTicket & { userId: string }, spendOpen: boolean): Promise<void>;
  /** Spends the open, unexpired ticket; its user and data, or null when there was none to spend. */
  consume(hash: string, purpose: string, now: number): Promise<TicketRow | null>;
  /** `consume`, reading the ticket's user (after the spend) in the same round trip. */
  consumeWithUser(
    hash: string,
    purpose: string,
    now: number,
  ): Promise<(TicketRow & { user: UserRow | null }) | null>;
  /** Counts one attempt on the open, unexpired ticket while it has fewer than `maxAttempts`; null otherwise. */
  attempt(hash: string, purpose: string, now: number, maxAttempts: number): Promise<TicketRow | null>;
  /** Spends every open ticket of that purpose for the user. */
  spendAll(userId: string, purpose: string, now: number): Promise<void>;
  /**
   * `insert` for the enabled user holding `address` (primary or not), active ones only with
   * `activeOnly`, in one round trip with that lookup; `data` gains `pv`, the user's password
   * version, with `withPasswordVersion`. False when no such user holds the address. With `window`,
   * the same round trip counts one hit of it when there is a holder, and writes (and spends open
   * tickets) only while the window is within its limit. `routeWindows` (the route's per-IP
   * windows, ip-limiter DeferredLimit) are each counted first, holder or not; while one is past its
   * max nothing else is counted or written.
   */
  insertForHolder(
    address: string,
    ticket: Omit<NewTicket, "userId">,
    opts: {
      spendOpen: boolean;
      activeOnly: boolean;
      withPasswordVersion: boolean;
      window?: RecipientWindow;
      routeWindows?: CountedWindow[];
    },
  ): Promise<{
    issued: boolean;
    /** Each route window's count after this request's hit, in the order given. */
    routeCounts: number[];
  }>;
  /**
   * A request to give `userId` the address `address` (an email change), in one round trip: counts
   * each of `windows` (the route's per-IP windows), reads the user and the user holding `address`
   * (primary or not), and, while every window is within its max and the user is enabled: counts the
   * recipient window of `address` when the address is free or, with `notifyHolder`, held by
   * another account (whose holder is then told); and when the address is free and the recipient
   * window within its max, spends the user's open tickets of the purpose and stores `ticket`, its
   * `data` gaining `pv` (the password version) and `from` (the primary address).
   */
  insertForNewAddress(
    userId: string,
    address: string,
    ticket: Omit<NewTicket, "userId">,
    opts: { windows: CountedWindow[]; recipient?: RecipientWindow; notifyHolder: boolean },
  ): Promise<{
    /** Each window's count after this request's hit, in the order given. */
    counts: number[];
    user: UserRow | null;
    holder: UserRow | null;
    /** The recipient window's count after its hit; null when it was not counted. */
    recipientCount: number | null;
    issued: boolean;
  }>;
  /** The open, unexpired ticket, without spending it. */
  peek(hash: string, purpose: string, now: number): Promise<TicketRow | null>;
  /** `attempt`, reading the TOTP state of the ticket's user in the same round trip. */
  attemptWithTotp(
    hash: string,
    purpose: string,
    now: number,
    maxAttempts: number,
  ): Promise<(TicketRow & { totp: TotpStateRow | null }) | null>;
  /**
   * Spends the open, unexpired ticket of `session.userId` into a new session, in one round trip:
   * the session and its first refresh token (and `extras.activate`) are written only when this
   * spend won and the user is enabled. Null when there was nothing to spend; "step_used" when
   * `extras.totpStep` was not newer than the last accepted step (or TOTP is off).
   */
  spendIntoSession(
    hash: string,
    purpose: string,
    draft: { session: NewSession; firstToken: NewRefreshToken; keep: number },
    extras?: SpendExtras,
  ): Promise<SpentTicket | "step_used" | null>;
  /**
   * Spends the open, unexpired ticket and, in the same round trip, when its data still match the
   * user (`pv` the password version, `email` the primary address) and the user is enabled, sets
   * `passwordHash` and ends every session. Null when there was nothing to spend; `changed` false
   * when the password was left as it was.
   */
  spendIntoPassword(
    hash: string,
    purpose: string,
    now: number,
    passwordHash: string,
  ): Promise<{ user: UserRow | null; changed: boolean } | null>;
}

/**
 * `ticket` as the row of an INSERT ... SELECT from `users`: the selected user's id, and `data` as
 * an SQL expression (it may read that user's row, e.g. its password version).
 */
function ticketRow(ticket: Omit<NewTicket, "userId">, data: SQL) {
  const value = <T>(v: T, name: string) => sql<T>`${v}`.as(name);
  return {
    hash: value(ticket.hash, "hash"),
    purpose: value(ticket.purpose, "purpose"),
    userId: users.id,
    data: sql<Record<string, unknown>>`${data}`.as("data"),
    attempts: value(0, "attempts"),
    createdAt: value(ticket.createdAt, "created_at"),
    expiresAt: value(ticket.expiresAt, "expires_at"),
    usedAt: value(null, "used_at"),
    spentInto: value(null, "spent_into"),
  };
}

export function createTicketStore(db: Db): TicketStore {
  const open = (userId: string, purpose: string) =>
    and(eq(tickets.userId, userId), eq(tickets.purpose, purpose), isNull(tickets.usedAt));
  /** The ticket `hash` of `purpose`, unspent and unexpired at `now`. */
  const usable = (hash: string, purpose: string, now: number) =>
    and(
      eq(tickets.hash, hash),
      eq(tickets.purpose, purpose),
      isNull(tickets.usedAt),
      gt(tickets.expiresAt, now),
    );
  const attemptStatement = (hash: string, purpose: string, now: number, maxAttempts: number) =>
    db
      .update(tickets)
      .set({ attempts: sql`${tickets.attempts} + 1` })
      .where(and(usable(hash, purpose, now), lt(tickets.attempts, maxAttempts)))
      .returning({ userId: tickets.userId, data: tickets.data });

  return {
    async insert(ticket, spendOpen) {
      const insert = db.insert(tickets).values(ticket);
      if (spendOpen) {
        await db.batch([
          db.update(tickets).set({ usedAt: ticket.createdAt }).where(open(ticket.userId, ticket.purpose)),
          insert,
        ]);
      } else {
        await insert;
      }
    },

    async consume(hash, purpose, now) {
      const rows = await db
        .update(tickets)
        .set({ usedAt: now })
        .where(usable(hash, purpose, now))
        .returning({ userId: tickets.userId, data: tickets.data });
      return rows[0] ?? null;
    },

    async consumeWithUser(hash, purpose, now) {
      const [[row], [user]] = await db.batch([
        db
          .update(tickets)
          .set({ usedAt: now })
          .where(usable(hash, purpose, now))
          .returning({ userId: tickets.userId, data: tickets.data }),
        userByIdQuery(
          db,
          sql`(${db.select({ userId: tickets.userId }).from(tickets).where(eq(tickets.hash, hash))})`,
        ),
      ]);
      return row ? { ...row, user: user ?? null } : null;
    },

    async attempt(hash, purpose, now, maxAttempts) {
      const rows = await attemptStatement(hash, purpose, now, maxAttempts);
      return rows[0] ?? null;
    },

    async spendAll(userId, purpose, now) {
      await db.update(tickets).set({ usedAt: now }).where(open(userId, purpose));
    },

    async peek(hash, purpose, now) {
      const row = await db
        .select({ userId: tickets.userId, data: tickets.data })
        .from(tickets)
        .where(usable(hash, purpose, now))
        .get();
      return row ?? null;
    },

    async attemptWithTotp(hash, purpose, now, maxAttempts) {
      const [[row], [totp]] = await db.batch([
        attemptStatement(hash, purpose, now, maxAttempts),
        totpStateQuery(
          db,
          sql`(${db.select({ userId: tickets.userId }).from(tickets).where(eq(tickets.hash, hash))})`,
        ),
      ]);
      return row ? { ...row, totp: totp ?? null } : null;
    },

    async spendIntoSession(hash, purpose, { session, firstToken, keep }, extras = {}) {
      const now = session.createdAt;
      const userId = session.userId;
      const { totpStep, recoveryCodeMac, clearAttempts, activate } = extras;
      // Everything after the spend holds only where this batch's spend wrote its marker.
      const spent = exists(
        db
          .select({ ok: sql`1` })
          .from(tickets)
          .where(and(eq(tickets.hash, hash), eq(tickets.spentInto, session.id))),
      );
      const [spend, ...rest] = await db.batch([
        db
          .update(tickets)
          .set({ usedAt: now, spentInto: session.id })
          .where(
            and(
              usable(hash, purpose, now),
              eq(tickets.userId, userId),
              totpStep === undefined ? undefined : stepClaimable(db, userId, totpStep),
              recoveryCodeMac === undefined ? undefined : codeUnused(db, userId, recoveryCodeMac),
            ),
          )
          .returning({ data: tickets.data }),
        // The step is claimable exactly when the spend above happened (same transaction).
        ...(totpStep === undefined ? [] : [claimStepStatement(db, userId, totpStep, spent)]),
        ...(recoveryCodeMac === undefined
          ? []
          : [spendCodeStatement(db, userId, recoveryCodeMac, now, spent)]),
        ...(activate ? activateStatements(db, userId, activate.address, now, spent) : []),
        ...(clearAttempts
          ? [db.delete(attemptCounters).where(and(eq(attemptCounters.key, clearAttempts), spent))]
          : []),
        ...sessionStatements(db, {
          session,
          firstToken,
          keep,
          guard: and(spent, eq(users.disabled, false)),
        }),
        // With a recovery code: whether it is (still) unused, and how many are left, after the spend.
        ...(recoveryCodeMac === undefined
          ? []
          : [unusedCodeQuery(db, userId, recoveryCodeMac), remainingQuery(db, userId)]),
        db
          .select({ totpLastStep: users.totpLastStep, totpEnabled: users.totpEnabled })
          .from(users)
          .where(eq(users.id, userId)),
        userByIdQuery(db, userId),
      ]);
      const found = rest[rest.length - 1] as UserRow[];
      const [totp] = rest[rest.length - 2] as { totpLastStep: number | null; totpEnabled: boolean }[];
      const reads = recoveryCodeMac === undefined ? 2 : 4;
      const [codeStillUnused, [left]] =
        recoveryCodeMac === undefined ? [[], []] : (rest.slice(-4, -2) as [unknown[], { n: number }[]]);
      if (!spend[0]) {
        const stepUsed =
          totpStep !== undefined && (!totp?.totpEnabled || (totp.totpLastStep ?? -1) >= totpStep);
        // A recovery code spent by a parallel request is a used code, like a claimed step.
        const codeUsed =
          recoveryCodeMac !== undefined && (!totp?.totpEnabled || codeStillUnused.length === 0);
        return stepUsed || codeUsed ? "step_used" : null;
      }
      // The session's statements end with the cap (sessionStatements, no extras), before the reads.
      const capped = rest[rest.length - reads - 1] as { meta: { changes: number } };
      return {
        data: spend[0].data,
        user: found[0] ?? null,
        endedOthers: capped.meta.changes,
        recoveryCodesLeft: left ? left.n : null,
      };
    },

    async spendIntoPassword(hash, purpose, now, passwordHash) {
      // This request's mark on the ticket (no session is made): the statements after the spend
      // act only where this batch spent it.
      const marker = `password:${crypto.randomUUID()}`;
      const userId = sql`(${db
        .select({ userId: tickets.userId })
        .from(tickets)
        .where(and(eq(tickets.hash, hash), eq(tickets.spentInto, marker)))})`;
      // The ticket dies with any later password or email change, and works for enabled users only.
      const stillValid = exists(
        db
          .select({ ok: sql`1` })
          .from(tickets)
          .innerJoin(users, eq(users.id, tickets.userId))
          .innerJoin(emails, and(eq(emails.userId, users.id), eq(emails.isPrimary, true)))
          .where(
            and(
              eq(tickets.hash, hash),
              eq(tickets.spentInto, marker),
              eq(users.disabled, false),
              eq(users.passwordVersion, sql`json_extract(${tickets.data}, '$.pv')`),
              eq(emails.address, sql`json_extract(${tickets.data}, '$.email')`),
            ),
          ),
      );
      const [spend, , set, found] = await db.batch([
        db
          .update(tickets)
          .set({ usedAt: now, spentInto: marker })
          .where(usable(hash, purpose, now))
          .returning({ userId: tickets.userId }),
        // Before the password's version moves on (the check reads it).
        revokeAllStatement(db, userId, now, stillValid),
        setPasswordStatement(db, userId, passwordHash, now, stillValid),
        userByIdQuery(db, userId),
      ]);
      if (!spend[0]) return null;
      return { user: found[0] ?? null, changed: set.meta.changes === 1 };
    },

    async insertForNewAddress(userId, address, ticket, { windows, recipient, notifyHolder }) {
      const one = { one: sql`1` };
      const routeWithin = windows.map((w) => withinWindow(db, w));
      const enabled = exists(
        db
          .select(one)
          .from(users)
          .where(and(eq(users.id, userId), eq(users.disabled, false))),
      );
      // An unverified secondary address is no hold (users.store addressHeld): the confirmation
      // frees it.
      const free = notExists(db.select(one).from(emails).where(addressHeld(address)));
      const heldByOther = exists(
        db
          .select(one)
          .from(emails)
          .where(and(addressHeld(address), ne(emails.userId, userId))),
      );
      const window = recipient ? recipientKeyed(recipient, address) : undefined;
      // The service's checks after the batch, in SQL: nothing is written unless they all pass.
      const allowed = and(...routeWithin, enabled, free, window ? withinWindow(db, window) : undefined);
      const data = JSON.stringify(ticket.data ?? {});
      const [hits, reads, recipientHit, writes] = [
        windows.map((w) => hitStatement(db, w, sql`1`)),
        [userByIdQuery(db, userId), usersWithPrimaryQuery(db).where(heldBy(db, address)).limit(1)],
        window
          ? [
              hitStatement(
                db,
                window,
                and(...routeWithin, enabled, notifyHolder ? or(free, heldByOther) : free)!,
              ),
            ]
          : [],
        [
          db
            .update(tickets)
            .set({ usedAt: ticket.createdAt })
            .where(and(open(userId, ticket.purpose), allowed)),
          db
            .insert(tickets)
            .select(
              db
                .select(
                  ticketRow(
                    ticket,
                    sql`json_set(${data}, '$.pv', ${users.passwordVersion}, '$.from', ${emails.address})`,
                  ),
                )
                .from(users)
                .leftJoin(emails, and(eq(emails.userId, users.id), eq(emails.isPrimary, true)))
                .where(and(eq(users.id, userId), allowed)),
            )
            .returning({ userId: tickets.userId }),
        ],
      ] as const;
      const results = (await db.batch([
        ...hits,
        ...reads,
        ...recipientHit,
        ...writes,
      ] as never)) as unknown[][];
      const at = hits.length;
      const [user] = results[at] as UserRow[];
      const [holder] = results[at + 1] as UserRow[];
      const [counted] = (window ? results[at + 2] : []) as { count: number }[];
      return {
        // An unguarded upsert with RETURNING always yields its row.
        counts: results.slice(0, at).map((rows) => (rows[0] as { count: number }).count),
        user: user ?? null,
        holder: holder ?? null,
        recipientCount: counted ? counted.count : null,
        issued: results[results.length - 1]!.length > 0,
      };
    },

    async insertForHolder(
      address,
      ticket,
      { spendOpen, activeOnly, withPasswordVersion, window: recipient, routeWindows = [] },
    ) {
      const window = recipient ? recipientKeyed(recipient, address) : undefined;
      // The route's windows, counted whoever holds the address (the answer must not tell).
      const routeHits = routeWindows.map((w) => hitStatement(db, w, sql`1`));
      const routeWithin = routeWindows.map((w) => withinWindow(db, w));
      const holder = and(
        eq(users.id, db.select({ userId: emails.userId }).from(emails).where(eq(emails.address, address))),
        eq(users.disabled, false),
        activeOnly ? eq(users.active, true) : undefined,
      );
      // Past the recipient's window nothing is written: no ticket, and the open ones stay valid, so
      // flooding requests for an address cannot kill the link its owner was last sent.
      const within = and(...routeWithin, window ? withinWindow(db, window) : undefined);
      const data = JSON.stringify(ticket.data ?? {});
      const insert = db
        .insert(tickets)
        .select(
          db
            .select(
              ticketRow(
                ticket,
                withPasswordVersion
                  ? sql`json_set(${data}, '$.pv', ${users.passwordVersion})`
                  : sql`json(${data})`,
              ),
            )
            .from(users)
            .where(and(holder, within)),
        )
        .returning({ userId: tickets.userId });
      // The window counts requests for addresses that have a holder (as mail to them would).
      const hit = window
        ? [
            hitStatement(
              db,
              window,
              and(exists(db.select({ one: sql`1` }).from(users).where(holder)), ...routeWithin)!,
            ),
          ]
        : [];
      // Spending the open ones first, only for that same holder (the ticket's own insert rule).
      const spend = spendOpen
        ? [
            db
              .update(tickets)
              .set({ usedAt: ticket.createdAt })
              .where(
                and(
                  eq(tickets.purpose, ticket.purpose),
                  isNull(tickets.usedAt),
                  eq(tickets.userId, db.select({ id: users.id }).from(users).where(holder)),
                  within,
                ),
              ),
          ]
        : [];
      // The route's hits first: everything after them reads their counts.
      const statements = [...routeHits, ...hit, ...spend, insert] as const;
      const results = (
        statements.length === 1 ? [await insert] : await db.batch(statements as never)
      ) as unknown[][];
      const inserted = results[results.length - 1] as { userId: string }[];
      return {
        issued: inserted.length > 0,
        // An unguarded upsert with RETURNING always yields its row.
        routeCounts: results.slice(0, routeHits.length).map((rows) => (rows[0] as { count: number }).count),
      };
    },
  };
}
