/**
 * Composition root: the only place that reads bindings. Services are cheap closures built per
 * request on first use; what is expensive (signing keys, config) is memoised per isolate by its
 * own module.
 */
import type { Config } from "./config";
import { createAccountService } from "./core/accounts/accounts.service";
import { createAccountByIdService } from "./core/accounts/by-id";
import { createExistenceService } from "./core/accounts/existence";
import { createSecurityNotices } from "./core/accounts/notices";
import { createReauthService } from "./core/accounts/reauth";
import { createAdminService } from "./core/admin/admin.service";
import { createAdminStore } from "./core/admin/admin.store";
import { createTurnstileVerifier } from "./core/captcha/turnstile";
import { createAuditLog } from "./core/events/audit";
import { createAuditStore } from "./core/events/audit.store";
import { analyticsCounters, type DataPointWriter } from "./core/events/counters";
import { createRequestEvents, type EventClient, type EventSink } from "./core/events/events";
import { createWebhookSink, type WebhookMessage } from "./core/events/webhooks";
import { createHealthService } from "./core/health";
import { createHealthStore } from "./core/health.store";
import { DEFAULT_LOCALE, type Locale } from "./core/i18n";
import { createImportService } from "./core/import/import.service";
import { createImportStore } from "./core/import/import.store";
import {
  createCloudflareMailer,
  createHttpMailer,
  createOutboxMailer,
  limitPerRecipient,
  type Mailer,
  type SendEmailBinding,
} from "./core/mail/mailer";
import { createOutboxStore } from "./core/mail/outbox.store";
import { createMailTemplates, type MailTemplates } from "./core/mail/templates";
import { createIdentityLinker } from "./core/oauth/link";
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
import { createRecoveryCodeService } from "./core/recovery/recovery-codes.service";
import { createRecoveryCodeStore } from "./core/recovery/recovery-codes.store";
import { createSamlService } from "./core/saml/saml.service";
import { createSamlStore } from "./core/saml/saml.store";
import { loadSpKeys } from "./core/saml/sp-keys";
import { createSessionService } from "./core/sessions/sessions.service";
import { createSessionStore } from "./core/sessions/sessions.store";
import { createStepUpService } from "./core/sessions/step-up";
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
import { toBase64Url } from "./lib/encoding";
import { unmetered } from "./lib/meter";

export interface Bindings extends Partial<Record<RateLimitBindingName, RateLimitBinding>> {
  DB: D1Database;
  /** For caches only: no request writes KV (billed, about one write per second per key). */
  KV: KVNamespace;
  FILES: R2Bucket;
  SEND_EMAIL?: SendEmailBinding;
  /** Queues producer of webhook deliveries (needed when WEBHOOK_URL is set). */
  WEBHOOKS?: Queue<WebhookMessage>;
  /** Optional Workers Analytics Engine dataset: sign-in, failure and lockout counters. */
  ANALYTICS?: DataPointWriter;
}

export interface ServiceOptions {
  /** Makes the request's drizzle instance over its D1 session, on first use (app.ts); default: over the binding. */
  db?: () => Db;
  clock: Clock;
  waitUntil: (p: Promise<unknown>) => void;
  /** The language of the request (its Accept-Language): mail it causes goes out in it. Default: English. */
  locale?: Locale;
  /** The request's client, recorded with its events (absent outside a request). */
  client?: EventClient | null;
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

const recoveryKeys = new WeakMap<Config, string>();

/** The HMAC key recovery codes are stored under: the root secret's `recovery-code-hmac` key, base64url. */
function recoveryCodeSecret(config: Config) {
  let key = recoveryKeys.get(config);
  if (!key) {
    key = toBase64Url(deriveKey(config.secrets.root, "recovery-code-hmac"));
    recoveryKeys.set(config, key);
  }
  return key;
}

/** What ends with the request (see releaseServices); a symbol, so no route sees it as a service. */
const release = Symbol("release");

/**
 * The services of one request. Each is built on first use, with what it needs, and kept for the
 * request: a route pays only for the services it touches (`GET /health` for none). The getters sit
 * on the prototype, so a request that touches nothing allocates next to nothing.
 */
class RequestServices {
  #db?: ReturnType<typeof createDb>;
  #keys?: Parameters<typeof createTokenService>[0]["keys"];
  #tokens?: ReturnType<typeof createTokenService>;
  #purposeTokens?: ReturnType<typeof createPurposeTokenService>;
  #teams?: ReturnType<typeof createTeamService>;
  #users?: ReturnType<typeof createUserService>;
  #sessions?: ReturnType<typeof createSessionService>;
  #tickets?: ReturnType<typeof createTicketService>;
  #passwords?: ReturnType<typeof createPasswordHasher>;
  #passwordPolicy?: ReturnType<typeof createPasswordPolicy>;
  #attempts?: ReturnType<typeof createAttemptCounter>;
  #totp?: ReturnType<typeof createTotpService>;
  #reauth?: ReturnType<typeof createReauthService>;
  #stepUp?: ReturnType<typeof createStepUpService>;
  #captcha?: ReturnType<typeof createTurnstileVerifier>;
  #outbox?: ReturnType<typeof createOutboxMailer>;
  #limiter?: ReturnType<typeof createIpLimiter>;
  #mailer?: Mailer;
  #mailTemplates?: MailTemplates;
  #storage?: ReturnType<typeof createStorageService>;
  #notices?: ReturnType<typeof createSecurityNotices>;
  #recoveryCodes?: ReturnType<typeof createRecoveryCodeService>;
  #emails?: ReturnType<typeof createEmailService>;
  #existence?: ReturnType<typeof createExistenceService>;
  #accounts?: ReturnType<typeof createAccountService>;
  #oauth?: ReturnType<typeof createOAuthService>;
  #saml?: ReturnType<typeof createSamlService>;
  #accountsById?: ReturnType<typeof createAccountByIdService>;
  #admin?: ReturnType<typeof createAdminService>;
  #passcodes?: ReturnType<typeof createPasscodeService>;
  #webauthn?: ReturnType<typeof createWebAuthnService>;
  #health?: ReturnType<typeof createHealthService>;
  #imports?: ReturnType<typeof createImportService>;
  #events?: ReturnType<typeof createRequestEvents>;
  #audit?: ReturnType<typeof createAuditLog>;
  readonly clock: Clock;

  constructor(
    private readonly env: Bindings,
    readonly config: Config,
    private readonly opts: ServiceOptions,
  ) {
    this.clock = opts.clock;
  }

  /** The one drizzle instance of the request: over its D1 session (app.ts), or over the binding. */
  get #database() {
    this.#db ??= this.opts.db ? this.opts.db() : createDb(this.env.DB);
    return this.#db;
  }

  get #signingKeys() {
    if (!this.#keys) {
      const { config, clock } = this;
      const store = createSigningKeyStore(this.#database);
      this.#keys = () =>
        loadKeySet({
          store,
          clock,
          algorithm: config.jwt.algorithm,
          privateKeys: config.jwt.privateKeys,
          signingKid: config.jwt.signingKid,
          allowDevKeys: config.environment !== "production",
        });
    }
    return this.#keys;
  }

  /** After the response and outside the development meter's count of the request's round trips. */
  #later = (work: () => Promise<void>) => this.opts.waitUntil(unmetered(work));

  /** What happens to accounts in this request: audit rows and webhooks, written after the response. */
  get events() {
    if (!this.#events) {
      const { config, env } = this;
      const sinks: EventSink[] = config.audit.enabled ? [(events) => this.audit.sink(events)] : [];
      if (config.webhooks && env.WEBHOOKS)
        sinks.push(createWebhookSink({ urls: config.webhooks.urls, queue: env.WEBHOOKS }));
      this.#events = createRequestEvents({
        clock: this.clock,
        client: this.opts.client ?? null,
        subjectKey: config.audit.subjectKey,
        sinks,
        later: this.#later,
        observe: env.ANALYTICS ? analyticsCounters(env.ANALYTICS) : undefined,
      });
    }
    return this.#events;
  }

  get audit() {
    this.#audit ??= createAuditLog({
      store: createAuditStore(this.#database),
      clock: this.clock,
      retentionDays: this.config.audit.retentionDays,
    });
    return this.#audit;
  }

  /** The user the request's events were about, for the request log (null when none was). */
  get eventUserId(): string | null {
    return this.#events?.lastUserId ?? null;
  }

  get tokens() {
    this.#tokens ??= createTokenService({ keys: this.#signingKeys, jwt: this.config.jwt, clock: this.clock });
    return this.#tokens;
  }

  get purposeTokens() {
    const { config } = this;
    this.#purposeTokens ??= createPurposeTokenService({
      keys: this.#signingKeys,
      jwt: config.jwt,
      clock: this.clock,
      // formauth's refresh JWT lives as long as the refresh token it wraps; vault's team token as an access token.
      lifetimes: {
        "rt+jwt": config.sessions.refreshIdleTtl,
        "vault+jwt": config.jwt.accessTtl,
        // hbp's session cookie lasts as long as a session may.
        "session+jwt": config.sessions.absoluteTtl,
      },
    });
    return this.#purposeTokens;
  }

  get teams() {
    this.#teams ??= createTeamService({ store: createTeamStore(this.#database), clock: this.clock });
    return this.#teams;
  }

  get users() {
    this.#users ??= createUserService({ store: createUserStore(this.#database), clock: this.clock });
    return this.#users;
  }

  get sessions() {
    this.#sessions ??= createSessionService({
      store: createSessionStore(this.#database),
      tokens: this.tokens,
      purpose: this.purposeTokens,
      clock: this.clock,
      sessions: this.config.sessions,
      successorSecret: sessionSuccessorSecret(this.config),
      events: this.events,
    });
    return this.#sessions;
  }

  get tickets() {
    this.#tickets ??= createTicketService({ store: createTicketStore(this.#database), clock: this.clock });
    return this.#tickets;
  }

  /** Holds this request's hash slot, if any: given back by releaseServices. */
  get passwords() {
    this.#passwords ??= createPasswordHasher(this.config.passwords.scrypt, this.config.passwords.maxPending);
    return this.#passwords;
  }

  get passwordPolicy() {
    this.#passwordPolicy ??= createPasswordPolicy({
      rules: this.config.passwords,
      breach: this.config.passwords.breach,
      fetch: (...a) => fetch(...a),
      log: (m) => console.warn(m),
    });
    return this.#passwordPolicy;
  }

  get attempts() {
    this.#attempts ??= createAttemptCounter({
      store: createAttemptStore(this.#database),
      clock: this.clock,
      max: this.config.limits.accountMaxFailures,
      events: this.events,
    });
    return this.#attempts;
  }

  get totp() {
    if (!this.#totp) {
      const { totp } = this.config;
      let box = boxes.get(totp.encryptionKey);
      if (!box) {
        box = createSecretBox(totp.encryptionKey);
        boxes.set(totp.encryptionKey, box);
      }
      this.#totp = createTotpService({
        store: createTotpStore(this.#database),
        clock: this.clock,
        box,
        attempts: this.attempts,
        issuer: totp.issuer,
      });
    }
    return this.#totp;
  }

  get recoveryCodes() {
    this.#recoveryCodes ??= createRecoveryCodeService({
      store: createRecoveryCodeStore(this.#database),
      clock: this.clock,
      totp: this.totp,
      secret: recoveryCodeSecret(this.config),
    });
    return this.#recoveryCodes;
  }

  get reauth() {
    this.#reauth ??= createReauthService({
      users: this.users,
      passwords: this.passwords,
      attempts: this.attempts,
      totp: this.totp,
      webauthn: this.webauthn,
      stepUp: this.stepUp,
      events: this.events,
    });
    return this.#reauth;
  }

  get stepUp() {
    this.#stepUp ??= createStepUpService({
      store: createSessionStore(this.#database),
      clock: this.clock,
      maxAge: this.config.sessions.stepUpMaxAge,
      seen: (userId, sessionId) => this.sessions.authAtSeen(userId, sessionId),
    });
    return this.#stepUp;
  }

  get captcha() {
    this.#captcha ??= createTurnstileVerifier({ ...this.config.turnstile, fetch: (...a) => fetch(...a) });
    return this.#captcha;
  }

  get outbox() {
    this.#outbox ??= createOutboxMailer(createOutboxStore(this.#database), this.clock);
    return this.#outbox;
  }

  get limiter() {
    this.#limiter ??= createIpLimiter({
      windows: createRateWindowStore(this.#database),
      bindings: this.env,
      clock: this.clock,
      enabled: this.config.limits.rateLimits,
    });
    return this.#limiter;
  }

  get mailer() {
    this.#mailer ??= limitPerRecipient(
      mailerFor(this.env, this.config, this.opts, this.outbox),
      this.limiter,
    );
    return this.#mailer;
  }

  /** Mail in the request's language; kept by anything that mails after the response, too. */
  get mailTemplates() {
    this.#mailTemplates ??= createMailTemplates(this.config.mail, this.opts.locale ?? DEFAULT_LOCALE);
    return this.#mailTemplates;
  }

  get storage() {
    if (!this.#storage) {
      const { config } = this;
      this.#storage = createStorageService({
        bucket: this.env.FILES,
        rules: config.storage.rules,
        limits: config.storage,
        clock: this.clock,
        waitUntil: this.opts.waitUntil,
        // Late-bound: a storage route that never asks about a user does not build the users service.
        userExists: (id) => this.users.exists(id),
        variantCache: typeof caches !== "undefined" ? cacheApiVariants(caches.default) : null,
      });
    }
    return this.#storage;
  }

  get notices() {
    this.#notices ??= createSecurityNotices({
      clock: this.clock,
      sessions: this.sessions,
      mailer: this.mailer,
      templates: this.mailTemplates,
      // After the response, and outside the development meter's count of the request's round trips.
      later: this.#later,
    });
    return this.#notices;
  }

  get emails() {
    this.#emails ??= createEmailService({
      store: createEmailStore(this.#database),
      clock: this.clock,
      secret: this.config.passcodes.secret,
    });
    return this.#emails;
  }

  get existence() {
    this.#existence ??= createExistenceService({
      config: this.config,
      clock: this.clock,
      users: this.users,
      emails: this.emails,
      tokens: this.tokens,
      mailer: this.mailer,
      templates: this.mailTemplates,
      stepUp: this.stepUp,
    });
    return this.#existence;
  }

  get accounts() {
    this.#accounts ??= createAccountService({
      config: this.config,
      clock: this.clock,
      users: this.users,
      passwords: this.passwords,
      sessions: this.sessions,
      tickets: this.tickets,
      mailer: this.mailer,
      templates: this.mailTemplates,
      attempts: this.attempts,
      totp: this.totp,
      recoveryCodes: this.recoveryCodes,
      files: this.storage,
      notices: this.notices,
      existence: this.existence,
      passwordPolicy: this.passwordPolicy,
      stepUp: this.stepUp,
      events: this.events,
    });
    return this.#accounts;
  }

  get oauth() {
    this.#oauth ??= createOAuthService({
      store: createOAuthStore(this.#database),
      clock: this.clock,
      users: this.users,
      config: this.config,
      events: this.events,
    });
    return this.#oauth;
  }

  get saml() {
    if (!this.#saml) {
      const { config, clock } = this;
      const keyStore = createSigningKeyStore(this.#database);
      this.#saml = createSamlService({
        store: createSamlStore(this.#database),
        clock,
        link: createIdentityLinker({
          store: createOAuthStore(this.#database),
          clock,
          users: this.users,
          config,
        }),
        config,
        spKeys: () =>
          loadSpKeys({
            privateKeyPem: config.saml.spPrivateKey,
            certificatePem: config.saml.spCertificate,
            allowDevKeys: config.environment !== "production",
            store: keyStore,
            clock,
          }),
      });
    }
    return this.#saml;
  }

  get accountsById() {
    this.#accountsById ??= createAccountByIdService({
      config: this.config,
      users: this.users,
      passwords: this.passwords,
      sessions: this.sessions,
      accounts: this.accounts,
      emails: this.emails,
      notices: this.notices,
      existence: this.existence,
      passwordPolicy: this.passwordPolicy,
      stepUp: this.stepUp,
      events: this.events,
    });
    return this.#accountsById;
  }

  get admin() {
    this.#admin ??= createAdminService({
      config: this.config,
      clock: this.clock,
      store: createAdminStore(this.#database),
      users: this.users,
      accounts: this.accounts,
      passwords: this.passwords,
      passwordPolicy: this.passwordPolicy,
      files: this.storage,
    });
    return this.#admin;
  }

  get passcodes() {
    this.#passcodes ??= createPasscodeService({
      store: createPasscodeStore(this.#database),
      clock: this.clock,
      mailer: this.mailer,
      templates: this.mailTemplates,
      sessions: this.sessions,
      attempts: this.attempts,
      secret: this.config.passcodes.secret,
      ttlSeconds: this.config.passcodes.ttl,
      signup: {
        enabled: this.config.features.signup,
        defaultRole: this.config.roles.defaultRole,
        allowedRoles: this.config.roles.defaultAllowed,
      },
      events: this.events,
    });
    return this.#passcodes;
  }

  get webauthn() {
    this.#webauthn ??= createWebAuthnService({
      store: createWebAuthnStore(this.#database),
      clock: this.clock,
      users: this.users,
      sessions: this.sessions,
      notices: this.notices,
      webauthn: this.config.webauthn,
      stepUp: this.stepUp,
      events: this.events,
    });
    return this.#webauthn;
  }

  get health() {
    this.#health ??= createHealthService({ store: createHealthStore(this.#database) });
    return this.#health;
  }

  /** User import with foreign password hashes (an admin operation). */
  get imports() {
    this.#imports ??= createImportService({
      config: this.config,
      clock: this.clock,
      store: createImportStore(this.#database),
    });
    return this.#imports;
  }

  [release]() {
    this.#passwords?.release();
    // The request's events go to the audit log and the webhook queue after the response.
    this.#events?.flush();
  }
}

export function createServices(env: Bindings, config: Config, opts: ServiceOptions) {
  return new RequestServices(env, config, opts);
}

export type Services = ReturnType<typeof createServices>;

/** The end of a request: a hash slot reserved by a credential route (shared/http.ts admitHashing) is given back. */
export function releaseServices(services: Services): void {
  services[release]();
}
