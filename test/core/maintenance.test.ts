/** The hourly purge (src/core/maintenance.ts): rows past their cut-off go, live rows stay. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { purgeExpired } from "../../src/core/maintenance";
import { createMaintenanceStore } from "../../src/core/maintenance.store";
import { createDb } from "../../src/db/client";

const DAY = 86_400_000;
const db = env.DB;
const run = (sql: string, ...args: unknown[]) =>
  db
    .prepare(sql)
    .bind(...args)
    .run();
const ids = async (sql: string, ...args: unknown[]) =>
  (
    await db
      .prepare(sql)
      .bind(...args)
      .all<{ id: string }>()
  ).results
    .map((r) => r.id)
    .sort();

describe("purgeExpired", () => {
  it("deletes what has passed its cut-off in every table and keeps the rest", async () => {
    const now = 1_900_000_000_000;
    const p = crypto.randomUUID();
    const user = `${p}-user`;
    await run(
      "INSERT INTO users (id, default_role, allowed_roles, created_at, updated_at) VALUES (?, 'user', '[\"user\"]', ?, ?)",
      user,
      now,
      now,
    );
    const email = `${p}-email`;
    await run(
      "INSERT INTO emails (id, user_id, address, is_primary, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)",
      email,
      user,
      `${p}@example.com`,
      now,
      now,
    );
    // [id suffix, expired?]: each table gets one row just past its cut-off and one just inside it.
    for (const [suffix, exp] of [
      ["old", now - DAY - 1],
      ["new", now - DAY + 1],
    ] as const) {
      await run(
        "INSERT INTO tickets (hash, purpose, user_id, created_at, expires_at) VALUES (?, 'activation', ?, 0, ?)",
        `${p}-t-${suffix}`,
        user,
        exp,
      );
      await run(
        "INSERT INTO passcodes (id, user_id, email_id, code_mac, created_at, expires_at) VALUES (?, ?, ?, 'm', 0, ?)",
        `${p}-p-${suffix}`,
        user,
        email,
        exp,
      );
    }
    for (const [suffix, exp] of [
      ["old", now - 1],
      ["new", now + 1],
    ] as const) {
      await run(
        "INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, amr) VALUES (?, ?, 0, 0, ?, '[]')",
        `${p}-s-${suffix}`,
        user,
        exp,
      );
      await run(
        "INSERT INTO webauthn_challenges (hash, purpose, created_at, expires_at) VALUES (?, 'authentication', 0, ?)",
        `${p}-c-${suffix}`,
        exp,
      );
      await run(
        "INSERT INTO oauth_states (hash, provider, code_verifier, nonce, callback_url, created_at, expires_at) VALUES (?, 'x', 'v', 'n', 'u', 0, ?)",
        `${p}-o-${suffix}`,
        exp,
      );
    }
    // Refresh tokens of the live session (an expired session takes its tokens by cascade).
    for (const [suffix, exp] of [
      ["old", now - 1],
      ["new", now + 1],
    ] as const) {
      await run(
        "INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) VALUES (?, ?, 0, ?)",
        `${p}-r-${suffix}`,
        `${p}-s-new`,
        exp,
      );
    }
    // Sessions revoked more than a day ago go; recently revoked ones stay until then.
    for (const [suffix, revoked] of [
      ["rold", now - DAY - 1],
      ["rnew", now - DAY + 1],
    ] as const) {
      await run(
        "INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, revoked_at, amr) VALUES (?, ?, 0, 0, ?, ?, '[]')",
        `${p}-s-${suffix}`,
        user,
        now + DAY,
        revoked,
      );
    }
    // Counters go once their window is a day old and no lock holds.
    for (const [suffix, windowStart, lockedUntil] of [
      ["old", now - DAY - 1, now - 1],
      ["locked", now - DAY - 1, now + 1],
      ["recent", now - DAY + 1, 0],
    ] as const) {
      await run(
        "INSERT INTO attempt_counters (key, count, window_start, locked_until, locks) VALUES (?, 1, ?, ?, 0)",
        `${p}-a-${suffix}`,
        windowStart,
        lockedUntil,
      );
    }
    for (const [suffix, created] of [
      ["old", now - 7 * DAY - 1],
      ["new", now - 7 * DAY + 1],
    ] as const) {
      await run(
        `INSERT INTO outbox (id, "to", subject, text, html, kind, data, created_at) VALUES (?, 'x', 's', 't', 'h', 'k', '{}', ?)`,
        `${p}-m-${suffix}`,
        created,
      );
    }

    // Rate windows (an hour at most) go once they started a day ago.
    for (const [suffix, windowStart] of [
      ["old", now - DAY - 1],
      ["new", now - DAY + 1],
    ] as const) {
      await run(
        "INSERT INTO rate_windows (key, window_start, count) VALUES (?, ?, 1)",
        `${p}-w-${suffix}`,
        windowStart,
      );
    }

    await purgeExpired(createMaintenanceStore(createDb(env.DB)), { now: () => now });

    const like = `${p}-%`;
    expect(await ids("SELECT hash AS id FROM tickets WHERE hash LIKE ?", like)).toEqual([`${p}-t-new`]);
    expect(await ids("SELECT id FROM passcodes WHERE id LIKE ?", like)).toEqual([`${p}-p-new`]);
    expect(await ids("SELECT id FROM sessions WHERE id LIKE ?", like)).toEqual([`${p}-s-new`, `${p}-s-rnew`]);
    expect(await ids("SELECT hash AS id FROM refresh_tokens WHERE hash LIKE ?", like)).toEqual([
      `${p}-r-new`,
    ]);
    expect(await ids("SELECT hash AS id FROM webauthn_challenges WHERE hash LIKE ?", like)).toEqual([
      `${p}-c-new`,
    ]);
    expect(await ids("SELECT hash AS id FROM oauth_states WHERE hash LIKE ?", like)).toEqual([`${p}-o-new`]);
    expect(await ids("SELECT key AS id FROM attempt_counters WHERE key LIKE ?", like)).toEqual([
      `${p}-a-locked`,
      `${p}-a-recent`,
    ]);
    expect(await ids("SELECT id FROM outbox WHERE id LIKE ?", like)).toEqual([`${p}-m-new`]);
    expect(await ids("SELECT key AS id FROM rate_windows WHERE key LIKE ?", like)).toEqual([`${p}-w-new`]);
  });
});
