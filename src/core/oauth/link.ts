/**
 * Finds, links or creates the user behind an outside identity (an OAuth provider's subject, a SAML
 * IdP's NameID), for every login that comes from elsewhere. security.md §0.5 (pre-account
 * takeover): an identity is linked to an existing account only when the provider vouches for the
 * address AND the account's address is verified too; otherwise OAUTH_USER_CONFLICT, and no
 * account is ever joined by an unverified address.
 */
import type { Clock } from "../../lib/clock";
import type { Config } from "../config";
import { AuthError, type OAuthErrorCode } from "../errors";
import { normalizeEmail } from "../users/email-address";
import type { User, UserService } from "../users/users.service";
import { OAuthError } from "./oauth.service";
import type { OAuthStore } from "./oauth.store";
import type { OAuthProfile } from "./providers";

export type IdentityLinker = (
  profile: OAuthProfile,
  redirectAfter: string | null,
) => Promise<{ user: User; isNew: boolean }>;

export function createIdentityLinker(deps: {
  store: OAuthStore;
  clock: Clock;
  users: UserService;
  config: Pick<Config, "features" | "roles">;
}): IdentityLinker {
  const { store, clock, users, config } = deps;
  return async function linkOrCreate(profile, redirectAfter) {
    const now = clock.now();
    const linked = await store.linkedUser(profile.provider, profile.subject);
    const fail = (code: OAuthErrorCode, detail?: string) => new OAuthError(code, { detail, redirectAfter });
    if (linked) {
      const user = await users.findById(linked);
      if (!user) throw fail("OAUTH_USER_CONFLICT");
      if (user.disabled) throw fail("OAUTH_ACCOUNT_DISABLED");
      await store.updateIdentityEmail(profile.provider, profile.subject, profile.email, now);
      return { user, isNew: false };
    }
    if (!profile.email) throw fail("OAUTH_UNVERIFIED_EMAIL", "The provider shared no email address.");
    if (!profile.emailVerified)
      throw fail("OAUTH_UNVERIFIED_EMAIL", "The provider has not verified the email address.");
    let email: string;
    try {
      email = normalizeEmail(profile.email);
    } catch {
      throw fail("OAUTH_UNVERIFIED_EMAIL", "The provider's email address is not usable.");
    }
    const insertIdentity = (userId: string) =>
      store.link({
        provider: profile.provider,
        subject: profile.subject,
        userId,
        email,
        createdAt: now,
        updatedAt: now,
      });
    // An unproven secondary claim on the address by another account is no hold: findByEmail passes
    // it by and the creating batch frees it (users.store addressHeld).
    const existing = await users.findByEmail(email);
    if (existing) {
      if (existing.disabled) throw fail("OAUTH_ACCOUNT_DISABLED");
      if ((await store.isEmailVerified(email)) !== true)
        throw fail("OAUTH_USER_CONFLICT", "An account with this address exists and has not verified it.");
      await insertIdentity(existing.id);
      if (!existing.active) await users.activate(existing.id, email);
      return { user: (await users.findById(existing.id))!, isNew: false };
    }
    if (!config.features.signup) throw fail("OAUTH_SIGNUP_DISABLED");
    let user: User;
    try {
      user = await users.create({
        email,
        emailVerified: true,
        passwordHash: null,
        displayName: profile.name ?? email,
        avatarUrl: profile.avatarUrl,
        defaultRole: config.roles.defaultRole,
        allowedRoles: config.roles.defaultAllowed,
        active: true,
      });
    } catch (e) {
      // Another request created the address meanwhile: treat it as the conflict it is.
      if (e instanceof AuthError && e.code === "ACCOUNT_EXISTS") throw fail("OAUTH_USER_CONFLICT");
      throw e;
    }
    await insertIdentity(user.id);
    return { user, isNew: true };
  };
}
