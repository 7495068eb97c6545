/** Shared steps for the formauth dialect tests. */
import { expect } from "vitest";
import { call, uniqueEmail } from "../../support/app";
import { confirmLink } from "../../support/links";
import { json, lastMail, PASSWORD } from "../hbp/helpers";

export const A = "/api/auth";

export async function expectError(res: Response, status: number, code: string, error: string) {
  expect({ status: res.status, body: await res.json() }).toEqual({ status, body: { code, error } });
}

export const uniqueName = () => `u${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`;

/** Registers through formauth (form body), confirms through the mailed link's page, logs in. */
export async function confirmedUser(email = uniqueEmail(), username = uniqueName()) {
  const reg = await call(`${A}/register`, { form: { username, email, password: PASSWORD } });
  expect(reg.status).toBe(200);
  expect((await confirmLink((await lastMail(email, "activation")).data.link!)).status).toBe(303);
  const res = await call(`${A}/login`, { form: { email, password: PASSWORD } });
  const body = await json(res);
  expect(res.status, JSON.stringify(body)).toBe(200);
  return { email, username, access: body.access_token as string, refresh: body.refresh_token as string };
}
