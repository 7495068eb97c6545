/** The Worker handlers, built over one clock (src/index.ts is the entry). */
import { EmailMessage } from "cloudflare:email";
import { createApp } from "./app";
import { ConfigError, configFor } from "./config";
import { purgeExpired } from "./core/maintenance";
import { type Clock, systemClock } from "./lib/clock";
import type { Bindings } from "./services";

/** The Worker handlers over one clock: production uses the system clock, tests a movable one. */
export function createWorker(clock: Clock = systemClock) {
  const app = createApp({ emailMessage: EmailMessage, clock });
  return {
    fetch(request: Request, env: Bindings, ctx: ExecutionContext) {
      try {
        configFor(env);
      } catch (e) {
        if (e instanceof ConfigError) {
          // The message names the key and why, never a value (config.ts builds every message itself).
          console.error(`Configuration error: ${e.message}`);
          return Response.json({ error: `Configuration error: ${e.message}` }, { status: 500 });
        }
        throw e;
      }
      return app.fetch(request, env, ctx);
    },
    async scheduled(_controller: ScheduledController, env: Bindings, ctx: ExecutionContext) {
      ctx.waitUntil(purgeExpired(env.DB, clock));
    },
  } satisfies ExportedHandler<Bindings>;
}
