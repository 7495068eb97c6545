/**
 * D1 store of a user's email addresses. Each change is one conditional statement, so parallel
 * requests cannot leave a user with no primary address, two of them, or more addresses than allowed.
 */
import { and, asc, eq, exists, or, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { isUniqueViolation } from "../../db/errors";
import { emails, webauthnCredentials } from "../../db/schema";
import { AuthError } from "../errors";
import { offerSignupStatement } from "../passcodes/passcodes.store";

type EmailColumns = typeof emails.$inferSelect;

export type EmailRow = Pick<EmailColumns, "id" | "userId" | "address" | "verified" | "createdAt"> & {
  primary: boolean;
};

/** The account an address leads to, and whether it has a passkey. */
export type EmailOwnerRow = Pick<EmailColumns, "id" | "userId" | "verified"> & { hasPasskey: boolean };

export interface EmailStore {
  /** The user's addresses, oldest first. */
  list(userId: string): Promise<EmailRow[]>;
  get(userId: string, emailId: string): Promise<EmailRow | null>;
  /**
   * Adds a secondary address unless the user already has `max`; null when at the limit.
   * EMAIL_IN_USE when any account holds the address.
   */
  addSecondary(
    row: Pick<EmailColumns, "id" | "userId" | "address" | "verified" | "createdAt">,
    max: number,
  ): Promise<EmailRow | null>;
  /** Makes `emailId` the user's only primary address (nothing when it is not the user's). */
  setPrimary(userId: string, emailId: string, now: number): Promise<void>;
  /** Deletes a secondary address; false when there is none of the user's with that id. */
  removeSecondary(userId: string, emailId: string): Promise<boolean>;
  markVerified(userId: string, emailId: string, now: number): Promise<void>;
  /** The row of `address` when it is primary or verified. */
  findOwner(address: string): Promise<EmailOwnerRow | null>;
  /**
   * findOwner, and in the same round trip, where no account holds the address, its pending
   * sign-up under the pseudo ids (passcodes.store.ts offerSignupStatement).
   */
  findOwnerOffering(
    address: string,
    offer: { userId: string; emailId: string; now: number; expiresAt: number },
  ): Promise<EmailOwnerRow | null>;
}

const emailFields = {
  id: emails.id,
  userId: emails.userId,
  address: emails.address,
  verified: emails.verified,
  primary: emails.isPrimary,
  createdAt: emails.createdAt,
};

export function createEmailStore(db: Db): EmailStore {
  const ownerQuery = ownerQueryOf(db);
  return {
    list: (userId) =>
      db
        .select(emailFields)
        .from(emails)
        .where(eq(emails.userId, userId))
        .orderBy(asc(emails.createdAt), asc(emails.id)),

    get: async (userId, emailId) =>
      (await db
        .select(emailFields)
        .from(emails)
        .where(and(eq(emails.id, emailId), eq(emails.userId, userId)))
        .get()) ?? null,

    async addSecondary(row, max) {
      try {
        // The count guard and the insert are one statement: parallel adds cannot pass the limit.
        const [added] = await db
          .insert(emails)
          .select(
            sql`select ${row.id}, ${row.userId}, ${row.address}, 0, ${row.verified ? 1 : 0}, ${row.createdAt}, ${row.createdAt}
                where ${db.$count(emails, eq(emails.userId, row.userId))} < ${max}`,
          )
          .returning(emailFields);
        return added ?? null;
      } catch (e) {
        if (isUniqueViolation(e)) throw new AuthError("EMAIL_IN_USE", { cause: e });
        throw e;
      }
    },

    async setPrimary(userId, emailId, now) {
      await db
        .update(emails)
        .set({ isPrimary: sql`${emails.id} = ${emailId}`, updatedAt: now })
        .where(
          and(
            eq(emails.userId, userId),
            exists(
              db
                .select({ ok: sql`1` })
                .from(emails)
                .where(and(eq(emails.id, emailId), eq(emails.userId, userId))),
            ),
          ),
        );
    },

    async removeSecondary(userId, emailId) {
      const gone = await db
        .delete(emails)
        .where(and(eq(emails.id, emailId), eq(emails.userId, userId), eq(emails.isPrimary, false)))
        .returning({ id: emails.id });
      return gone.length > 0;
    },

    async markVerified(userId, emailId, now) {
      await db
        .update(emails)
        .set({ verified: true, updatedAt: now })
        .where(and(eq(emails.id, emailId), eq(emails.userId, userId)));
    },

    findOwner: async (address) => (await ownerQuery(address).get()) ?? null,

    async findOwnerOffering(address, offer) {
      const [found] = await db.batch([ownerQuery(address), offerSignupStatement(db, { ...offer, address })]);
      return found[0] ?? null;
    },
  };
}

function ownerQueryOf(db: Db) {
  return (address: string) =>
    db
      .select({
        id: emails.id,
        userId: emails.userId,
        verified: emails.verified,
        hasPasskey: exists(
          db
            .select({ ok: sql`1` })
            .from(webauthnCredentials)
            .where(eq(webauthnCredentials.userId, emails.userId)),
        ).mapWith(Boolean),
      })
      .from(emails)
      .where(and(eq(emails.address, address), or(eq(emails.isPrimary, true), eq(emails.verified, true))));
}
