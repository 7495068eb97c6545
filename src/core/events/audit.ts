/**
 * The audit log: every recorded event is one D1 row, written after the response in one batch (a
 * failed write is logged, the request has long been answered), kept AUDIT_RETENTION_DAYS days,
 * and read back by user and time, newest first, one cursor-delimited page at a time.
 */
import type { Clock } from "../../lib/clock";
import { fromBase64Url, toBase64Url, utf8 } from "../../lib/encoding";
import { AuthError } from "../errors";
import type { AuditRow, AuditStore } from "./audit.store";
import type { EventSink, EventType, RecordedEvent } from "./events";

const DAY = 86_400_000;
export const AUDIT_PAGE_MAX = 200;

/** An audit row as read back: the event as it was recorded. */
export type AuditEntry = RecordedEvent;

export interface AuditPage {
  events: AuditEntry[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

export interface AuditLog {
  /** The sink that writes a request's events (events.ts). */
  readonly sink: EventSink;
  /** Events newest first, by user and time; `cursor` continues a previous page. */
  query(q: {
    userId?: string;
    since?: number;
    until?: number;
    cursor?: string;
    limit?: number;
  }): Promise<AuditPage>;
  /** Deletes the rows older than the retention. */
  purge(): Promise<void>;
}

const encodeCursor = (r: { at: number; id: string }) => toBase64Url(utf8(`${r.at}.${r.id}`));

function decodeCursor(cursor: string): { at: number; id: string } {
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(fromBase64Url(cursor));
  } catch {}
  const m = /^(\d{1,16})\.([0-9a-f-]{36})$/.exec(text);
  if (!m) throw new AuthError("INVALID_REQUEST", { detail: "The cursor is not valid." });
  return { at: Number(m[1]), id: m[2]! };
}

const present = (r: AuditRow): AuditEntry => ({ ...r, type: r.type as EventType });

export function createAuditLog(deps: { store: AuditStore; clock: Clock; retentionDays: number }): AuditLog {
  const { store } = deps;
  return {
    async sink(events) {
      try {
        // The new address of an email change goes to the webhook, not into the log.
        await store.insert(
          events.map((e) => {
            const { email: _address, ...data } = e.data;
            return { ...e, data };
          }),
        );
      } catch (err) {
        console.error(
          JSON.stringify({
            msg: "audit write failed",
            events: events.map((e) => e.type),
            error: err instanceof Error ? err.message.split("\n")[0] : String(err),
          }),
        );
      }
    },

    async query({ userId, since, until, cursor, limit = 50 }) {
      if (!Number.isInteger(limit) || limit < 1 || limit > AUDIT_PAGE_MAX)
        throw new AuthError("INVALID_REQUEST", { detail: `limit must be between 1 and ${AUDIT_PAGE_MAX}.` });
      const after = cursor ? decodeCursor(cursor) : undefined;
      const rows = await store.list({ userId, since, until, after, limit: limit + 1 });
      const page = rows.slice(0, limit);
      return {
        events: page.map(present),
        nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!) : null,
      };
    },

    purge: () => store.purge(deps.clock.now() - deps.retentionDays * DAY),
  };
}
