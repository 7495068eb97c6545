/**
 * Composition root: the only place that reads bindings. Services are cheap closures built per
 * request; what is expensive (signing keys, config) is memoised per isolate by its own module.
 */
import type { Config } from "./config";
import { createAccountService } from "./core/accounts/accounts.service";
import { createAccountByIdService } from "./core/accounts/by-id";
import { createExistenceService } from "./core/accounts/existence";
import { createSecurityNotices } from "./core/accounts/notices";
import { createReauthService } from "./core/accounts/reauth";
import { createTurnstileVerifier } from "./core/captcha/turnstile";
import { createHealthService } from "./core/health";
import { createHealthStore } from "./core/health.store";
import {
  createCloudflareMailer,
  createHttpMailer,
  createOutboxMailer,
  limitPerRecipient,
  type Mailer,
  type SendEmailBinding,
} from "./core/mail/mailer";
import { createOutboxStore } from "./core/mail/outbox.store";
import { createOAuthService } from "./core/oauth/oauth.service";
import { createOAuthStore } from "./core/oauth/oauth.store";
import { createPasscodeService } from "./core/passcodes/passcodes.service";
import { createPasscodeStore } from "./core/passcodes/passcodes.store";
import { createPasswordHasher } from "./core/passwords/hasher";
import { createPasswordPolicy } from "./core/passwords/policy";
import { createAttemptCounter } from "./core/rate-limit/attempts";
import { createAttemptStore } from "./core/rate-limit/attempts.store";
import type { RateLimitBinding, RateLimitBindingName } from "./core/rate-limit/bindings";
import { createIpLimiter } from "./core/rate-limit/ip-limiter";
import { createRateWindowStore } from "./core/rate-limit/windows.store";
import { createSessionService } from "./core/sessions/sessions.service";
import { createSessionStore } from "./core/sessions/sessions.store";
import { createStorageService, type VariantCache } from "./core/storage/storage.service";
import { createTeamService } from "./core/teams/teams.service";
import { createTeamStore } from "./core/teams/teams.store";
import { createTicketService } from "./core/tickets/tickets.service";
import { createTicketStore } from "./core/tickets/tickets.store";
import { loadKeySet } from "./core/tokens/keys";
import { createSigningKeyStore } from "./core/tokens/keys.store";
import { createPurposeTokenService } from "./core/tokens/purpose-tokens";
import { createTokenService } from "./core/tokens/tokens.service";
import { createSecretBox } from "./core/totp/secret-box";
import { createTotpService } from "./core/totp/totp.service";
import { createTotpStore } from "./core/totp/totp.store";
import { createEmailService } from "./core/users/emails.service";
import { createEmailStore } from "./core/users/emails.store";
import { createUserService } from "./core/users/users.service";
import { createUserStore } from "./core/users/users.store";
import { createWebAuthnService } from "./core/webauthn/webauthn.service";
import { createWebAuthnStore } from "./core/webauthn/webauthn.store";
import { createDb, type Db } from "./db/client";
import type { Clock } from "./lib/clock";
import { deriveKey } from "./lib/derive";

export interface Bindings extends Partial<Record<RateLimitBindingName, RateLimitBinding>> {
  DB: D1Database;
  /** For caches only: no request writes KV (billed, about one write per second per key). */
  KV: KVNamespace;
  FILES: R2Bucket;
  SEND_EMAIL?: SendEmailBinding;
}

export interface ServiceOptions {
  /** The request's drizzle instance over its D1 session (app.ts); default: over the binding. */
  db?: Db;
  clock: Clock;
  waitUntil: (p: Promise<unknown>) => void;
  /** The constructor of `cloudflare:email` EmailMessage, passed in so core stays runtime-agnostic. */
  emailMessage?: new (
    from: string,
    to: string,
    raw: string,
  ) => unknown;
}

const boxes = new Map<string, ReturnType<typeof createSecretBox>>();

function mailerFor(env: Bindings, config: Config, opts: ServiceOptions, outbox: Mailer): Mailer {
  switch (config.mail.transport) {
    case "http":
      return createHttpMailer(config.mail);
    case "cloudflare": {
      if (!env.SEND_EMAIL || !opts.emailMessage)
        throw new Error("MAIL_TRANSPORT: cloudflare needs the SEND_EMAIL binding");
      const Message = opts.emailMessage;
      return createCloudflareMailer(env.SEND_EMAIL, config.mail.from, (f, t, raw) => new Message(f, t, raw));
    }
    default:
      return outbox;
  }
}

/** Image variants in the Workers Cache API: public and long-lived (a variant's id changes with its source). */
function cacheApiVariants(cache: Cache): VariantCache {
  const url = (id: string) => `https://variants.invalid/${id}`;
  return {
    async match(id) {
      const res = await cache.match(url(id));
      return res?.body ? { body: res.body, size: Number(res.headers.get("content-length")) } : null;
    },
    put: (id, bytes, format) =>
      cache.put(
        url(id),
        new Response(bytes, {
          headers: {
            "Content-Type": `image/${format}`,
            "Cache-Control": "public, max-age=31536000, immutable",
          },
        }),
      ),
  };
}

const successorKeys = new WeakMap<Config, Uint8Array>();

/**
 * The key refresh-token successors are derived from (sessions.service.ts): the root secret's
 * `refresh-successor` key, once per configuration. Changing LATCHKEY_SECRET only fails (never
 * revokes) refreshes repeated within the grace window.
 */
function sessionSuccessorSecret(config: Config) {
  let key = successorKeys.get(config);
  if (!key) {
    key = deriveKey(config.secrets.root, "refresh-successor");
    successorKeys.set(config, key);
  }
  return key;
}

export function createServices(env: Bindings, config: Config, opts: ServiceOptions) {
  const { clock } = opts;
  const d1 = env.DB;
  const db = opts.db ?? createDb(d1);
  const keyStore = createSigningKeyStore(db);
  const keys = () =>
    loadKeySet({
      store: keyStore,
      clock,
      algorithm: config.jwt.algorithm,
      privateKeys: config.jwt.privateKeys,
      signingKid: config.jwt.signingKid,
      allowDevKeys: config.environment !== "production",
    });
  const tokens = createTokenService({ keys, jwt: config.jwt, clock });
  const purposeTokens = createPurposeTokenService({
    keys,
    jwt: config.jwt,
    clock,
    // formauth's refresh JWT lives as long as the refresh token it wraps; vault's team token as an access token.
    lifetimes: {
      "rt+jwt": config.sessions.refreshIdleTtl,
      "vault+jwt": config.jwt.accessTtl,
      // hbp's session cookie lasts as long as a session may.
      "session+jwt": config.sessions.absoluteTtl,
    },
  });
  const teams = createTeamService({ store: createTeamStore(db), clock });
  const users = createUserService({ store: createUserStore(db), clock });
  const sessions = createSessionService({
    store: createSessionStore(db),
    tokens,
    purpose: purposeTokens,
    clock,
    sessions: config.sessions,
    successorSecret: sessionSuccessorSecret(config),
  });
  const tickets = createTicketService({ store: createTicketStore(db), clock });
  const passwords = createPasswordHasher(config.passwords.scrypt, config.passwords.maxPending);
  const passwordPolicy = createPasswordPolicy({
    rules: config.passwords,
    breach: config.passwords.breach,
    fetch: (...a) => fetch(...a),
    log: (m) => console.warn(m),
  });
  const attempts = createAttemptCounter({
    store: createAttemptStore(db),
    clock,
    max: config.limits.accountMaxFailures,
  });
  let box = boxes.get(config.totp.encryptionKey);
  if (!box) {
    box = createSecretBox(config.totp.encryptionKey);
    boxes.set(config.totp.encryptionKey, box);
  }
  const totp = createTotpService({
    store: createTotpStore(db),
    clock,
    box,
    attempts,
    issuer: config.totp.issuer,
  });
  const reauth = createReauthService({ users, passwords, attempts });
  const captcha = createTurnstileVerifier({ ...config.turnstile, fetch: (...a) => fetch(...a) });
  const outbox = createOutboxMailer(createOutboxStore(db), clock);
  const limiter = createIpLimiter({
    windows: createRateWindowStore(db),
    bindings: env,
    clock,
    enabled: config.limits.rateLimits,
  });
  const mailer = limitPerRecipient(mailerFor(env, config, opts, outbox), limiter);
  const storage = createStorageService({
    bucket: env.FILES,
    rules: config.storage.rules,
    limits: config.storage,
    clock,
    waitUntil: opts.waitUntil,
    userExists: users.exists,
    variantCache: typeof caches !== "undefined" ? cacheApiVariants(caches.default) : null,
  });
  const notices = createSecurityNotices({ clock, sessions, mailer });
  const emails = createEmailService({ store: createEmailStore(db), clock, secret: config.passcodes.secret });
  const existence = createExistenceService({ config, clock, users, emails, tokens, mailer });
  const accounts = createAccountService({
    config,
    clock,
    users,
    passwords,
    sessions,
    tickets,
    mailer,
    attempts,
    totp,
    files: storage,
    notices,
    existence,
    passwordPolicy,
  });
  const oauth = createOAuthService({ store: createOAuthStore(db), clock, users, config });
  const accountsById = createAccountByIdService({
    config,
    users,
    passwords,
    sessions,
    accounts,
    emails,
    notices,
    existence,
    passwordPolicy,
  });
  const passcodes = createPasscodeService({
    store: createPasscodeStore(db),
    clock,
    mailer,
    sessions,
    attempts,
    secret: config.passcodes.secret,
    ttlSeconds: config.passcodes.ttl,
  });
  const webauthn = createWebAuthnService({
    store: createWebAuthnStore(db),
    clock,
    users,
    sessions,
    notices,
    webauthn: config.webauthn,
  });
  return {
    config,
    storage,
    clock,
    oauth,
    emails,
    accountsById,
    passcodes,
    webauthn,
    tokens,
    sessions,
    users,
    tickets,
    passwords,
    attempts,
    totp,
    outbox,
    mailer,
    limiter,
    accounts,
    reauth,
    purposeTokens,
    teams,
    existence,
    captcha,
    health: createHealthService({ store: createHealthStore(db) }),
  };
}

export type Services = ReturnType<typeof createServices>;
