/**
 * What happens to accounts, as one typed union the core services emit. A request's events are
 * collected while it runs and handed over once, after the response (`later`): the audit rows in one
 * batch, the webhook messages in one queue send. Emitting never waits and never fails a request; a
 * failed write is logged. Who: the user id, or for an account that does not exist the attempted
 * identifier, which leaves the recorder only as a keyed hash (never the address itself).
 */
import type { Clock } from "../../lib/clock";
import { hmacSha256 } from "../../lib/crypto";
import { toHex } from "../../lib/encoding";

/** Why a sign-in failed (audit `data.reason`, the failure counter's label). */
export type SignInFailure =
  | "unknown_account"
  | "wrong_password"
  | "invalid_otp"
  | "invalid_passcode"
  | "invalid_passkey"
  | "locked"
  | "disabled"
  | "not_active";

/** One event as a service emits it; the recorder adds when, IP and user agent. */
export type EventInput =
  | { type: "user.created"; userId: string; method: "password" | "passwordless" | "oauth" }
  | { type: "user.deleted"; userId: string; by?: "self" | "admin" }
  | { type: "sign_in.succeeded"; userId: string; sessionId: string; methods: string[] }
  | {
      type: "sign_in.failed";
      userId: string | null;
      /** The identifier tried when no account is known (an address, a username): hashed by the recorder. */
      subject?: string;
      reason: SignInFailure;
    }
  | { type: "token.reuse_detected"; userId: string; sessionId: string }
  /** A signed-in user proved a credential again (step-up, /v1/reauthenticate). */
  | { type: "reauth.succeeded"; userId: string; sessionId: string; method: "password" | "totp" | "webauthn" }
  | {
      type: "reauth.failed";
      userId: string;
      sessionId: string;
      method: "password" | "totp" | "webauthn";
      /** The core error code, lower case (invalid_credentials, invalid_otp, too_many_attempts, ...). */
      reason: string;
    }
  | {
      type: "session.revoked";
      userId: string;
      sessionId: string;
      reason: "logout" | "security_change" | "reuse" | "admin";
    }
  | { type: "password.changed"; userId: string; via: "change" | "reset" | "set" | "admin" }
  | { type: "email.changed"; userId: string; email: string }
  | { type: "mfa.enabled" | "mfa.disabled"; userId: string }
  | { type: "passkey.added" | "passkey.renamed" | "passkey.removed"; userId: string; credentialId: string }
  | {
      type: "account.locked";
      userId: string | null;
      /** The counter's key when no account is known: hashed by the recorder. */
      subject?: string;
      until: number;
    }
  | {
      /** A webhook the queue gave up on (the dead-letter consumer records it; no service emits it). */
      type: "webhook.dead_lettered";
      userId: string | null;
      webhookId: string;
      /** The webhook's type (session.created, ...). */
      event: string;
      /** The endpoint's host only: a hook URL's path or query may carry a token. */
      host: string | null;
      /** The payload's `data` without an email address. */
      payload: Record<string, unknown>;
    }
  | {
      type: "admin.action";
      /** Who acted: a user id, or "service" for the service key. */
      actor: string;
      action: string;
      userId: string | null;
      detail?: Record<string, string | number | boolean | null>;
    };

export type EventType = EventInput["type"];

/** The client of the request the event happened in. */
export interface EventClient {
  ip: string | null;
  userAgent: string | null;
}

/** An event as it is stored and delivered. */
export interface RecordedEvent {
  id: string;
  type: EventType;
  at: number;
  userId: string | null;
  /** Keyed hash (hex) of the attempted identifier, for events about no known account. */
  subjectHash: string | null;
  ip: string | null;
  userAgent: string | null;
  /** What else the event says (reason, session id, ...): never a secret, token or password. */
  data: Record<string, unknown>;
}

export interface EventRecorder {
  /** Records `event`; returns at once (the write happens after the response). */
  emit(event: EventInput): void;
}

/** A recorder that drops everything (services built outside a request, unit tests). */
export const noEvents: EventRecorder = { emit() {} };

/** Where recorded events go: the audit store, the webhook queue. Each sink logs its own failures. */
export type EventSink = (events: RecordedEvent[]) => Promise<void>;

export interface RequestEvents extends EventRecorder {
  /** Hands what was emitted to the sinks after the response; later emits are handed over on their own. */
  flush(): void;
  /** The user the request's last event was about (the request log's user id). */
  readonly lastUserId: string | null;
}

/** HMAC-SHA-256 (hex) of an identifier under the audit key: comparable across rows, not reversible. */
export async function subjectHash(key: Uint8Array, subject: string): Promise<string> {
  return toHex(await hmacSha256(key, subject.normalize("NFKC").toLowerCase()));
}

function split(e: EventInput): {
  userId: string | null;
  subject: string | null;
  data: Record<string, unknown>;
} {
  const { type: _t, userId, ...rest } = e as EventInput & { userId: string | null; subject?: string };
  const { subject, ...data } = rest as { subject?: string } & Record<string, unknown>;
  // The address of an email change is for the webhook; the audit row keeps no address.
  return { userId: userId ?? null, subject: userId ? null : (subject ?? null), data };
}

export function createRequestEvents(deps: {
  clock: Clock;
  client: EventClient | null;
  /** The key attempted identifiers are hashed with (the root secret's `audit-subject` key). */
  subjectKey: Uint8Array;
  sinks: EventSink[];
  /** Runs work after the response, outside the request's count of D1 round trips. */
  later: (work: () => Promise<void>) => void;
  /** Sees every event as it is emitted (the Analytics Engine counters). */
  observe?: (e: EventInput) => void;
}): RequestEvents {
  let pending: { e: EventInput; at: number }[] = [];
  let flushed = false;
  let lastUserId: string | null = null;

  const handOver = (batch: { e: EventInput; at: number }[]) => {
    if (batch.length === 0 || deps.sinks.length === 0) return;
    deps.later(async () => {
      const events = await Promise.all(
        batch.map(async ({ e, at }): Promise<RecordedEvent> => {
          const { userId, subject, data } = split(e);
          return {
            id: crypto.randomUUID(),
            type: e.type,
            at,
            userId,
            subjectHash: subject ? await subjectHash(deps.subjectKey, subject) : null,
            ip: deps.client?.ip ?? null,
            userAgent: deps.client?.userAgent?.slice(0, 512) ?? null,
            data,
          };
        }),
      );
      await Promise.all(deps.sinks.map((sink) => sink(events)));
    });
  };

  return {
    emit(e) {
      if ("userId" in e && e.userId) lastUserId = e.userId;
      try {
        deps.observe?.(e);
      } catch (err) {
        console.error("event observer failed", err);
      }
      const item = { e, at: deps.clock.now() };
      if (flushed) handOver([item]);
      else pending.push(item);
    },
    flush() {
      flushed = true;
      const batch = pending;
      pending = [];
      handOver(batch);
    },
    get lastUserId() {
      return lastUserId;
    },
  };
}
