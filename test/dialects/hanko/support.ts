/** Helpers for the hanko dialect tests: accounts with a session, passcodes from the outbox. */
import { env } from "cloudflare:test";
import { expect } from "vitest";
import { type CallOptions, call, uniqueEmail, type Vars } from "../../support/app";

/** Immediate sessions on sign-up (no email verification) unless a test says otherwise. */
export const OPEN: Vars = { VERIFY_EMAILS: "false", ACCOUNT_EXISTENCE_HINTS: "true" };
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export async function json(res: Response) {
  return JSON.parse(await res.text());
}

/** A new account with a session (POST /users with verification off). */
export async function signUp(email = uniqueEmail("hanko"), vars: Vars = OPEN, prefix = "") {
  const res = await call(`${prefix}/users`, { json: { email }, vars });
  expect(res.status).toBe(200);
  const body = await json(res);
  const token = res.headers.get("x-auth-token")!;
  expect(token).toBeTruthy();
  return { email, userId: body.user_id as string, emailId: body.email_id as string, token };
}

/** The newest passcode mailed to `to` (the outbox transport keeps it with its code). */
export async function latestPasscode(to: string): Promise<string> {
  const row = await env.DB.prepare(
    `SELECT data FROM outbox WHERE "to" = ? AND kind = 'passcode' ORDER BY created_at DESC, rowid DESC LIMIT 1`,
  )
    .bind(to)
    .first<{ data: string }>();
  return JSON.parse(row!.data).code;
}

export function hcall(path: string, opts: CallOptions = {}) {
  return call(path, { vars: OPEN, ...opts });
}

/**
 * call, hcall and signUp for the dialect mounted under HANKO_PREFIX `prefix` ("" for the origin
 * root): paths are written as Hanko names them, and every call carries the prefix in its vars.
 */
export function at(prefix: string) {
  const withPrefix = (vars: Vars = {}) => (prefix ? { ...vars, HANKO_PREFIX: prefix } : vars);
  return {
    call: (path: string, opts: CallOptions = {}) =>
      call(`${prefix}${path}`, { ...opts, vars: withPrefix(opts.vars) }),
    hcall: (path: string, opts: CallOptions = {}) =>
      call(`${prefix}${path}`, { ...opts, vars: withPrefix(opts.vars ?? OPEN) }),
    signUp: (email?: string, vars: Vars = OPEN) => signUp(email, withPrefix(vars), prefix),
  };
}
