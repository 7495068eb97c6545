/**
 * D1 tables. Times are integer milliseconds since the epoch. Secrets are stored hashed (SHA-256 hex)
 * or encrypted (TOTP); columns are snake_case through drizzle's `casing`.
 */
import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const users = sqliteTable(
  "users",
  {
    id: text().primaryKey(),
    displayName: text(),
    avatarUrl: text(),
    locale: text(),
    metadata: text({ mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
    username: text(),
    defaultRole: text().notNull(),
    allowedRoles: text({ mode: "json" }).$type<string[]>().notNull(),
    passwordHash: text(),
    /** Bumped on every password change; tickets bound to a password version die with it. */
    passwordVersion: integer().notNull().default(0),
    active: integer({ mode: "boolean" }).notNull().default(false),
    disabled: integer({ mode: "boolean" }).notNull().default(false),
    totpSecret: text(),
    totpPendingSecret: text(),
    totpEnabled: integer({ mode: "boolean" }).notNull().default(false),
    /** Last accepted TOTP time step: a step at or below it is a replay. */
    totpLastStep: integer(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [
    uniqueIndex("users_username_unique").on(t.username),
    // The admin API's user list pages in this order.
    index("users_created_idx").on(t.createdAt, t.id),
  ],
);

export const emails = sqliteTable(
  "emails",
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** NFKC-normalised, lower-cased. */
    address: text().notNull(),
    isPrimary: integer({ mode: "boolean" }).notNull().default(false),
    verified: integer({ mode: "boolean" }).notNull().default(false),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [uniqueIndex("emails_address_unique").on(t.address), index("emails_user_idx").on(t.userId)],
);

export const sessions = sqliteTable(
  "sessions",
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: integer().notNull(),
    lastSeenAt: integer().notNull(),
    /** Absolute end of the session, whatever the refreshes. */
    expiresAt: integer().notNull(),
    revokedAt: integer(),
    userAgent: text(),
    ip: text(),
    /** Authentication methods used (pwd, otp, mfa, email, webauthn, oauth). */
    amr: text({ mode: "json" }).$type<string[]>().notNull(),
    /**
     * When the user last proved a credential in this session: the sign-in, or a step-up
     * (/v1/reauthenticate). Refreshes never move it; rows from before it existed read 0 (stale).
     */
    authAt: integer().notNull().default(0),
  },
  (t) => [index("sessions_user_idx").on(t.userId)],
);

/** One row per refresh token ever issued; a session is a rotation family. */
export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    hash: text().primaryKey(),
    sessionId: text()
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    parentHash: text(),
    createdAt: integer().notNull(),
    expiresAt: integer().notNull(),
    rotatedAt: integer(),
    /** Hash of the child minted by the rotation that consumed this token (the batch's guard). */
    replacedBy: text(),
  },
  (t) => [index("refresh_tokens_session_idx").on(t.sessionId)],
);

/** Typed one-time secrets: activation, reset, email change, MFA, magic link, ... */
export const tickets = sqliteTable(
  "tickets",
  {
    hash: text().primaryKey(),
    purpose: text().notNull(),
    userId: text().references(() => users.id, { onDelete: "cascade" }),
    data: text({ mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
    attempts: integer().notNull().default(0),
    createdAt: integer().notNull(),
    expiresAt: integer().notNull(),
    usedAt: integer(),
    /** The session this ticket was spent into, when spending it started one (the batch's guard). */
    spentInto: text(),
  },
  (t) => [index("tickets_user_purpose_idx").on(t.userId, t.purpose)],
);

/** Per-account failure counters with lockouts, counted by one upsert each. */
export const attemptCounters = sqliteTable("attempt_counters", {
  key: text().primaryKey(),
  count: integer().notNull(),
  windowStart: integer().notNull(),
  lockedUntil: integer().notNull().default(0),
  locks: integer().notNull().default(0),
});

/**
 * Per-key request windows that must hold across isolates for longer than the Rate Limiting
 * binding's 60 s period (mail per IP and per recipient, per hour): one upsert counts and returns.
 */
export const rateWindows = sqliteTable("rate_windows", {
  key: text().primaryKey(),
  windowStart: integer().notNull(),
  count: integer().notNull(),
});

/** Development signing keys, generated and persisted on first use when JWT_PRIVATE_KEYS is unset. */
export const devSigningKeys = sqliteTable("dev_signing_keys", {
  alg: text().primaryKey(),
  privateJwk: text().notNull(),
  createdAt: integer().notNull(),
});

/** Mail kept by the outbox transport (development). */
export const outbox = sqliteTable(
  "outbox",
  {
    id: text().primaryKey(),
    to: text().notNull(),
    subject: text().notNull(),
    text: text().notNull(),
    html: text().notNull(),
    kind: text().notNull(),
    data: text({ mode: "json" }).$type<Record<string, string>>().notNull(),
    createdAt: integer().notNull(),
  },
  (t) => [index("outbox_to_idx").on(t.to, t.createdAt)],
);

/** Email passcodes (hanko): 6 digits kept as HMAC-SHA-256, tries counted by one conditional UPDATE. */
export const passcodes = sqliteTable(
  "passcodes",
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    emailId: text()
      .notNull()
      .references(() => emails.id, { onDelete: "cascade" }),
    /** HMAC-SHA-256(server key, id || code), hex. */
    codeMac: text().notNull(),
    tries: integer().notNull().default(0),
    createdAt: integer().notNull(),
    expiresAt: integer().notNull(),
    usedAt: integer(),
    /** The session this code was spent into (the sign-in batch's guard). */
    spentInto: text(),
  },
  (t) => [index("passcodes_user_idx").on(t.userId, t.createdAt)],
);

/**
 * TOTP recovery codes: 10 per user, single-use, kept as HMAC-SHA-256 (never readable again);
 * a code is spent by one conditional UPDATE on `used_at`, and a new set replaces the old one.
 */
export const recoveryCodes = sqliteTable(
  "recovery_codes",
  {
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** HMAC-SHA-256(server key, user id || normalized code), hex. */
    codeMac: text().notNull(),
    createdAt: integer().notNull(),
    usedAt: integer(),
  },
  (t) => [uniqueIndex("recovery_codes_user_mac_idx").on(t.userId, t.codeMac)],
);

/** Passkeys. `id` is the credential id, base64url. */
export const webauthnCredentials = sqliteTable(
  "webauthn_credentials",
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** COSE public key, base64url. */
    publicKey: text().notNull(),
    signCount: integer().notNull().default(0),
    transports: text({ mode: "json" }).$type<string[]>().notNull(),
    aaguid: text().notNull(),
    attestationType: text().notNull(),
    backupEligible: integer({ mode: "boolean" }).notNull().default(false),
    backupState: integer({ mode: "boolean" }).notNull().default(false),
    name: text(),
    createdAt: integer().notNull(),
    lastUsedAt: integer(),
  },
  (t) => [index("webauthn_credentials_user_idx").on(t.userId)],
);

/** WebAuthn challenges, single-use: consumed by one conditional UPDATE ... RETURNING. */
export const webauthnChallenges = sqliteTable("webauthn_challenges", {
  /** SHA-256 hex of the base64url challenge. */
  hash: text().primaryKey(),
  /** registration | authentication */
  purpose: text().notNull(),
  /** The user it was issued for; null for a discoverable-credential login. */
  userId: text().references(() => users.id, { onDelete: "cascade" }),
  createdAt: integer().notNull(),
  expiresAt: integer().notNull(),
  usedAt: integer(),
  /** The session this challenge was spent into, or a registration's own id (the batch's guard). */
  spentInto: text(),
});

/** OAuth authorisation requests in flight: state (hashed), PKCE verifier, nonce, where to return. */
export const oauthStates = sqliteTable("oauth_states", {
  /** SHA-256 hex of the state parameter. */
  hash: text().primaryKey(),
  provider: text().notNull(),
  codeVerifier: text().notNull(),
  nonce: text().notNull(),
  /** The exact redirect_uri sent to the provider (repeated at the token exchange). */
  callbackUrl: text().notNull(),
  /** Where the user goes after the callback (an allow-listed URL), or null. */
  redirectAfter: text(),
  createdAt: integer().notNull(),
  expiresAt: integer().notNull(),
  usedAt: integer(),
});

/** Accounts at OAuth providers linked to users: (provider, subject) -> user. */
export const oauthIdentities = sqliteTable(
  "oauth_identities",
  {
    provider: text().notNull(),
    subject: text().notNull(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    email: text(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [
    uniqueIndex("oauth_identities_provider_subject_unique").on(t.provider, t.subject),
    index("oauth_identities_user_idx").on(t.userId),
  ],
);

/** Teams (vault): each verified user owns exactly one default team, enforced by a partial unique index. */
export const teams = sqliteTable(
  "teams",
  {
    id: text().primaryKey(),
    ownerId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text().notNull(),
    isDefault: integer({ mode: "boolean" }).notNull().default(false),
    createdAt: integer().notNull(),
  },
  (t) => [
    index("teams_owner_idx").on(t.ownerId),
    uniqueIndex("teams_owner_default_unique").on(t.ownerId).where(sql`is_default = 1`),
  ],
);

/** Projects of a team; one default project per team, enforced like the default team. */
export const projects = sqliteTable(
  "projects",
  {
    id: text().primaryKey(),
    teamId: text()
      .notNull()
      .references(() => teams.id, { onDelete: "cascade" }),
    name: text().notNull(),
    isDefault: integer({ mode: "boolean" }).notNull().default(false),
    createdAt: integer().notNull(),
  },
  (t) => [
    index("projects_team_idx").on(t.teamId),
    uniqueIndex("projects_team_default_unique").on(t.teamId).where(sql`is_default = 1`),
  ],
);

/**
 * SAML AuthnRequests in flight: the RelayState with the browser key (hashed) leads to the request id
 * the IdP must answer (`InResponseTo`), the provider's domain and where to return. Spent once, like
 * OAuth states.
 */
export const samlRequests = sqliteTable("saml_requests", {
  /** SHA-256 hex of `<RelayState>.<browser key>` (core/saml/saml.service.ts). */
  hash: text().primaryKey(),
  /** The AuthnRequest's ID attribute. */
  requestId: text().notNull(),
  domain: text().notNull(),
  redirectAfter: text(),
  createdAt: integer().notNull(),
  expiresAt: integer().notNull(),
  usedAt: integer(),
});

/** Assertion IDs already accepted, per IdP, kept until the assertion could no longer be accepted. */
export const samlAssertions = sqliteTable(
  "saml_assertions",
  {
    issuer: text().notNull(),
    assertionId: text().notNull(),
    expiresAt: integer().notNull(),
  },
  (t) => [uniqueIndex("saml_assertions_issuer_id_unique").on(t.issuer, t.assertionId)],
);

/**
 * The audit log: what happened to accounts (core/events). No foreign key to users: the record of a
 * deleted user outlives it. `subject_hash` is the keyed hash of the identifier tried when no
 * account is known; `data` never holds a secret, token, password or address. Purged after
 * AUDIT_RETENTION_DAYS by the scheduled handler.
 */
export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: text().primaryKey(),
    at: integer().notNull(),
    type: text().notNull(),
    userId: text(),
    subjectHash: text(),
    ip: text(),
    userAgent: text(),
    data: text({ mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
  },
  (t) => [
    index("audit_events_user_at_idx").on(t.userId, t.at, t.id),
    index("audit_events_at_idx").on(t.at, t.id),
  ],
);
