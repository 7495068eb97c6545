/**
 * Webhooks (src/core/events/webhooks.ts): Standard Webhooks signatures (the spec's published test
 * vector), what a sign-up enqueues, and the queue consumer against a local receiver that verifies
 * every signature on its own: acked on 2xx, retried with the spec's backoff on 500 or no answer,
 * and dead-lettered by the queue after the last retry (wrangler.toml's consumer).
 */
import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  consumeWebhooks,
  DEAD_LETTER_QUEUE,
  RETRY_SCHEDULE,
  recordDeadLetters,
  retryDelay,
  signWebhook,
  type WebhookMessage,
  webhookSecretKey,
} from "../../src/core/events/webhooks";
import worker from "../../src/index";
import { toBase64Url } from "../../src/lib/encoding";
import wranglerToml from "../../wrangler.toml?raw";
import { call, TEST_VARS, uniqueEmail } from "../support/app";
import { testClock } from "../support/clock";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const HOOKS = ["https://hooks.example.test/a", "https://hooks.example.test/b"];

afterEach(() => vi.restoreAllMocks());

/** A receiver's own check of a delivery (as a Standard Webhooks library does it), with its own HMAC. */
async function verifies(req: Request, secret: string): Promise<boolean> {
  const id = req.headers.get("webhook-id")!;
  const ts = req.headers.get("webhook-timestamp")!;
  const sigs = (req.headers.get("webhook-signature") ?? "").split(" ");
  const key = await crypto.subtle.importKey(
    "raw",
    Uint8Array.from(atob(secret.slice("whsec_".length)), (c) => c.charCodeAt(0)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const body = await req.clone().text();
  for (const s of sigs) {
    const [v, b64] = s.split(",");
    if (v !== "v1" || !b64) continue;
    const mac = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    if (await crypto.subtle.verify("HMAC", key, mac, new TextEncoder().encode(`${id}.${ts}.${body}`)))
      return true;
  }
  return false;
}

/** A producer binding that keeps what is sent (the queue's transport is not what is tested here). */
function recordingQueue() {
  const sent: WebhookMessage[] = [];
  return {
    sent,
    sendBatch: async (batch: { body: WebhookMessage }[]) => void sent.push(...batch.map((m) => m.body)),
  };
}

async function signUp(vars: Record<string, unknown>) {
  const e = { ...env, ...TEST_VARS, AUTO_ACTIVATE_NEW_USERS: "true", ...vars };
  const email = uniqueEmail("hook");
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request("http://localhost:8787/auth/register", {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": "198.51.100.9" },
      body: JSON.stringify({ email, password: "correct horse battery", cookie: false }),
    }),
    e as never,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return {
    res,
    email,
    body: (await res.json()) as { user: { id: string }; refresh_token: string; jwt_token: string },
  };
}

const QUEUE = "latchkey-webhooks";
const WEBHOOK_ENV = {
  ...env,
  WEBHOOK_URL: HOOKS.join(","),
  WEBHOOK_SECRET: SECRET,
  WEBHOOKS: recordingQueue(),
};

/** Messages as the consumer sees them, keeping what it decided (the pool's getQueueResult omits retry delays). */
function tracked(messages: { body: WebhookMessage; attempts: number }[]) {
  return messages.map((m) => ({
    ...m,
    outcome: null as null | "ack" | { delaySeconds: number },
    ack() {
      this.outcome = "ack";
    },
    retry(o: { delaySeconds: number }) {
      this.outcome = { delaySeconds: o.delaySeconds };
    },
  }));
}

const deliveryDeps = () => ({
  secret: webhookSecretKey(SECRET)!,
  fetch: (...a: Parameters<typeof fetch>) => fetch(...a),
  nowSeconds: () => Math.floor(Date.now() / 1000),
});

async function consume(
  messages: { body: WebhookMessage; attempts: number }[],
  queue = QUEUE,
  e: object = WEBHOOK_ENV,
) {
  const batch = createMessageBatch<WebhookMessage>(
    queue,
    messages.map((m, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: m.attempts, body: m.body })),
  );
  const ctx = createExecutionContext();
  await worker.queue!(batch as never, e as never);
  return getQueueResult(batch, ctx);
}

describe("signatures", () => {
  it("reproduce the Standard Webhooks test vector", async () => {
    const key = webhookSecretKey(SECRET)!;
    expect(await signWebhook(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}')).toBe(
      "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    );
  });

  it("take only whsec_ secrets of 24 to 64 bytes", () => {
    expect(webhookSecretKey("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).toBeNull();
    expect(webhookSecretKey("whsec_c2hvcnQ=")).toBeNull();
    expect(webhookSecretKey("whsec_not base64!")).toBeNull();
    expect(webhookSecretKey(`whsec_${btoa("x".repeat(65))}`)).toBeNull();
    expect(webhookSecretKey(`whsec_${btoa("x".repeat(64))}`)).toHaveLength(64);
  });
});

describe("the producer", () => {
  it("enqueues user.created and session.created for each endpoint after a sign-up, with no secret in them", async () => {
    const queue = recordingQueue();
    const { res, body } = await signUp({
      WEBHOOK_URL: HOOKS.join(","),
      WEBHOOK_SECRET: SECRET,
      WEBHOOKS: queue,
    });
    expect(res.status).toBe(200);
    const byUrl = HOOKS.map((u) => queue.sent.filter((m) => m.url === u).map((m) => JSON.parse(m.body)));
    for (const payloads of byUrl)
      expect(payloads).toEqual([
        {
          type: "user.created",
          timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          data: { user_id: body.user.id, method: "password" },
        },
        {
          type: "session.created",
          timestamp: expect.any(String),
          data: { user_id: body.user.id, session_id: expect.any(String), methods: ["pwd"] },
        },
      ]);
    expect(new Set(queue.sent.map((m) => m.id)).size).toBe(queue.sent.length);
    const raw = JSON.stringify(queue.sent);
    expect(raw).not.toContain(body.refresh_token);
    expect(raw).not.toContain(body.jwt_token);
    expect(raw).not.toContain("correct horse battery");
  });

  it("enqueues nothing without WEBHOOK_URL", async () => {
    const queue = recordingQueue();
    const { res } = await signUp({ WEBHOOKS: queue });
    expect(res.status).toBe(200);
    expect(queue.sent).toEqual([]);
  });

  it("refuses to start half-configured: no secret, a bad one, no queue binding, http in production", async () => {
    const errorOf = async (vars: Record<string, unknown>) => {
      vi.spyOn(console, "error").mockImplementation(() => {});
      const { res, body } = await signUp(vars);
      return { status: res.status, error: (body as unknown as { error: string }).error };
    };
    const queue = recordingQueue();
    expect(await errorOf({ WEBHOOK_URL: HOOKS[0], WEBHOOKS: queue })).toEqual({
      status: 500,
      error: expect.stringMatching(/^Configuration error: WEBHOOK_SECRET: required with WEBHOOK_URL/),
    });
    expect(
      (await errorOf({ WEBHOOK_URL: HOOKS[0], WEBHOOK_SECRET: "whsec_c2hvcnQ=", WEBHOOKS: queue })).error,
    ).toMatch(/^Configuration error: WEBHOOK_SECRET:/);
    const noBinding = { ...env, WEBHOOKS: undefined };
    expect((await errorOf({ ...noBinding, WEBHOOK_URL: HOOKS[0], WEBHOOK_SECRET: SECRET })).error).toMatch(
      /^Configuration error: WEBHOOKS: WEBHOOK_URL needs this Queues producer binding/,
    );
    expect(
      (await errorOf({ WEBHOOK_URL: "ftp://hooks.example.test", WEBHOOK_SECRET: SECRET, WEBHOOKS: queue }))
        .error,
    ).toMatch(/^Configuration error: WEBHOOK_URL: must be absolute http\(s\) URLs/);
  });
});

describe("the consumer", () => {
  const message = (url = HOOKS[0]!): WebhookMessage => ({
    id: `msg_${crypto.randomUUID().replaceAll("-", "")}`,
    url,
    body: JSON.stringify({
      type: "user.deleted",
      timestamp: new Date().toISOString(),
      data: { user_id: "u1" },
    }),
  });

  it("delivers signed requests the receiver verifies, and acks them", async () => {
    const received: { url: string; ok: boolean; id: string; body: string; ts: number }[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const req = new Request(input, init);
      received.push({
        url: req.url,
        ok: await verifies(req, SECRET),
        id: req.headers.get("webhook-id")!,
        body: await req.clone().text(),
        ts: Number(req.headers.get("webhook-timestamp")),
      });
      return new Response(null, { status: 204 });
    });
    const msgs = [message(HOOKS[0]), message(HOOKS[1])];
    const result = await consume(msgs.map((body) => ({ body, attempts: 1 })));
    expect(result.explicitAcks.sort()).toEqual(["m0", "m1"]);
    expect(result.retryMessages).toEqual([]);
    expect(received.map((r) => [r.url, r.ok, r.id, r.body])).toEqual(
      msgs.map((m) => [m.url, true, m.id, m.body]),
    );
    expect(Math.abs(received[0]!.ts - Date.now() / 1000)).toBeLessThan(60);
  });

  it("does not accept a signature made with another secret", async () => {
    let ok: boolean | null = null;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      ok = await verifies(new Request(input, init), `whsec_${btoa("another secret of 24 bytes")}`);
      return new Response(null, { status: 401 });
    });
    const msgs = tracked([{ body: message(), attempts: 1 }]);
    await consumeWebhooks(msgs, deliveryDeps());
    expect(ok).toBe(false);
    expect(msgs.map((m) => m.outcome)).toEqual([{ delaySeconds: 5 }]);
  });

  it("retries on 500 and on no answer with the spec's backoff, the same id each time", async () => {
    const ids: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const req = new Request(input, init);
      ids.push(req.headers.get("webhook-id")!);
      if (req.url.endsWith("/b")) throw new TypeError("fetch failed");
      return new Response("oops", { status: 500 });
    });
    const m = message(HOOKS[0]);
    const msgs = tracked([
      { body: m, attempts: 1 },
      { body: m, attempts: 2 },
      { body: message(HOOKS[1]), attempts: 3 },
    ]);
    await consumeWebhooks(msgs, deliveryDeps());
    expect(msgs.map((x) => x.outcome)).toEqual([
      { delaySeconds: 5 },
      { delaySeconds: 300 },
      { delaySeconds: 1800 },
    ]);
    // Through the Worker's queue() handler: nothing acked, every message retried.
    const result = await consume([{ body: m, attempts: 1 }]);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toEqual([{ msgId: "m0" }]);
    expect(ids.filter((id) => id === m.id)).toHaveLength(3);
  });

  it("is dead-lettered by the queue after the last retry", async () => {
    // wrangler.toml's consumer: one retry per step of the schedule, then the dead-letter queue.
    const consumer = /\[\[queues\.consumers\]\]([\s\S]*?)(?=\n\[|$)/.exec(wranglerToml)![1]!;
    expect(Number(/max_retries = (\d+)/.exec(consumer)![1])).toBe(RETRY_SCHEDULE.length);
    expect(/dead_letter_queue = "([^"]+)"/.exec(consumer)![1]).toBe("latchkey-webhooks-dlq");
    expect(/queue = "([^"]+)"/.exec(consumer)![1]).toBe(QUEUE);
    expect(retryDelay(RETRY_SCHEDULE.length)).toBe(36_000);
    // The last try is retried like every other (the queue, not the consumer, moves it) and logged as an error.
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response(null, { status: 503 }));
    const msgs = tracked([{ body: message(), attempts: RETRY_SCHEDULE.length + 1 }]);
    await consumeWebhooks(msgs, deliveryDeps());
    expect(msgs[0]!.outcome).toEqual({ delaySeconds: 36_000 });
    const line = JSON.parse(String(errors.mock.calls.at(-1)![0]));
    expect(line).toMatchObject({
      msg: "webhook failed, dead-lettered",
      status: 503,
      host: "hooks.example.test",
    });
  });
});

describe("the retry schedule (WEBHOOK_RETRY_DELAYS)", () => {
  const message = (): WebhookMessage => ({
    id: `msg_${crypto.randomUUID().replaceAll("-", "")}`,
    url: HOOKS[0]!,
    body: JSON.stringify({
      type: "user.deleted",
      timestamp: new Date().toISOString(),
      data: { user_id: "u1" },
    }),
  });

  it("retries after the configured delays, and calls the try past its end the last", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response(null, { status: 500 }));
    const msgs = tracked([1, 2, 3, 4].map((attempts) => ({ body: message(), attempts })));
    await consumeWebhooks(msgs, { ...deliveryDeps(), retryDelays: [1, 2, 3] });
    expect(msgs.map((m) => m.outcome)).toEqual([
      { delaySeconds: 1 },
      { delaySeconds: 2 },
      { delaySeconds: 3 },
      { delaySeconds: 3 },
    ]);
    expect(errors.mock.calls.map((c) => JSON.parse(String(c[0])).attempt)).toEqual([4]);
  });

  it("reaches the Worker's consumer from the variable; the default is the spec's schedule", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response(null, { status: 503 }));
    // The batch as the queue hands it over, keeping each retry's delay (getQueueResult omits them).
    const delayOf = async (e: object) => {
      const messages = tracked([{ body: message(), attempts: 2 }]);
      await worker.queue!({ queue: QUEUE, messages } as never, e as never);
      return messages[0]!.outcome;
    };
    expect(await delayOf({ ...WEBHOOK_ENV, WEBHOOK_RETRY_DELAYS: "0, 7" })).toEqual({ delaySeconds: 7 });
    expect(await delayOf(WEBHOOK_ENV)).toEqual({ delaySeconds: RETRY_SCHEDULE[1] });
  });

  it("refuses a delay that is not whole seconds from 0 to 12 hours", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    for (const bad of ["5,-1", "5,43201", "1.5", "soon"]) {
      const { res, body } = await signUp({ ...WEBHOOK_ENV, WEBHOOK_RETRY_DELAYS: bad });
      expect(res.status).toBe(500);
      expect((body as unknown as { error: string }).error).toMatch(
        /^Configuration error: WEBHOOK_RETRY_DELAYS: must be at most 100 whole numbers of seconds between 0 and 43200/,
      );
    }
  });
});

describe("the dead-letter queue", () => {
  const doomed = (userId: string, type = "session.created", data: Record<string, unknown> = {}) =>
    ({
      id: `msg_${crypto.randomUUID().replaceAll("-", "")}`,
      url: "https://hooks.example.test/in/secret-path-token?key=k",
      body: JSON.stringify({ type, timestamp: new Date().toISOString(), data: { user_id: userId, ...data } }),
    }) satisfies WebhookMessage;

  const auditRows = async (userId: string) =>
    (
      await env.DB.prepare("SELECT type, user_id, data FROM audit_events WHERE user_id = ?")
        .bind(userId)
        .all<{ type: string; user_id: string; data: string }>()
    ).results.map((r) => ({ ...r, data: JSON.parse(r.data) }));

  it("is consumed by this Worker too (wrangler.toml), under the name the Worker dispatches on", () => {
    const consumers = [...wranglerToml.matchAll(/\[\[queues\.consumers\]\]([\s\S]*?)(?=\n\[|$)/g)].map(
      (m) => m[1]!,
    );
    const dlq = consumers.find((c) => /^queue = "latchkey-webhooks-dlq"$/m.test(c));
    expect(dlq).toBeDefined();
    expect(DEAD_LETTER_QUEUE).toBe("latchkey-webhooks-dlq");
    // Its own messages are not dead-lettered again.
    expect(dlq).not.toMatch(/dead_letter_queue/);
  });

  it("records each dead letter as a webhook.dead_lettered audit row without the address or URL, and acks it", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const user = crypto.randomUUID();
    const msgs = [doomed(user), doomed(user, "email.changed", { email: "new-address@example.com" })];
    const result = await consume(
      msgs.map((body) => ({ body, attempts: 1 })),
      DEAD_LETTER_QUEUE,
    );
    expect(result.explicitAcks.sort()).toEqual(["m0", "m1"]);
    expect(result.retryMessages).toEqual([]);
    // Nothing is delivered from the dead-letter queue.
    expect(fetchSpy).not.toHaveBeenCalled();
    const rows = await auditRows(user);
    expect(rows.map((r) => r.data).sort((a, b) => a.event.localeCompare(b.event))).toEqual([
      {
        webhookId: msgs[1]!.id,
        event: "email.changed",
        host: "hooks.example.test",
        payload: { user_id: user },
      },
      {
        webhookId: msgs[0]!.id,
        event: "session.created",
        host: "hooks.example.test",
        payload: { user_id: user },
      },
    ]);
    expect(rows.every((r) => r.type === "webhook.dead_lettered")).toBe(true);
    expect(JSON.stringify(rows)).not.toContain("new-address");
    expect(JSON.stringify(rows)).not.toContain("secret-path-token");
    const lines = errors.mock.calls.map((c) => JSON.parse(String(c[0])));
    expect(lines).toEqual(
      msgs.map((m) => expect.objectContaining({ msg: "webhook dead-lettered", webhookId: m.id, user })),
    );
    expect(JSON.stringify(lines)).not.toContain("new-address");
  });

  it("is readable by an operator through GET /v1/admin/audit", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const user = crypto.randomUUID();
    const msg = doomed(user, "user.created", { method: "password" });
    await consume([{ body: msg, attempts: 1 }], DEAD_LETTER_QUEUE);
    const adminKey = toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
    const res = await call(`/v1/admin/audit?user_id=${user}`, {
      token: adminKey,
      vars: { ADMIN_API_KEY: adminKey },
    });
    expect(res.status).toBe(200);
    const { events } = (await res.json()) as { events: { type: string; user_id: string; data: unknown }[] };
    expect(events).toEqual([
      expect.objectContaining({
        type: "webhook.dead_lettered",
        user_id: user,
        data: {
          webhookId: msg.id,
          event: "user.created",
          host: "hooks.example.test",
          payload: { user_id: user, method: "password" },
        },
      }),
    ]);
  });

  it("with AUDIT_LOG_ENABLED=false logs and acks, writing no row", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const user = crypto.randomUUID();
    const result = await consume([{ body: doomed(user), attempts: 1 }], DEAD_LETTER_QUEUE, {
      ...env,
      AUDIT_LOG_ENABLED: "false",
    });
    expect(result.explicitAcks).toEqual(["m0"]);
    expect(await auditRows(user)).toEqual([]);
    expect(String(errors.mock.calls[0]![0])).toContain("webhook dead-lettered");
  });

  it("retries the batch when the row cannot be written (nothing acked unrecorded)", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const msgs = tracked([{ body: doomed(crypto.randomUUID()), attempts: 1 }]);
    await recordDeadLetters(msgs, {
      clock: testClock(0),
      insert: () => Promise.reject(new Error("D1_ERROR: database is locked")),
    });
    expect(msgs[0]!.outcome).toEqual({ delaySeconds: 60 });
  });
});
