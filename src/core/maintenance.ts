/** Hourly purge of rows whose only purpose has passed, so D1 does not grow without bound. */
import type { Clock } from "../lib/clock";

const DAY = 86_400_000;

export async function purgeExpired(d1: D1Database, clock: Clock): Promise<void> {
  const now = clock.now();
  await d1.batch([
    d1.prepare("DELETE FROM tickets WHERE expires_at < ?").bind(now - DAY),
    d1.prepare("DELETE FROM refresh_tokens WHERE expires_at < ?").bind(now),
    d1.prepare("DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?").bind(now, now - DAY),
    d1
      .prepare("DELETE FROM attempt_counters WHERE window_start < ? AND locked_until < ?")
      .bind(now - DAY, now),
    d1.prepare("DELETE FROM outbox WHERE created_at < ?").bind(now - 7 * DAY),
    d1.prepare("DELETE FROM passcodes WHERE expires_at < ?").bind(now - DAY),
    d1.prepare("DELETE FROM webauthn_challenges WHERE expires_at < ?").bind(now),
    d1.prepare("DELETE FROM oauth_states WHERE expires_at < ?").bind(now),
  ]);
}
