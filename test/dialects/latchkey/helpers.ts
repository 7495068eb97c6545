/** Shared steps for the Latchkey API tests: the admin service key, admin users, admin calls. */
import { expect } from "vitest";
import { type CallOptions, call } from "../../support/app";
import { activeUser, type Json, json, type Session } from "../hbp/helpers";

/** A service key of the strength config demands (32 random bytes, base64url). */
export const KEY = "k2VbQy7m1xT0cN8rJ4uWz6pHs3aLd9fE5gKiO_-YtRo";
/** The admin API on: the service key, and users holding `admin` are admins (ADMIN_ROLE is off by default). */
export const ADMIN_VARS = { ADMIN_API_KEY: KEY, ADMIN_ROLE: "admin" };

/** A call with the admin API configured; `token` defaults to the service key. */
export function acall(path: string, opts: CallOptions = {}): Promise<Response> {
  return call(path, { token: KEY, ...opts, vars: { ...ADMIN_VARS, ...opts.vars } });
}

/** Asserts status and the /v1 error body's code. */
export async function expectError(res: Response, status: number, code: string): Promise<Json> {
  const body = await json(res);
  expect({ status: res.status, code: body?.error?.code }, JSON.stringify(body)).toEqual({ status, code });
  expect(typeof body.error.message).toBe("string");
  return body;
}

/** Gives a user the admin role (through the API, with the service key). */
export async function makeAdmin(userId: string): Promise<void> {
  const res = await acall(`/v1/admin/users/${userId}/roles`, {
    method: "PUT",
    json: { default_role: "user", allowed_roles: ["user", "admin"] },
  });
  expect(res.status, await res.clone().text()).toBe(204);
}

/** A signed-in user holding the admin role. */
export async function adminUser(): Promise<Session> {
  const s = await activeUser();
  await makeAdmin(s.userId);
  return s;
}

/** The admin view of a user (service key). */
export async function detail(userId: string): Promise<Json> {
  const res = await acall(`/v1/admin/users/${userId}`);
  expect(res.status).toBe(200);
  return json(res);
}
