/** Whether the stores the Worker depends on answer; for status pages. */
import type { HealthStore } from "./health.store";

export function createHealthService(deps: { store: HealthStore }) {
  return {
    /** True while D1 answers a trivial query; a failure is logged, never thrown. */
    async databaseReachable(): Promise<boolean> {
      try {
        await deps.store.ping();
        return true;
      } catch (e) {
        console.error(e);
        return false;
      }
    },
  };
}

export type HealthService = ReturnType<typeof createHealthService>;
