/**
 * A user's email addresses beyond the primary one: list, add, make primary, remove, and the
 * lookup of an account by address for clients that ask before they sign in. Each change is one
 * conditional statement, so parallel requests cannot leave a user with no primary address, two
 * of them, or more addresses than allowed.
 *
 * An unverified secondary address does not lead to its account: whoever added it has not shown
 * it is theirs (a passcode to it would sign its real owner into someone else's account).
 *
 * Lookup without existence hints: when ACCOUNT_EXISTENCE_HINTS is off, an unknown address gets
 * stable pseudo ids (HMAC of the address) and every answer says "not verified, no passkey", so a
 * known and an unknown address cannot be told apart by the answer (only by what the mailbox gets).
 */
import type { Clock } from "../../lib/clock";
import { fromBase64Url, toHex, utf8 } from "../../lib/encoding";
import { AuthError } from "../errors";
import { normalizeEmail } from "./email-address";
import type { EmailStore } from "./emails.store";

export interface EmailAddress {
  id: string;
  userId: string;
  address: string;
  verified: boolean;
  primary: boolean;
  createdAt: number;
}

export interface AccountLookup {
  userId: string;
  emailId: string;
  verified: boolean;
  hasPasskey: boolean;
}

export type AddEmailResult = { kind: "added"; email: EmailAddress } | { kind: "limit_reached" };
export type RemoveEmailResult = { kind: "removed" } | { kind: "primary" };

export interface EmailService {
  list(userId: string): Promise<EmailAddress[]>;
  get(userId: string, emailId: string): Promise<EmailAddress | null>;
  /** Adds an unverified (or, with `verified`, verified) address; EMAIL_IN_USE when any account holds it. */
  add(userId: string, address: unknown, opts: { max: number; verified?: boolean }): Promise<AddEmailResult>;
  /** NOT_FOUND unless the address is the user's; FORBIDDEN when `requireVerified` and it is not verified. */
  setPrimary(userId: string, emailId: string, opts: { requireVerified: boolean }): Promise<void>;
  /** NOT_FOUND unless the address is the user's; the primary address is never removed. */
  remove(userId: string, emailId: string): Promise<RemoveEmailResult>;
  markVerified(userId: string, emailId: string): Promise<void>;
  /**
   * A stable UUID-shaped pseudo id for `value` (HMAC with PASSCODE_SECRET). Never a real row's,
   * except that a just-in-time sign-up gives its account the ids POST /user answered before.
   */
  pseudoId(label: string, value: string): Promise<string>;
  /**
   * The account holding an address (see module comment for `hints: false`). With `offerSignup`
   * (hints off), an address no account holds gets a pending sign-up under its pseudo ids in the
   * same round trip, so that a passcode for them can create the account (passcodes.service.ts).
   */
  lookup(address: unknown, opts: { hints: boolean; offerSignup?: boolean }): Promise<AccountLookup | null>;
}

/** How long a pending sign-up waits for its passcode to be asked for (and asked for again). */
const PENDING_SIGNUP_TTL_MS = 3_600_000;

/** A UUID v4-shaped id derived from HMAC(key, label || address). */
async function pseudoId(key: CryptoKey, label: string, address: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(`${label}\u0000${address}`)));
  const b = mac.slice(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = toHex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function createEmailService(deps: { store: EmailStore; clock: Clock; secret: string }): EmailService {
  const { store, clock } = deps;
  const macKey = crypto.subtle.importKey(
    "raw",
    fromBase64Url(deps.secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );

  const service: EmailService = {
    list: (userId) => store.list(userId),

    get: (userId, emailId) => store.get(userId, emailId),

    async add(userId, raw, { max, verified = false }) {
      const address = normalizeEmail(raw);
      const email = await store.addSecondary(
        { id: crypto.randomUUID(), userId, address, verified, createdAt: clock.now() },
        max,
      );
      return email ? { kind: "added", email } : { kind: "limit_reached" };
    },

    async setPrimary(userId, emailId, { requireVerified }) {
      const target = await service.get(userId, emailId);
      if (!target) throw new AuthError("NOT_FOUND");
      if (target.primary) return;
      if (requireVerified && !target.verified)
        throw new AuthError("FORBIDDEN", { detail: "Only a verified address can become primary." });
      await store.setPrimary(userId, emailId, clock.now());
    },

    async remove(userId, emailId) {
      if (await store.removeSecondary(userId, emailId)) return { kind: "removed" };
      if (await service.get(userId, emailId)) return { kind: "primary" };
      throw new AuthError("NOT_FOUND");
    },

    markVerified: (userId, emailId) => store.markVerified(userId, emailId, clock.now()),

    pseudoId: async (label, value) => pseudoId(await macKey, label, value),

    async lookup(raw, { hints, offerSignup = false }) {
      const address = normalizeEmail(raw);
      if (hints) {
        const row = await store.findOwner(address);
        return row
          ? { userId: row.userId, emailId: row.id, verified: row.verified, hasPasskey: row.hasPasskey }
          : null;
      }
      // Derived whether or not the address has an account: both answers cost the same.
      const key = await macKey;
      const pseudo = {
        userId: await pseudoId(key, "user", address),
        emailId: await pseudoId(key, "email", address),
      };
      const now = clock.now();
      const row = offerSignup
        ? await store.findOwnerOffering(address, { ...pseudo, now, expiresAt: now + PENDING_SIGNUP_TTL_MS })
        : await store.findOwner(address);
      if (row) return { userId: row.userId, emailId: row.id, verified: false, hasPasskey: false };
      return { ...pseudo, verified: false, hasPasskey: false };
    },
  };
  return service;
}
