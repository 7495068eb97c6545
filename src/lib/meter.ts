/**
 * Development-only meter on the D1, KV and R2 bindings. Locally D1 runs inside workerd and every query
 * looks free; in production each D1 call is a network round trip to the primary. The meter counts
 * round trips (a batch is one) and KV reads and writes per request and reports them in a
 * `Server-Timing` header, so budgets can be asserted and the bench can tabulate them (and how the
 * request's D1 session started: `d1-session`, never the bookmark itself). It can also
 * delay each round trip (a simulated distance to the primary) and fail chosen ones (fault tests).
 *
 * The wrapped bindings are made once per isolate; each request's counts live in an
 * AsyncLocalStorage frame, so parallel requests in one isolate do not mix their figures. Work left
 * in `waitUntil` after the response is counted in no header.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface Probe {
  /** D1 round trips (one per statement run alone, one per batch). */
  d1: number;
  /** Rows D1 reported read and written (its billing units). */
  rowsRead: number;
  rowsWritten: number;
  kvReads: number;
  kvWrites: number;
  /** R2 operations (each call on the bucket). */
  r2: number;
  /** Added before every D1 round trip, in ms. */
  delayMs: number;
  /** Fail the Nth D1 round trip of the request (1-based), or every one. */
  fail: number | "all" | null;
  /** Fail the Nth R2 operation of the request (1-based), or every one. */
  r2Fail: number | "all" | null;
  /** How the request's D1 session started (app.ts), null when it used the binding itself. */
  d1Session: "first-primary" | "first-unconstrained" | "bookmark" | null;
}

/** What a failed round trip throws: the message D1 gives when it cannot be reached. */
export class SimulatedD1Failure extends Error {
  constructor(n: number) {
    super(`D1_ERROR: Network connection lost. (simulated: round trip ${n})`);
  }
}

const frames = new AsyncLocalStorage<Probe>();

export function newProbe(opts: Partial<Pick<Probe, "delayMs" | "fail" | "r2Fail">> = {}): Probe {
  return {
    d1: 0,
    rowsRead: 0,
    rowsWritten: 0,
    kvReads: 0,
    kvWrites: 0,
    r2: 0,
    delayMs: opts.delayMs ?? 0,
    fail: opts.fail ?? null,
    r2Fail: opts.r2Fail ?? null,
    d1Session: null,
  };
}

export const withProbe = <T>(probe: Probe, fn: () => T): T => frames.run(probe, fn);

/** The counts of the request running now (null in production and outside a request). */
export const currentProbe = (): Probe | null => frames.getStore() ?? null;

/** Runs `fn` outside any request's count (work the request hands to waitUntil, after its response). */
export const unmetered = <T>(fn: () => T): T => frames.exit(fn);

type Meta = { meta?: { rows_read?: number; rows_written?: number } };

function tally(probe: Probe | undefined, result: unknown) {
  if (!probe || !result || typeof result !== "object") return;
  for (const r of Array.isArray(result) ? result : [result]) {
    const meta = (r as Meta).meta;
    probe.rowsRead += meta?.rows_read ?? 0;
    probe.rowsWritten += meta?.rows_written ?? 0;
  }
}

/** One round trip: counted, delayed, perhaps failed, then made. */
async function roundTrip<T>(call: () => Promise<T>): Promise<T> {
  const probe = frames.getStore();
  if (!probe) return call();
  const n = ++probe.d1;
  if (probe.delayMs > 0) await new Promise((r) => setTimeout(r, probe.delayMs));
  if (probe.fail === "all" || probe.fail === n) throw new SimulatedD1Failure(n);
  const result = await call();
  tally(probe, result);
  return result;
}

const REAL = Symbol("real statement");
type Metered = D1PreparedStatement & { [REAL]: D1PreparedStatement };

function statement(real: D1PreparedStatement): Metered {
  return {
    [REAL]: real,
    bind: (...values: unknown[]) => statement(real.bind(...values)),
    first: ((column?: string) =>
      roundTrip(() =>
        column === undefined ? real.first() : real.first(column),
      )) as D1PreparedStatement["first"],
    run: (() => roundTrip(() => real.run())) as D1PreparedStatement["run"],
    all: (() => roundTrip(() => real.all())) as D1PreparedStatement["all"],
    raw: ((opts?: { columnNames?: boolean }) =>
      roundTrip(() =>
        opts?.columnNames ? real.raw({ columnNames: true }) : (real.raw() as Promise<unknown>),
      )) as D1PreparedStatement["raw"],
  };
}

const realOf = (s: D1PreparedStatement) => (s as Metered)[REAL] ?? s;

/** A D1 session whose round trips are counted like the binding's. */
function session(real: D1DatabaseSession): D1DatabaseSession {
  return {
    prepare: (query: string) => statement(real.prepare(query)),
    batch: ((stmts: D1PreparedStatement[]) =>
      roundTrip(() => real.batch(stmts.map(realOf)))) as D1DatabaseSession["batch"],
    getBookmark: () => real.getBookmark(),
  };
}

const d1s = new WeakMap<D1Database, D1Database>();

export function meteredD1(d1: D1Database): D1Database {
  let m = d1s.get(d1);
  if (!m) {
    const wrapped = {
      prepare: (query: string) => statement(d1.prepare(query)),
      batch: (stmts: D1PreparedStatement[]) => roundTrip(() => d1.batch(stmts.map(realOf))),
      exec: (query: string) => roundTrip(() => d1.exec(query)),
      dump: () => d1.dump(),
      withSession: (start?: string) => {
        const probe = frames.getStore();
        if (probe)
          probe.d1Session = start === "first-primary" || start === "first-unconstrained" ? start : "bookmark";
        return session(d1.withSession(start));
      },
    };
    m = wrapped as unknown as D1Database;
    d1s.set(d1, m);
  }
  return m;
}

const kvs = new WeakMap<KVNamespace, KVNamespace>();
const KV_WRITES = new Set(["put", "delete"]);
const KV_READS = new Set(["get", "getWithMetadata", "list"]);

export function meteredKv(kv: KVNamespace): KVNamespace {
  let m = kvs.get(kv);
  if (!m) {
    m = new Proxy(kv, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          const probe = frames.getStore();
          if (probe && KV_WRITES.has(String(prop))) probe.kvWrites++;
          if (probe && KV_READS.has(String(prop))) probe.kvReads++;
          return value.apply(target, args);
        };
      },
    });
    kvs.set(kv, m);
  }
  return m;
}

/** What a failed R2 operation throws. */
export class SimulatedR2Failure extends Error {
  constructor(n: number) {
    super(`R2 operation failed: internal error (simulated: operation ${n})`);
  }
}

const buckets = new WeakMap<R2Bucket, R2Bucket>();

export function meteredR2(bucket: R2Bucket): R2Bucket {
  let m = buckets.get(bucket);
  if (!m) {
    m = new Proxy(bucket, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          const probe = frames.getStore();
          if (probe) {
            const n = ++probe.r2;
            if (probe.r2Fail === "all" || probe.r2Fail === n)
              return Promise.reject(new SimulatedR2Failure(n));
          }
          return value.apply(target, args);
        };
      },
    });
    buckets.set(bucket, m);
  }
  return m;
}

/** `Server-Timing` entries for a probe (RFC-style `name;desc="..."`; no durations: counts only). */
export function serverTiming(p: Probe): string {
  return [
    `d1;desc="${p.d1} round trips"`,
    `d1-rows;desc="${p.rowsRead} read, ${p.rowsWritten} written"`,
    `kv;desc="${p.kvReads} reads, ${p.kvWrites} writes"`,
    `r2;desc="${p.r2} operations"`,
    ...(p.d1Session ? [`d1-session;desc="${p.d1Session}"`] : []),
  ].join(", ");
}
