/** Domain -> Hanko 0.12 JSON (field names of api/hanko-0.12-openapi.txt and the 0.12 SDK). */
import type { Config } from "../../core/config";
import type { IssuedPasscode } from "../../core/passcodes/passcodes.service";
import type { EmailAddress } from "../../core/users/emails.service";
import type { User } from "../../core/users/users.service";
import type { Passkey } from "../../core/webauthn/webauthn.service";

const iso = (ms: number) => new Date(ms).toISOString();

export const presentEmail = (e: EmailAddress) => ({
  id: e.id,
  address: e.address,
  is_verified: e.verified,
  is_primary: e.primary,
});

export const presentPasscode = (p: IssuedPasscode) => ({
  id: p.id,
  ttl: p.ttl,
  created_at: iso(p.createdAt),
});

export const presentUser = (u: User, passkeys: Passkey[]) => ({
  id: u.id,
  email: u.email ?? undefined,
  created_at: iso(u.createdAt),
  updated_at: iso(u.updatedAt),
  verified: u.emailVerified,
  webauthn_credentials: passkeys.map((p) => ({ id: p.id })),
});

export const presentCredential = (p: Passkey) => ({
  id: p.id,
  name: p.name ?? undefined,
  public_key: p.publicKey,
  attestation_type: p.attestationType,
  aaguid: p.aaguid,
  last_used_at: p.lastUsedAt === null ? undefined : iso(p.lastUsedAt),
  created_at: iso(p.createdAt),
  transports: p.transports,
  backup_eligible: p.backupEligible,
  backup_state: p.backupState,
});

/** GET /.well-known/config (HankoConfiguration, plus what the 0.12 SDK reads). */
export const presentConfig = (config: Config, providers: string[]) => ({
  password: { enabled: config.features.passwords, min_password_length: config.passwords.minLength },
  emails: {
    require_verification: config.features.verifyEmails,
    max_num_of_addresses: config.emails.maxPerUser,
  },
  providers,
  account: { allow_deletion: config.features.selfDelete, allow_signup: config.features.signup },
  use_enterprise: false,
});
