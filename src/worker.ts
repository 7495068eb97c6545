/** The Worker handlers, built over one clock (src/index.ts is the entry). */
import { EmailMessage } from "cloudflare:email";
import { createApp } from "./app";
import { ConfigError, configFor } from "./config";
import { createAuditLog } from "./core/events/audit";
import { createAuditStore } from "./core/events/audit.store";
import {
  consumeWebhooks,
  DEAD_LETTER_QUEUE,
  recordDeadLetters,
  type WebhookMessage,
} from "./core/events/webhooks";
import { purgeExpired } from "./core/maintenance";
import { createMaintenanceStore } from "./core/maintenance.store";
import { createDb } from "./db/client";
import { type Clock, systemClock } from "./lib/clock";
import { meteredD1, meteredKv, meteredR2, newProbe, serverTiming, withProbe } from "./lib/meter";
import type { Bindings } from "./services";

/** The bindings seen through the meter, one object per env (config and drizzle memoise on it). */
const meteredEnvs = new WeakMap<Bindings, Bindings>();
function metered(env: Bindings): Bindings {
  let m = meteredEnvs.get(env);
  if (!m) {
    m = { ...env, DB: meteredD1(env.DB), KV: meteredKv(env.KV), FILES: meteredR2(env.FILES) };
    meteredEnvs.set(env, m);
  }
  return m;
}

/**
 * `X-Dev-D1-Fail: N` fails the request's Nth D1 round trip, `all` every one; `X-Dev-R2-Fail` the same
 * for R2 operations (fault tests, outside production).
 */
function faultOf(request: Request, header: string): number | "all" | null {
  const v = request.headers.get(header);
  if (v === "all") return "all";
  const n = Number(v);
  return v && Number.isInteger(n) && n > 0 ? n : null;
}

/** The Worker handlers over one clock: production uses the system clock, tests a movable one. */
export function createWorker(clock: Clock = systemClock) {
  const app = createApp({ emailMessage: EmailMessage, clock });
  return {
    async fetch(request: Request, env: Bindings, ctx: ExecutionContext) {
      let meter: ReturnType<typeof configFor>["meter"];
      try {
        meter = configFor(env).meter;
      } catch (e) {
        if (e instanceof ConfigError) {
          // The message names the key and why, never a value (config.ts builds every message itself).
          console.error(`Configuration error: ${e.message}`);
          return Response.json({ error: `Configuration error: ${e.message}` }, { status: 500 });
        }
        throw e;
      }
      if (!meter) return app.fetch(request, env, ctx);
      // Outside production: count this request's D1 round trips and KV operations (lib/meter.ts).
      const probe = newProbe({
        delayMs: meter.d1RttMs,
        fail: faultOf(request, "x-dev-d1-fail"),
        r2Fail: faultOf(request, "x-dev-r2-fail"),
      });
      let res = await withProbe(probe, () => app.fetch(request, metered(env), ctx));
      try {
        res.headers.append("Server-Timing", serverTiming(probe));
      } catch {
        // Immutable headers (a response passed through from fetch): one copy.
        res = new Response(res.body, res);
        res.headers.append("Server-Timing", serverTiming(probe));
      }
      return res;
    },
    async scheduled(_controller: ScheduledController, env: Bindings, ctx: ExecutionContext) {
      const db = createDb(env.DB);
      ctx.waitUntil(purgeExpired(createMaintenanceStore(db), clock));
      // The audit log keeps AUDIT_RETENTION_DAYS days (README "Audit log").
      ctx.waitUntil(
        (async () => {
          const { audit } = configFor(env);
          await createAuditLog({
            store: createAuditStore(db),
            clock,
            retentionDays: audit.retentionDays,
          }).purge();
        })(),
      );
    },
    /**
     * The webhook consumer (README "Webhooks"): each message delivered, signed, and acked or retried;
     * and the dead-letter queue's consumer, which records what the queue gave up on.
     */
    async queue(batch: MessageBatch<WebhookMessage>, env: Bindings) {
      const { webhooks, audit } = configFor(env);
      if (batch.queue === DEAD_LETTER_QUEUE) {
        const store = createAuditStore(createDb(env.DB));
        await recordDeadLetters(batch.messages, { clock, insert: audit.enabled ? store.insert : null });
        return;
      }
      if (!webhooks) {
        // Nothing to sign with: keep the messages for when the configuration is back.
        console.error(JSON.stringify({ msg: "webhook delivery without WEBHOOK_URL and WEBHOOK_SECRET" }));
        batch.retryAll({ delaySeconds: 300 });
        return;
      }
      await consumeWebhooks(batch.messages, {
        secret: webhooks.secret,
        fetch: (...a) => fetch(...a),
        nowSeconds: () => Math.floor(clock.now() / 1000),
        retryDelays: webhooks.retryDelays,
      });
    },
  } satisfies ExportedHandler<Bindings, WebhookMessage>;
}
