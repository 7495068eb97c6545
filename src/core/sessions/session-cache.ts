/**
 * Per-isolate memory of sessions recently found alive in D1, used only for reads (GET/HEAD):
 * security.md lets reads tolerate staleness up to the access-token lifetime; this keeps it to
 * READ_STALENESS_MS. Writes always ask D1, and every revocation made in this isolate (logout,
 * revoke-all, reuse detection, session cap, user deletion) empties the memory at once, so within
 * one isolate a revoked session is refused immediately and elsewhere within a few seconds. With D1
 * read replication on (app.ts), a read's liveness check may come from a replica: add its lag.
 */
export const READ_STALENESS_MS = 5_000;
const MAX_ENTRIES = 10_000;

const alive = new Map<string, number>();

/** True when `sessionId` of `userId` was found alive less than READ_STALENESS_MS ago. */
export function recentlyAlive(sessionId: string, userId: string, now: number): boolean {
  const until = alive.get(`${sessionId}|${userId}`);
  return until !== undefined && until > now;
}

export function rememberAlive(sessionId: string, userId: string, now: number): void {
  if (alive.size >= MAX_ENTRIES) alive.clear();
  alive.set(`${sessionId}|${userId}`, now + READ_STALENESS_MS);
}

/** Forget everything: called by every statement that can end a session or remove a user. */
export function forgetSessions(): void {
  alive.clear();
}
