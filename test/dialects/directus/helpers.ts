/** Shared steps for the Directus dialect tests. Users sign up through the HBP dialect on purpose. */
import { expect } from "vitest";
import { type CallOptions, call } from "../../support/app";
import { activeUser, json, PASSWORD, type Session } from "../hbp/helpers";

export const D = "/directus";

/** The Directus error body. */
export const errors = (code: string, message: string, reason?: string) => ({
  errors: [{ message, extensions: reason ? { code, reason } : { code } }],
});

/** Asserts the status and the exact Directus error body (`reason` for INVALID_PAYLOAD). */
export async function expectErrors(
  res: Response,
  status: number,
  code: string,
  message: string,
  reason?: string,
) {
  expect({ status: res.status, body: await res.json() }).toEqual({
    status,
    body: errors(code, message, reason),
  });
}

/** A cookie's value from a response's Set-Cookie headers, or null. */
export function cookie(res: Response, name: string): string | null {
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const eq = pair!.indexOf("=");
    if (pair!.slice(0, eq).trim() === name) return decodeURIComponent(pair!.slice(eq + 1));
  }
  return null;
}

export const directusLogin = (body: Record<string, unknown>, opts: CallOptions = {}) =>
  call(`${D}/auth/login`, { json: body, ...opts });

/** A user created through another dialect, logged in here in json mode. */
export async function directusUser(): Promise<Session & { access: string; rt: string }> {
  const s = await activeUser();
  const res = await directusLogin({ email: s.email, password: PASSWORD, mode: "json" });
  const body = await json(res);
  expect(res.status, JSON.stringify(body)).toBe(200);
  return { ...s, access: body.data.access_token, rt: body.data.refresh_token };
}
