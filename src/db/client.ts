/**
 * drizzle over D1: over the binding itself (scheduled work, tests), or over one request's D1 session
 * (Sessions API, read replication: app.ts picks the session's constraint per request).
 *
 * No relational `schema` is passed: no store uses `db.query`, and building its relational config
 * would cost every request that makes a session (measured in the vitest pool: about 0.1-0.3 ms per
 * instance with it, about 0.01 ms without).
 */
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Db = DrizzleD1Database;

/** drizzle only calls `prepare` and `batch`, which a D1 session has too. */
const build = (client: D1Database | D1DatabaseSession): Db =>
  drizzle(client as D1Database, { casing: "snake_case" });

/** One drizzle instance per D1 binding (the binding lives as long as the isolate): no per-request set-up. */
const instances = new WeakMap<D1Database, Db>();

export function createDb(d1: D1Database): Db {
  let db = instances.get(d1);
  if (!db) {
    db = build(d1);
    instances.set(d1, db);
  }
  return db;
}

/** A drizzle instance over one request's D1 session (a session lives as long as its request). */
export const sessionDb = (session: D1DatabaseSession): Db => build(session);

/**
 * Where a request's D1 session starts: `first-primary` (its first query reads the primary, so it sees
 * every committed write), `first-unconstrained` (any replica, however far behind), or a bookmark
 * from an earlier response (a replica at least as new as the write that produced it).
 */
export type SessionStart = "first-primary" | "first-unconstrained" | { bookmark: string };

/**
 * A bookmark as D1 writes them (hex groups joined by dashes, lexicographically ordered). Anything
 * else a client sends is ignored rather than handed to D1.
 */
const BOOKMARK = /^[0-9a-f]{1,64}(-[0-9a-f]{1,64}){1,7}$/;

export const isBookmark = (v: string | undefined | null): v is string =>
  typeof v === "string" && v.length <= 256 && BOOKMARK.test(v);

export function startSession(d1: D1Database, start: SessionStart): D1DatabaseSession {
  return d1.withSession(typeof start === "string" ? start : start.bookmark);
}

export { schema };
