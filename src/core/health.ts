/** Whether the stores the Worker depends on answer; for status pages. */
export function createHealthService(deps: { d1: D1Database }) {
  return {
    /** True while D1 answers a trivial query; a failure is logged, never thrown. */
    async databaseReachable(): Promise<boolean> {
      try {
        await deps.d1.prepare("SELECT 1").first();
        return true;
      } catch (e) {
        console.error(e);
        return false;
      }
    },
  };
}

export type HealthService = ReturnType<typeof createHealthService>;
