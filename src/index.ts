/** Worker entry. */
import { EmailMessage } from "cloudflare:email";
import { createApp } from "./app";
import { ConfigError, configFor } from "./config";
import { purgeExpired } from "./core/maintenance";
import { systemClock } from "./lib/clock";
import type { Bindings } from "./services";

const app = createApp({ emailMessage: EmailMessage });

export default {
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
    ctx.waitUntil(purgeExpired(env.DB, systemClock));
  },
} satisfies ExportedHandler<Bindings>;
