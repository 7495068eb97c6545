/**
 * The hosted pages' handover: the one-time hanko_token carries the methods the page session was
 * signed in with, and the session POST /token makes from it records them (not "oauth").
 */
import { describe, expect, it } from "vitest";
import { activeUser, json, PASSWORD, totpCode } from "../dialects/hbp/helpers";
import { sessionAmr } from "../support/amr";
import { call, uniqueEmail } from "../support/app";
import { type TestClock, testClock } from "../support/clock";
import { createCredential } from "../support/soft-authenticator";
import { ALLOW, APP, hiddenValue, Jar, lastMail, passkeySignIn, postJson, submit } from "./support";

/** The hanko_token of a handover URL, exchanged at POST /token: the new session's amr. */
async function exchangedAmr(location: string): Promise<string[]> {
  const to = new URL(location);
  expect(`${to.origin}${to.pathname}`).toBe(APP);
  const res = await call("/token", { json: { value: to.searchParams.get("hanko_token") } });
  expect(res.status).toBe(200);
  return sessionAmr(res.headers.get("x-auth-token")!);
}

/** The handover from a signed-in page (after the passkey offer). */
async function continueFrom(jar: Jar, clock?: TestClock): Promise<string> {
  const cont = await submit("/login/continue", { redirect_to: APP }, { jar, vars: ALLOW, clock });
  expect(cont.status).toBe(303);
  return cont.headers.get("location")!;
}

describe("pages: the handover carries the page session's methods", () => {
  it("password: pwd", async () => {
    const u = await activeUser();
    const jar = new Jar();
    const res = await submit("/login", { email: u.email, password: PASSWORD, method: "password" }, { jar });
    expect(res.status).toBe(303);
    expect(await exchangedAmr(await continueFrom(jar))).toEqual(["pwd"]);
  });

  it("password and TOTP: pwd, otp", async () => {
    const u = await activeUser();
    const gen = await json(await call("/auth/mfa/generate", { json: {}, token: u.jwt }));
    await call("/auth/mfa/enable", { json: { code: totpCode(gen.otp_secret) }, token: u.jwt });
    const jar = new Jar();
    const res = await submit("/login", { email: u.email, password: PASSWORD, method: "password" }, { jar });
    const ticket = hiddenValue(await res.text(), "ticket");
    const done = await submit("/login/totp", { ticket, code: totpCode(gen.otp_secret, 1) }, { jar });
    expect(done.status).toBe(303);
    expect(await exchangedAmr(await continueFrom(jar))).toEqual(["pwd", "otp"]);
  });

  it("emailed passcode: email", async () => {
    const u = await activeUser();
    const jar = new Jar();
    const res = await submit("/login", { email: u.email, method: "code" }, { jar });
    const id = hiddenValue(await res.text(), "id");
    const code = (await lastMail(u.email, "passcode")).data.code!;
    expect((await submit("/login/code", { id, email: u.email, code }, { jar })).status).toBe(303);
    expect(await exchangedAmr(await continueFrom(jar))).toEqual(["email"]);
  });

  it("passkey: webauthn, handed over at once; a later continue from a password page says pwd", async () => {
    const u = await activeUser();
    const jar = new Jar();
    await submit("/login", { email: u.email, password: PASSWORD, method: "password" }, { jar });
    const options = await json(await postJson("/account/passkey/options", {}, { jar }));
    const { credential, response } = await createCredential({ publicKey: options });
    expect((await postJson("/account/passkey", { credential: response }, { jar })).status).toBe(200);
    // The password session stays a password session after adding a passkey.
    expect(await exchangedAmr(await continueFrom(jar))).toEqual(["pwd"]);

    const { res, jar: fresh } = await passkeySignIn(credential);
    expect(res.status).toBe(200);
    expect(await exchangedAmr((await json(res)).redirect)).toEqual(["webauthn"]);
    expect(await exchangedAmr(await continueFrom(fresh))).toEqual(["webauthn"]);
  });

  it("without a live page session there is no handover", async () => {
    const jar = new Jar();
    jar.cookies.set("latchkey_pages", "not-a-session");
    const cont = await submit("/login/continue", { redirect_to: APP }, { jar, vars: ALLOW });
    expect(cont.status).toBe(303);
    expect(cont.headers.get("location")).toBe("/login");
  });

  it("a page session signed in long ago hands over a session as old: no fresh sign-in for step-up", async () => {
    const clock = testClock();
    const u = await activeUser();
    const jar = new Jar();
    await submit("/login", { email: u.email, password: PASSWORD, method: "password" }, { jar, clock });
    // Adding an address needs a recent sign-in (and, unlike a password change, ends no session).
    const addAddress = async (token: string) =>
      (await call("/emails", { json: { address: uniqueEmail() }, token, clock })).status;
    const exchange = async () => {
      const to = new URL(await continueFrom(jar, clock));
      const res = await call("/token", { json: { value: to.searchParams.get("hanko_token") }, clock });
      expect(res.status).toBe(200);
      return res.headers.get("x-auth-token")!;
    };
    // Handed over within the step-up window: the change goes through.
    expect(await addAddress(await exchange())).toBe(201);
    clock.advance(301);
    // Handed over later: the new session is as old as the page's sign-in.
    const stale = await exchange();
    expect(await addAddress(stale)).toBe(403);
  });
});
