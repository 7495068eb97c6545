/** Hourly purge of rows whose only purpose has passed, so D1 does not grow without bound. */
import type { Clock } from "../lib/clock";
import type { MaintenanceStore } from "./maintenance.store";

const DAY = 86_400_000;

export async function purgeExpired(store: MaintenanceStore, clock: Clock): Promise<void> {
  const now = clock.now();
  await store.purge({
    ticketsExpiredBefore: now - DAY,
    refreshTokensExpiredBefore: now,
    sessionsExpiredBefore: now,
    sessionsRevokedBefore: now - DAY,
    countersWindowBefore: now - DAY,
    countersUnlockedBefore: now,
    outboxCreatedBefore: now - 7 * DAY,
    passcodesExpiredBefore: now - DAY,
    challengesExpiredBefore: now,
    oauthStatesExpiredBefore: now,
    // Rate windows last at most an hour.
    rateWindowsStartedBefore: now - DAY,
  });
}
