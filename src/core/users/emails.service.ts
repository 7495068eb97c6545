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
   * Frees an address held only as an unverified secondary address of some account, so that
   * adding someone's address without proving it cannot keep its owner from signing up.
   */
  releaseUnverified(address: string): Promise<void>;
  /** A stable UUID-shaped pseudo id for `value` (HMAC with PASSCODE_SECRET), never a real row's. */
  pseudoId(label: string, value: string): Promise<string>;
  /** The account holding an address (see module comment for `hints: false`). */
  lookup(address: unknown, opts: { hints: boolean }): Promise<AccountLookup | null>;
}

type Row = {
  id: string;
  user_id: string;
  address: string;
  verified: number;
  is_primary: number;
  created_at: number;
};
const toEmail = (r: Row): EmailAddress => ({
  id: r.id,
  userId: r.user_id,
  address: r.address,
  verified: r.verified === 1,
  primary: r.is_primary === 1,
  createdAt: r.created_at,
});

/** A UUID v4-shaped id derived from HMAC(key, label || address). */
async function pseudoId(key: CryptoKey, label: string, address: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(`${label}\u0000${address}`)));
  const b = mac.slice(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = toHex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function createEmailService(deps: { d1: D1Database; clock: Clock; secret: string }): EmailService {
  const { d1, clock } = deps;
  const macKey = crypto.subtle.importKey(
    "raw",
    fromBase64Url(deps.secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const COLUMNS = "id, user_id, address, verified, is_primary, created_at";

  const service: EmailService = {
    async list(userId) {
      const { results } = await d1
        .prepare(`SELECT ${COLUMNS} FROM emails WHERE user_id = ? ORDER BY created_at, id`)
        .bind(userId)
        .all<Row>();
      return results.map(toEmail);
    },

    async get(userId, emailId) {
      const row = await d1
        .prepare(`SELECT ${COLUMNS} FROM emails WHERE id = ? AND user_id = ?`)
        .bind(emailId, userId)
        .first<Row>();
      return row ? toEmail(row) : null;
    },

    async add(userId, raw, { max, verified = false }) {
      const address = normalizeEmail(raw);
      const now = clock.now();
      const id = crypto.randomUUID();
      let row: Row | null;
      try {
        // The count guard and the insert are one statement: parallel adds cannot pass the limit.
        row = await d1
          .prepare(
            `INSERT INTO emails (id, user_id, address, is_primary, verified, created_at, updated_at)
             SELECT ?1, ?2, ?3, 0, ?4, ?5, ?5 WHERE (SELECT COUNT(*) FROM emails WHERE user_id = ?2) < ?6
             RETURNING ${COLUMNS}`,
          )
          .bind(id, userId, address, verified ? 1 : 0, now, max)
          .first<Row>();
      } catch (e) {
        if (e instanceof Error && /UNIQUE constraint failed/.test(e.message))
          throw new AuthError("EMAIL_IN_USE", { cause: e });
        throw e;
      }
      return row ? { kind: "added", email: toEmail(row) } : { kind: "limit_reached" };
    },

    async setPrimary(userId, emailId, { requireVerified }) {
      const target = await service.get(userId, emailId);
      if (!target) throw new AuthError("NOT_FOUND");
      if (target.primary) return;
      if (requireVerified && !target.verified)
        throw new AuthError("FORBIDDEN", { detail: "Only a verified address can become primary." });
      await d1
        .prepare(
          `UPDATE emails SET is_primary = (id = ?1), updated_at = ?3
           WHERE user_id = ?2 AND EXISTS (SELECT 1 FROM emails WHERE id = ?1 AND user_id = ?2)`,
        )
        .bind(emailId, userId, clock.now())
        .run();
    },

    async remove(userId, emailId) {
      const gone = await d1
        .prepare("DELETE FROM emails WHERE id = ? AND user_id = ? AND is_primary = 0 RETURNING id")
        .bind(emailId, userId)
        .first();
      if (gone) return { kind: "removed" };
      if (await service.get(userId, emailId)) return { kind: "primary" };
      throw new AuthError("NOT_FOUND");
    },

    async markVerified(userId, emailId) {
      await d1
        .prepare("UPDATE emails SET verified = 1, updated_at = ? WHERE id = ? AND user_id = ?")
        .bind(clock.now(), emailId, userId)
        .run();
    },

    async releaseUnverified(address) {
      await d1
        .prepare("DELETE FROM emails WHERE address = ? AND is_primary = 0 AND verified = 0")
        .bind(address)
        .run();
    },

    pseudoId: async (label, value) => pseudoId(await macKey, label, value),

    async lookup(raw, { hints }) {
      const address = normalizeEmail(raw);
      const row = await d1
        .prepare(
          `SELECT e.id, e.user_id, e.verified,
             EXISTS (SELECT 1 FROM webauthn_credentials w WHERE w.user_id = e.user_id) AS has_passkey
           FROM emails e WHERE e.address = ? AND (e.is_primary = 1 OR e.verified = 1)`,
        )
        .bind(address)
        .first<{ id: string; user_id: string; verified: number; has_passkey: number }>();
      if (hints) {
        return row
          ? {
              userId: row.user_id,
              emailId: row.id,
              verified: row.verified === 1,
              hasPasskey: row.has_passkey === 1,
            }
          : null;
      }
      if (row) return { userId: row.user_id, emailId: row.id, verified: false, hasPasskey: false };
      const key = await macKey;
      return {
        userId: await pseudoId(key, "user", address),
        emailId: await pseudoId(key, "email", address),
        verified: false,
        hasPasskey: false,
      };
    },
  };
  return service;
}
