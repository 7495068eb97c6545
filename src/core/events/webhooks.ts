/**
 * Webhooks: the events an application reacts to, sent through a Cloudflare Queue (the producer
 * after the response, the consumer in this Worker) to each configured URL, signed as Standard
 * Webhooks (https://www.standardwebhooks.com): `webhook-id` (the same on every retry),
 * `webhook-timestamp` (seconds, of this attempt) and `webhook-signature: v1,<base64 HMAC-SHA-256 of
 * "id.timestamp.body">` under the `whsec_` secret. A delivery that is not answered 2xx is retried
 * with the spec's backoff; past the last retry the queue dead-letters it, and this Worker's consumer
 * of the dead-letter queue records it (an error log line, an audit row).
 */
import type { Clock } from "../../lib/clock";
import { hmacSha256 } from "../../lib/crypto";
import type { EventSink, EventType, RecordedEvent } from "./events";

/** Which recorded events are webhooks, and under which name. */
const WEBHOOK_TYPES: Partial<Record<EventType, string>> = {
  "user.created": "user.created",
  "user.deleted": "user.deleted",
  "sign_in.succeeded": "session.created",
  "session.revoked": "session.revoked",
  "password.changed": "password.changed",
  "email.changed": "email.changed",
};

export const WEBHOOK_EVENT_TYPES = Object.values(WEBHOOK_TYPES);

/** One delivery to one endpoint: its body is fixed at enqueue time, so every retry sends the same bytes. */
export interface WebhookMessage {
  id: string;
  url: string;
  body: string;
}

/**
 * Seconds before each retry (Standard Webhooks' suggested schedule after the first try), the default
 * of WEBHOOK_RETRY_DELAYS; a schedule's length is the consumer's max_retries in wrangler.toml.
 */
export const RETRY_SCHEDULE = [5, 300, 1800, 7200, 18_000, 36_000, 36_000] as const;

/** The longest delay a Queues retry may ask for (12 hours). */
export const MAX_RETRY_DELAY_SECONDS = 43_200;

/** The delay after try number `attempts` (1 = the first): past the schedule's end, its last step. */
export function retryDelay(attempts: number, schedule: readonly number[] = RETRY_SCHEDULE): number {
  return schedule[Math.min(Math.max(attempts, 1), schedule.length) - 1]!;
}

/** The webhook's payload `data`: ids and what changed, never a secret or token. */
function dataOf(e: RecordedEvent): Record<string, unknown> {
  const d = e.data;
  const base = { user_id: e.userId };
  switch (e.type) {
    case "user.created":
      return { ...base, method: d.method };
    case "sign_in.succeeded":
      return { ...base, session_id: d.sessionId, methods: d.methods };
    case "session.revoked":
      return { ...base, session_id: d.sessionId, reason: d.reason };
    case "password.changed":
      return { ...base, via: d.via };
    case "email.changed":
      return { ...base, email: d.email };
    default:
      return base;
  }
}

/** The messages for a request's events: one per webhook event and endpoint. */
export function webhookMessages(events: RecordedEvent[], urls: string[]): WebhookMessage[] {
  const out: WebhookMessage[] = [];
  for (const e of events) {
    const type = WEBHOOK_TYPES[e.type];
    if (!type) continue;
    const body = JSON.stringify({ type, timestamp: new Date(e.at).toISOString(), data: dataOf(e) });
    for (const url of urls) out.push({ id: `msg_${crypto.randomUUID().replaceAll("-", "")}`, url, body });
  }
  return out;
}

export interface WebhookQueue {
  sendBatch(messages: { body: WebhookMessage }[]): Promise<unknown>;
}

/** The sink that enqueues a request's webhook events (one send per 100 messages, the Queues batch limit). */
export function createWebhookSink(deps: { urls: string[]; queue: WebhookQueue }): EventSink {
  return async (events) => {
    const messages = webhookMessages(events, deps.urls);
    try {
      for (let i = 0; i < messages.length; i += 100)
        await deps.queue.sendBatch(messages.slice(i, i + 100).map((body) => ({ body })));
    } catch (err) {
      console.error(
        JSON.stringify({
          msg: "webhook enqueue failed",
          events: events.map((e) => e.type),
          error: err instanceof Error ? err.message.split("\n")[0] : String(err),
        }),
      );
    }
  };
}

/** `v1,<base64 HMAC-SHA-256 of "id.timestamp.body">` (Standard Webhooks, symmetric signature). */
export async function signWebhook(secret: Uint8Array, id: string, timestamp: number, body: string) {
  const mac = await hmacSha256(secret, `${id}.${timestamp}.${body}`);
  return `v1,${btoa(String.fromCharCode(...mac))}`;
}

/** The key of a `whsec_<base64>` secret, or null when it is not one (24 to 64 bytes, as the spec asks). */
export function webhookSecretKey(secret: string): Uint8Array | null {
  const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
  if (!m) return null;
  try {
    const bytes = Uint8Array.from(atob(m[1]!), (ch) => ch.charCodeAt(0));
    return bytes.length >= 24 && bytes.length <= 64 ? bytes : null;
  } catch {
    return null;
  }
}

export interface DeliveryDeps {
  secret: Uint8Array;
  fetch: typeof fetch;
  /** Seconds since the epoch (the attempt's `webhook-timestamp`). */
  nowSeconds: () => number;
  timeoutMs?: number;
  /** Seconds before each retry (WEBHOOK_RETRY_DELAYS); RETRY_SCHEDULE when absent. */
  retryDelays?: readonly number[];
}

/** One attempt: the status the endpoint answered, or 0 when it could not be reached in time. */
export async function deliver(m: WebhookMessage, deps: DeliveryDeps): Promise<number> {
  const timestamp = deps.nowSeconds();
  try {
    const res = await deps.fetch(m.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "Latchkey-Webhooks",
        "webhook-id": m.id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": await signWebhook(deps.secret, m.id, timestamp, m.body),
      },
      body: m.body,
      redirect: "manual",
      signal: AbortSignal.timeout(deps.timeoutMs ?? 15_000),
    });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  }
}

const hostOf = (url: string) => (URL.canParse(url) ? new URL(url).host : null);

/** What the consumer needs of a queue message (Cloudflare Queues' Message). */
export interface QueuedMessage<T> {
  readonly body: T;
  /** 1 on the first delivery. */
  readonly attempts: number;
  ack(): void;
  retry(options: { delaySeconds: number }): void;
}

/** The queue consumer: each message delivered; acked on 2xx, else retried after the schedule's delay. */
export async function consumeWebhooks(
  messages: readonly QueuedMessage<WebhookMessage>[],
  deps: DeliveryDeps,
): Promise<void> {
  await Promise.all(
    messages.map(async (msg) => {
      const m = msg.body;
      const status = await deliver(m, deps);
      if (status >= 200 && status < 300) {
        msg.ack();
        return;
      }
      const schedule = deps.retryDelays ?? RETRY_SCHEDULE;
      const last = msg.attempts > schedule.length;
      const line = {
        msg: last ? "webhook failed, dead-lettered" : "webhook failed, retrying",
        webhookId: m.id,
        host: hostOf(m.url),
        status,
        attempt: msg.attempts,
      };
      (last ? console.error : console.warn)(JSON.stringify(line));
      msg.retry({ delaySeconds: retryDelay(msg.attempts, schedule) });
    }),
  );
}

/** The dead-letter queue (wrangler.toml): past max_retries the queue moves a message there. */
export const DEAD_LETTER_QUEUE = "latchkey-webhooks-dlq";

/** The audit row of a dead-lettered webhook: who, which event, which host, the payload without an address. */
function deadLetterEvent(m: WebhookMessage, at: number): RecordedEvent {
  let payload: { type?: unknown; data?: Record<string, unknown> } = {};
  try {
    payload = JSON.parse(m.body);
  } catch {}
  const { email: _address, ...data } = payload.data ?? {};
  return {
    id: crypto.randomUUID(),
    type: "webhook.dead_lettered",
    at,
    userId: typeof data.user_id === "string" ? data.user_id : null,
    subjectHash: null,
    ip: null,
    userAgent: null,
    data: {
      webhookId: m.id,
      event: typeof payload.type === "string" ? payload.type : null,
      host: hostOf(m.url),
      payload: data,
    },
  };
}

/**
 * The dead-letter queue's consumer: each webhook the queue gave up on is logged as an error and,
 * with the audit log on (`insert`), written as one `webhook.dead_lettered` row, all in one batch;
 * then acked. A failed write retries the batch (nothing is acked that was not recorded).
 */
export async function recordDeadLetters(
  messages: readonly QueuedMessage<WebhookMessage>[],
  deps: { clock: Clock; insert: ((events: RecordedEvent[]) => Promise<void>) | null },
): Promise<void> {
  const at = deps.clock.now();
  const events = messages.map((msg) => deadLetterEvent(msg.body, at));
  try {
    await deps.insert?.(events);
  } catch (err) {
    console.error(
      JSON.stringify({
        msg: "webhook dead letter not recorded, retrying",
        webhookIds: messages.map((m) => m.body.id),
        error: err instanceof Error ? err.message.split("\n")[0] : String(err),
      }),
    );
    for (const msg of messages) msg.retry({ delaySeconds: 60 });
    return;
  }
  for (const [i, msg] of messages.entries()) {
    const e = events[i]!;
    console.error(
      JSON.stringify({
        msg: "webhook dead-lettered",
        webhookId: msg.body.id,
        event: e.data.event,
        host: e.data.host,
        user: e.userId,
      }),
    );
    msg.ack();
  }
}
