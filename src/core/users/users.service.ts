/**
 * Users and their email addresses. Addresses are their own rows (one primary per user), stored
 * normalised (see email-address.ts) under a unique index, so two registrations racing for one
 * address leave exactly one account.
 */
import type { Clock } from "../../lib/clock";
import type { AttemptPolicy, LockState } from "../rate-limit/attempts.store";
import { forgetSessions } from "../sessions/session-cache";
import type { NewSessionRows, UserStore } from "./users.store";

export interface User {
  id: string;
  email: string | null;
  emailVerified: boolean;
  displayName: string | null;
  avatarUrl: string | null;
  locale: string | null;
  metadata: Record<string, unknown>;
  username: string | null;
  defaultRole: string;
  allowedRoles: string[];
  passwordHash: string | null;
  passwordVersion: number;
  active: boolean;
  disabled: boolean;
  totpEnabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface NewUser {
  /** The new user's id (a fresh one when absent), e.g. to draft its first session beforehand. */
  id?: string;
  /** The primary address's id (a fresh one when absent), for a caller that answers it without reading it back. */
  emailId?: string;
  email: string;
  emailVerified?: boolean;
  passwordHash: string | null;
  username?: string | null;
  displayName?: string | null;
  avatarUrl?: string | null;
  locale?: string | null;
  metadata?: Record<string, unknown>;
  defaultRole: string;
  allowedRoles: string[];
  active: boolean;
}

export interface UserService {
  findById(id: string): Promise<User | null>;
  /** Whether a user with this id exists (one primary-key read). */
  exists(id: string): Promise<boolean>;
  /** The user holding `address` (its primary address, or a verified one: see findWithHolder). */
  findByEmail(address: string): Promise<User | null>;
  findByUsername(username: string): Promise<User | null>;
  /**
   * The user `id` and the user holding `address` (its primary address, or a verified one: an
   * unverified secondary address is no hold, see users.store addressHeld), in one round trip.
   */
  findWithHolder(id: string, address: string): Promise<{ user: User | null; holder: User | null }>;
  /**
   * A password login's read in one round trip: counts one attempt on `attemptKey` under the
   * attempt counter's `policy` (see rate-limit/attempts) and finds the user by address or username.
   */
  findForLogin(
    lookup: { email: string } | { username: string },
    attemptKey: string,
    policy: AttemptPolicy,
  ): Promise<{ lockedUntil: number; lock: LockState; now: number; user: User | null }>;
  /** Creates the user; with `session` (sessions.service `draft`, for this user's id) its first session too, in the same round trip. */
  create(input: NewUser, session?: NewSessionRows): Promise<User>;
  /**
   * Marks the user active and the address verified (activation links, magic links, passcodes,
   * OAuth), and creates the user's default team (core/teams) once.
   */
  activate(userId: string, address?: string): Promise<void>;
  setPassword(userId: string, passwordHash: string): Promise<void>;
  /** A login's rehash: `from` becomes `to` while it is still the stored hash (the version stays). */
  rehash(userId: string, from: string, to: string): Promise<void>;
  /**
   * Replaces the primary address; EMAIL_IN_USE when another account holds it. `also` joins the
   * same round trip (UserStore.changePrimaryEmail): open tickets of a purpose spent, the user's
   * other sessions ended.
   */
  changePrimaryEmail(
    userId: string,
    address: string,
    verified: boolean,
    also?: { spendTickets?: string; endSessions?: { keep: string | null } },
  ): Promise<void>;
  delete(userId: string): Promise<boolean>;
}

export function createUserService(deps: { store: UserStore; clock: Clock }): UserService {
  const { store, clock } = deps;

  const service: UserService = {
    findById: (id) => store.findById(id),
    exists: (id) => store.exists(id),
    findByEmail: (address) => store.findByEmail(address),
    findByUsername: (username) => store.findByUsername(username),
    findWithHolder: (id, address) => store.findWithHolder(id, address),
    async findForLogin(lookup, key, policy) {
      const now = clock.now();
      return { now, ...(await store.findForLogin(lookup, { key, now, policy })) };
    },

    async create(input, session) {
      const now = clock.now();
      const id = input.id ?? crypto.randomUUID();
      return store.create(
        {
          id,
          displayName: input.displayName ?? null,
          avatarUrl: input.avatarUrl ?? null,
          locale: input.locale ?? null,
          metadata: input.metadata ?? {},
          username: input.username ?? null,
          defaultRole: input.defaultRole,
          allowedRoles: input.allowedRoles,
          passwordHash: input.passwordHash,
          active: input.active,
          createdAt: now,
          updatedAt: now,
        },
        {
          id: input.emailId ?? crypto.randomUUID(),
          address: input.email,
          verified: input.emailVerified ?? false,
        },
        // A verified user gets a default team, whichever dialect verified them: an address verified
        // at sign-up (an OAuth provider's) is an activation too, so its team comes in the same batch.
        { defaultTeam: input.emailVerified === true, session },
      );
    },

    // The default team comes with the activation, in the same round trip.
    activate: (userId, address) => store.activate(userId, address, clock.now()),

    setPassword: (userId, passwordHash) => store.setPassword(userId, passwordHash, clock.now()),

    rehash: (userId, from, to) => store.rehash(userId, from, to, clock.now()),

    async changePrimaryEmail(userId, address, verified, also) {
      await store.changePrimaryEmail(userId, address, verified, clock.now(), also);
      if (also?.endSessions) forgetSessions();
    },

    async delete(userId) {
      const deleted = await store.delete(userId);
      forgetSessions();
      return deleted;
    },
  };
  return service;
}
