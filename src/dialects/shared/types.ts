import type { Config } from "../../core/config";
import type { Bindings, Services } from "../../services";

export type AppEnv = {
  Bindings: Bindings & Record<string, unknown>;
  Variables: { config: Config; services: Services };
};
