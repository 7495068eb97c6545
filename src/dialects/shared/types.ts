import type { Config } from "../../core/config";
import type { Bindings, Services } from "../../services";

export type AppEnv = {
  Bindings: Bindings & Record<string, unknown>;
  Variables: {
    config: Config;
    services: Services;
    /** The request's id in its log lines (shared/log.ts). */
    requestId: string;
    /** The authenticated user, once a route learned it (the request log's user id). */
    userId?: string;
  };
};
