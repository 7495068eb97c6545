/**
 * D1 statements of the OAuth service: authorisation states in flight, spent by one conditional
 * UPDATE ... RETURNING so a state works once, and the (provider, subject) -> user links.
 */
import { and, eq, gt, isNull } from "drizzle-orm";
import type { Db } from "../../db/client";
import { emails, oauthIdentities, oauthStates } from "../../db/schema";

export type NewOAuthState = Omit<typeof oauthStates.$inferInsert, "usedAt">;
/** What a spent state hands back to the callback. */
export type SpentOAuthState = Pick<
  typeof oauthStates.$inferSelect,
  "provider" | "codeVerifier" | "nonce" | "callbackUrl" | "redirectAfter"
>;
export type NewOAuthIdentity = typeof oauthIdentities.$inferInsert;

export interface OAuthStore {
  addState(state: NewOAuthState): Promise<void>;
  /** Spends the state with that hash once; null when unknown, expired or already used. */
  spendState(hash: string, now: number): Promise<SpentOAuthState | null>;
  /** The user linked to the provider's subject, or null. */
  linkedUser(provider: string, subject: string): Promise<string | null>;
  /** Records the address the provider now reports for a linked identity. */
  updateIdentityEmail(provider: string, subject: string, email: string | null, now: number): Promise<void>;
  /** Links a provider identity to a user (a second link of the same identity fails). */
  link(identity: NewOAuthIdentity): Promise<void>;
  /** Whether the stored address is verified; null when no account holds it. */
  isEmailVerified(address: string): Promise<boolean | null>;
}

export function createOAuthStore(db: Db): OAuthStore {
  const s = oauthStates;
  const i = oauthIdentities;
  return {
    async addState(state) {
      await db.insert(s).values(state);
    },

    async spendState(hash, now) {
      const row = await db
        .update(s)
        .set({ usedAt: now })
        .where(and(eq(s.hash, hash), isNull(s.usedAt), gt(s.expiresAt, now)))
        .returning({
          provider: s.provider,
          codeVerifier: s.codeVerifier,
          nonce: s.nonce,
          callbackUrl: s.callbackUrl,
          redirectAfter: s.redirectAfter,
        })
        .get();
      return row ?? null;
    },

    async linkedUser(provider, subject) {
      const row = await db
        .select({ userId: i.userId })
        .from(i)
        .where(and(eq(i.provider, provider), eq(i.subject, subject)))
        .get();
      return row?.userId ?? null;
    },

    async updateIdentityEmail(provider, subject, email, now) {
      await db
        .update(i)
        .set({ email, updatedAt: now })
        .where(and(eq(i.provider, provider), eq(i.subject, subject)));
    },

    async link(identity) {
      await db.insert(i).values(identity);
    },

    async isEmailVerified(address) {
      const row = await db
        .select({ verified: emails.verified })
        .from(emails)
        .where(eq(emails.address, address))
        .get();
      return row?.verified ?? null;
    },
  };
}
