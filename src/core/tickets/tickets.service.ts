/**
 * Typed one-time secrets (activation, password reset, email change, MFA step, magic link, ...).
 * The secret is 256 random bits handed to the user once; only its SHA-256 is stored. Consuming it is
 * one conditional UPDATE ... RETURNING, so under any number of parallel requests exactly one wins.
 */

import type { Clock } from "../../lib/clock";
import { randomToken, sha256Hex } from "../../lib/crypto";
import type { CountedWindow, RecipientWindow } from "../rate-limit/windows.store";
import type { SessionDraft } from "../sessions/sessions.service";
import type { TotpState } from "../totp/totp.service";
import type { User } from "../users/users.service";
import type { SpendExtras, TicketRow, TicketStore } from "./tickets.store";

export type TicketPurpose =
  | "activation"
  | "password_reset"
  | "email_change"
  | "mfa"
  | "magic_link"
  | "magic_register"
  /** A one-time value that a browser exchanges for a session (hanko `/token` after OAuth). */
  | "session_exchange";

export interface TicketGrant {
  userId: string;
  data: Record<string, unknown>;
}

export interface TicketService {
  /** Issues a ticket; `replace` first spends every open ticket of that purpose for the user. */
  issue(opts: {
    purpose: TicketPurpose;
    userId: string;
    ttlMs: number;
    data?: Record<string, unknown>;
    replace?: boolean;
  }): Promise<string>;
  /** Spends the ticket; null when unknown, of another purpose, expired or already spent. */
  consume(token: string, purpose: TicketPurpose): Promise<TicketGrant | null>;
  /** `consume`, with the ticket's user read in the same round trip (null when it is gone). */
  consumeWithUser(
    token: string,
    purpose: TicketPurpose,
  ): Promise<(TicketGrant & { user: User | null }) | null>;
  /** Counts one attempt against the ticket without spending it; null past `maxAttempts` or when invalid. */
  attempt(token: string, purpose: TicketPurpose, maxAttempts: number): Promise<TicketGrant | null>;
  /** Spends every open ticket of that purpose for the user. */
  revokeAll(userId: string, purpose: TicketPurpose): Promise<void>;
  /**
   * `issue` for the enabled user holding `address` (active ones only with `activeOnly`), with the
   * lookup in the same round trip; `data.pv` is the user's password version with
   * `withPasswordVersion`. Null (nothing issued) when no such user holds the address.
   */
  issueForHolder(
    address: string,
    opts: {
      purpose: TicketPurpose;
      ttlMs: number;
      data?: Record<string, unknown>;
      replace?: boolean;
      activeOnly?: boolean;
      withPasswordVersion?: boolean;
      /** The recipient's mail window, counted in the same round trip; past it nothing is issued. */
      window?: RecipientWindow | null;
      /**
       * The route's per-IP windows (ip-limiter DeferredLimit), counted first in the same round
       * trip whoever holds the address; past one of them nothing else is counted or issued.
       */
      routeWindows?: CountedWindow[];
    },
  ): Promise<{
    /** Null when nothing was issued. */
    token: string | null;
    /** Each route window's count after this request's hit, in the order given. */
    routeCounts: number[];
  }>;
  /**
   * A ticket for `userId` to take `address` (an email change; open ones of the purpose spent), in
   * one round trip with what the request decides on (TicketStore.insertForNewAddress): the
   * route's per-IP windows counted, the user and the address's holder read, the recipient window
   * counted. `token` is null when nothing was issued; `recipientWithin` tells whether mail to the
   * address may go out.
   */
  issueForNewAddress(
    userId: string,
    address: string,
    opts: {
      purpose: TicketPurpose;
      ttlMs: number;
      data: Record<string, unknown>;
      windows: CountedWindow[];
      recipient: RecipientWindow | null;
      notifyHolder: boolean;
    },
  ): Promise<{
    token: string | null;
    counts: number[];
    user: User | null;
    holder: User | null;
    recipientWithin: boolean;
  }>;
  /** The open ticket's grant without spending it; null when `consume` would find nothing. */
  peek(token: string, purpose: TicketPurpose): Promise<TicketGrant | null>;
  /** `attempt`, with the TOTP state of the ticket's user read in the same round trip. */
  attemptWithTotp(
    token: string,
    purpose: TicketPurpose,
    maxAttempts: number,
  ): Promise<(TicketGrant & { totp: TotpState | null }) | null>;
  /**
   * Spends the ticket of `draft`'s user into that drafted session (sessions.service `draft`), in one
   * round trip, exactly once: the session is written only by the spend that wins, and only for an
   * enabled user. Null when there was nothing to spend; "step_used" when `extras.totpStep` was
   * refused (not newer than the last accepted step); `user` null when the user is gone.
   */
  spendIntoSession(
    token: string,
    purpose: TicketPurpose,
    draft: SessionDraft,
    extras?: SpendExtras,
  ): Promise<
    | {
        data: Record<string, unknown>;
        user: User | null;
        endedOthers: number;
        recoveryCodesLeft: number | null;
      }
    | "step_used"
    | null
  >;
  /**
   * Spends a password-reset ticket and sets `passwordHash` with it, ending every session, in one
   * round trip (tickets.store `spendIntoPassword`). Null when there was nothing to spend; `changed`
   * false when the ticket no longer matched the account (or the user is disabled).
   */
  spendIntoPassword(
    token: string,
    purpose: TicketPurpose,
    passwordHash: string,
  ): Promise<{ user: User | null; changed: boolean } | null>;
}

export function createTicketService(deps: { store: TicketStore; clock: Clock }): TicketService {
  const { store, clock } = deps;
  const grant = (row: TicketRow | null) => (row?.userId ? { userId: row.userId, data: row.data } : null);

  return {
    async issue({ purpose, userId, ttlMs, data = {}, replace = false }) {
      const token = randomToken();
      const now = clock.now();
      await store.insert(
        { hash: await sha256Hex(token), purpose, userId, data, createdAt: now, expiresAt: now + ttlMs },
        replace,
      );
      return token;
    },

    async issueForHolder(address, opts) {
      const token = randomToken();
      const now = clock.now();
      const issued = await store.insertForHolder(
        address,
        {
          hash: await sha256Hex(token),
          purpose: opts.purpose,
          data: opts.data ?? {},
          createdAt: now,
          expiresAt: now + opts.ttlMs,
        },
        {
          spendOpen: opts.replace ?? false,
          activeOnly: opts.activeOnly ?? false,
          withPasswordVersion: opts.withPasswordVersion ?? false,
          window: opts.window ?? undefined,
          routeWindows: opts.routeWindows,
        },
      );
      return { token: issued.issued ? token : null, routeCounts: issued.routeCounts };
    },

    async issueForNewAddress(userId, address, opts) {
      const token = randomToken();
      const now = clock.now();
      const found = await store.insertForNewAddress(
        userId,
        address,
        {
          hash: await sha256Hex(token),
          purpose: opts.purpose,
          data: opts.data,
          createdAt: now,
          expiresAt: now + opts.ttlMs,
        },
        { windows: opts.windows, recipient: opts.recipient ?? undefined, notifyHolder: opts.notifyHolder },
      );
      const { recipient } = opts;
      return {
        token: found.issued ? token : null,
        counts: found.counts,
        user: found.user,
        holder: found.holder,
        recipientWithin:
          recipient === null || (found.recipientCount !== null && found.recipientCount <= recipient.max),
      };
    },

    async consume(token, purpose) {
      if (!token || token.length > 200) return null;
      return grant(await store.consume(await sha256Hex(token), purpose, clock.now()));
    },

    async consumeWithUser(token, purpose) {
      if (!token || token.length > 200) return null;
      const row = await store.consumeWithUser(await sha256Hex(token), purpose, clock.now());
      const g = grant(row);
      return g && row ? { ...g, user: row.user } : null;
    },

    async attempt(token, purpose, maxAttempts) {
      if (!token || token.length > 200) return null;
      return grant(await store.attempt(await sha256Hex(token), purpose, clock.now(), maxAttempts));
    },

    async revokeAll(userId, purpose) {
      await store.spendAll(userId, purpose, clock.now());
    },

    async peek(token, purpose) {
      if (!token || token.length > 200) return null;
      return grant(await store.peek(await sha256Hex(token), purpose, clock.now()));
    },

    async attemptWithTotp(token, purpose, maxAttempts) {
      if (!token || token.length > 200) return null;
      const row = await store.attemptWithTotp(await sha256Hex(token), purpose, clock.now(), maxAttempts);
      const g = grant(row);
      return g && row ? { ...g, totp: row.totp } : null;
    },

    async spendIntoPassword(token, purpose, passwordHash) {
      if (!token || token.length > 200) return null;
      return store.spendIntoPassword(await sha256Hex(token), purpose, clock.now(), passwordHash);
    },

    async spendIntoSession(token, purpose, draft, extras) {
      if (!token || token.length > 200) return null;
      return store.spendIntoSession(await sha256Hex(token), purpose, draft, extras);
    },
  };
}
