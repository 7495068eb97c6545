/** D1 side of the hourly purge: one batch of deletes, each below a cut-off the caller decides. */
import { and, lt, or } from "drizzle-orm";
import type { Db } from "../db/client";
import {
  attemptCounters,
  oauthStates,
  outbox,
  passcodes,
  rateWindows,
  refreshTokens,
  samlAssertions,
  samlRequests,
  sessions,
  tickets,
  webauthnChallenges,
} from "../db/schema";

/** Times (ms since the epoch): rows older than these are deleted. */
export interface PurgeCutoffs {
  ticketsExpiredBefore: number;
  refreshTokensExpiredBefore: number;
  sessionsExpiredBefore: number;
  sessionsRevokedBefore: number;
  /** Attempt counters whose window started before this and whose lock ended before `countersUnlockedBefore`. */
  countersWindowBefore: number;
  countersUnlockedBefore: number;
  outboxCreatedBefore: number;
  passcodesExpiredBefore: number;
  challengesExpiredBefore: number;
  oauthStatesExpiredBefore: number;
  rateWindowsStartedBefore: number;
}

export interface MaintenanceStore {
  purge(c: PurgeCutoffs): Promise<void>;
}

export function createMaintenanceStore(db: Db): MaintenanceStore {
  return {
    async purge(c) {
      await db.batch([
        db.delete(tickets).where(lt(tickets.expiresAt, c.ticketsExpiredBefore)),
        db.delete(refreshTokens).where(lt(refreshTokens.expiresAt, c.refreshTokensExpiredBefore)),
        db
          .delete(sessions)
          .where(
            or(
              lt(sessions.expiresAt, c.sessionsExpiredBefore),
              lt(sessions.revokedAt, c.sessionsRevokedBefore),
            ),
          ),
        db
          .delete(attemptCounters)
          .where(
            and(
              lt(attemptCounters.windowStart, c.countersWindowBefore),
              lt(attemptCounters.lockedUntil, c.countersUnlockedBefore),
            ),
          ),
        db.delete(outbox).where(lt(outbox.createdAt, c.outboxCreatedBefore)),
        db.delete(passcodes).where(lt(passcodes.expiresAt, c.passcodesExpiredBefore)),
        db.delete(webauthnChallenges).where(lt(webauthnChallenges.expiresAt, c.challengesExpiredBefore)),
        db.delete(oauthStates).where(lt(oauthStates.expiresAt, c.oauthStatesExpiredBefore)),
        // SAML requests live as long as OAuth states; an assertion ID is kept while it could be accepted.
        db.delete(samlRequests).where(lt(samlRequests.expiresAt, c.oauthStatesExpiredBefore)),
        db.delete(samlAssertions).where(lt(samlAssertions.expiresAt, c.oauthStatesExpiredBefore)),
        db.delete(rateWindows).where(lt(rateWindows.windowStart, c.rateWindowsStartedBefore)),
      ]);
    },
  };
}
