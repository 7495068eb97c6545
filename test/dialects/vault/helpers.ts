/** Shared steps for the vault dialect tests. */
import { decodeJwt } from "jose";
import { expect } from "vitest";
import { call, uniqueEmail } from "../../support/app";
import { json, lastMail, PASSWORD } from "../hbp/helpers";

export const V = "/api";

export async function expectVaultError(res: Response, statusCode: number, error: string, message: string) {
  expect({ status: res.status, body: await res.json() }).toEqual({
    status: statusCode,
    body: { statusCode, error, message },
  });
}

/** Registers through vault; returns the tokens and the verification link's path. */
export async function registered(email = uniqueEmail(), name = "Ada") {
  const res = await call(`${V}/register`, { json: { email, password: PASSWORD, name } });
  const body = await json(res);
  expect(res.status, JSON.stringify(body)).toBe(200);
  const mail = await lastMail(email, "activation");
  return {
    email,
    userToken: body.userToken as string,
    vaultToken: body.vaultToken as string | null,
    verifyPath: new URL(mail.data.link!).pathname,
    sid: decodeJwt(body.userToken).sid as string,
    userId: decodeJwt(body.userToken).sub as string,
  };
}

/** Registered and verified: the default team exists. */
export async function verified(email = uniqueEmail()) {
  const r = await registered(email);
  const res = await call(r.verifyPath);
  const body = await json(res);
  expect(res.status, JSON.stringify(body)).toBe(200);
  return {
    ...r,
    userToken: body.userToken as string,
    vaultToken: body.vaultToken as string,
    sid: decodeJwt(body.userToken).sid as string,
  };
}
