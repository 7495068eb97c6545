/**
 * Test harness: requests go through the real Worker entry with the real local D1, KV and R2 of the
 * vitest pool. `overrides` become env vars of a fresh env object, so each distinct configuration is
 * parsed on its own (config is memoised per env object).
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";
import type { Clock } from "../../src/lib/clock";
import { createWorker } from "../../src/worker";

export type Vars = Record<string, string>;

/**
 * Test defaults: cheaper scrypt so the suite stays fast (the bench measures the real cost), and a
 * hash cap that the exactly-once race tests (30 parallel requests that each hash) do not hit; the
 * flood tests set the real default (CAPPED) to test the cap itself.
 */
export const TEST_VARS: Vars = { SCRYPT_LOG_N: "10", SCRYPT_P: "1", MAX_PENDING_HASHES: "100" };
/** The production hash cap (MAX_PENDING_HASHES default), for the flood tests. */
export const CAPPED: Vars = { MAX_PENDING_HASHES: "2" };

const envs = new Map<string, object>();
export function envWith(overrides: Vars = {}) {
  const key = JSON.stringify(overrides);
  let e = envs.get(key);
  if (!e) {
    e = { ...env, ...TEST_VARS, ...overrides };
    envs.set(key, e);
  }
  return e as typeof env;
}

let ipCounter = 0;
/** A fresh client address per call site, so per-IP windows of one test do not leak into another. */
export const freshIp = () => `198.51.100.${(ipCounter++ % 250) + 1}-${crypto.randomUUID().slice(0, 8)}`;

export interface CallOptions {
  method?: string;
  json?: unknown;
  form?: Record<string, string>;
  body?: BodyInit;
  headers?: Record<string, string>;
  token?: string;
  ip?: string;
  vars?: Vars;
  /** Runs the request through a Worker built over this clock (see test/support/clock.ts). */
  clock?: Clock;
}

const workers = new WeakMap<Clock, ReturnType<typeof createWorker>>();
function workerFor(clock?: Clock) {
  if (!clock) return worker;
  let w = workers.get(clock);
  if (!w) {
    w = createWorker(clock);
    workers.set(clock, w);
  }
  return w;
}

export async function call(path: string, opts: CallOptions = {}): Promise<Response> {
  const headers = new Headers(opts.headers);
  let body = opts.body;
  if (opts.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    headers.set("content-type", "application/x-www-form-urlencoded");
    body = new URLSearchParams(opts.form).toString();
  }
  if (opts.token) headers.set("authorization", `Bearer ${opts.token}`);
  headers.set("cf-connecting-ip", opts.ip ?? freshIp());
  const method = opts.method ?? (body !== undefined ? "POST" : "GET");
  const request = new Request(new URL(path, "http://localhost:8787"), { method, headers, body });
  const ctx = createExecutionContext();
  const res = await workerFor(opts.clock).fetch(request, envWith(opts.vars) as never, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

export const uniqueEmail = (tag = "user") => `${tag}-${crypto.randomUUID().slice(0, 12)}@example.com`;
