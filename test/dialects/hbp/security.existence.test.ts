/**
 * With ACCOUNT_EXISTENCE_HINTS off (the default), registration and email change answer a taken
 * address exactly as a free one; the address's owner gets a mail instead, and nothing of their
 * account is disclosed or handed out.
 */
import { describe, expect, it } from "vitest";
import {
  AUTO,
  activeUser,
  call,
  json,
  lastMail,
  login,
  outbox,
  PASSWORD,
  tokenWorks,
  uniqueEmail,
  usersWithEmail,
} from "./helpers";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const OTHER_PASSWORD = "an attacker's password";

/** The shape of a body: every key with the type of its value (nested), values left out. */
function shape(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v === null ? null : typeof v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
}

describe("POST /auth/register with a taken address, hints off", () => {
  it("pending registration: same status and body as a free address, the owner is mailed", async () => {
    const owner = await activeUser();
    const free = uniqueEmail("free");
    const a = await call("/auth/register", { json: { email: free, password: PASSWORD } });
    const b = await call("/auth/register", {
      json: { email: owner.email, password: OTHER_PASSWORD, user_data: { display_name: "Mallory" } },
    });
    expect(b.status).toBe(a.status);
    const [ba, bb] = [await json(a), await json(b)];
    expect(shape(bb)).toEqual(shape(ba));
    expect(bb).toEqual({
      jwt_token: null,
      jwt_expires_in: null,
      user: {
        id: expect.stringMatching(UUID),
        display_name: "Mallory",
        email: owner.email,
        avatar_url: null,
      },
    });
    // Nothing of the owner's account: not its id, not its name.
    expect(bb.user.id).not.toBe(owner.userId);
    // A retry answers the same id, as a pending account would.
    const again = await json(
      await call("/auth/register", { json: { email: owner.email, password: PASSWORD } }),
    );
    expect(again.user.id).toBe(bb.user.id);
    // The owner hears of it; no activation link goes out, the account is unchanged.
    const mail = await lastMail(owner.email, "address_taken_sign_up");
    expect(mail.text).toMatch(/already has an account/);
    expect(mail.text).toMatch(/sign in instead, or reset your password/);
    expect((await outbox(owner.email)).some((m) => m.kind === "activation")).toBe(false);
    expect(await usersWithEmail(owner.email)).toBe(1);
    expect((await login(owner.email)).user.id).toBe(owner.userId);
  });

  it("AUTO_ACTIVATE_NEW_USERS: tokens as for a new account, of a session that does not exist", async () => {
    const owner = await activeUser();
    const res = await call("/auth/register", {
      json: { email: owner.email, password: OTHER_PASSWORD, cookie: false },
      vars: AUTO,
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    const fresh = await json(
      await call("/auth/register", {
        json: { email: uniqueEmail(), password: PASSWORD, cookie: false },
        vars: AUTO,
      }),
    );
    expect(shape(body)).toEqual(shape(fresh));
    expect(body.user.id).not.toBe(owner.userId);
    // Neither token works: no route accepts the access token, no refresh renews it.
    expect(await tokenWorks(body.jwt_token)).toBe(401);
    expect((await call(`/auth/token/refresh?refresh_token=${body.refresh_token}`)).status).toBe(401);
    // The owner's password is unchanged, the attacker's does not sign in.
    expect(
      (await call("/auth/login", { json: { email: owner.email, password: OTHER_PASSWORD } })).status,
    ).toBe(401);
    expect((await login(owner.email)).user.id).toBe(owner.userId);
    expect((await lastMail(owner.email, "address_taken_sign_up")).to).toBe(owner.email);
  });

  it("the cookie variant sets a refresh cookie like a new registration", async () => {
    const owner = await activeUser();
    const taken = await call("/auth/register", {
      json: { email: owner.email, password: PASSWORD },
      vars: AUTO,
    });
    const free = await call("/auth/register", {
      json: { email: uniqueEmail(), password: PASSWORD },
      vars: AUTO,
    });
    // Every cookie (the refresh token and the session cookie), values masked.
    const cookieShape = (r: Response) =>
      r.headers
        .getSetCookie()
        .map((l) => l.replace(/=[^;]*;/, "=x;"))
        .join("\n");
    expect(cookieShape(free)).toMatch(/permission_variables=x;/);
    expect(cookieShape(taken)).toBe(cookieShape(free));
  });
});

describe("email change to a taken address, hints off", () => {
  it("POST /auth/change-email/request: 204 as for a free address; the holder is mailed, no link goes out", async () => {
    const a = await activeUser();
    const b = await activeUser();
    const res = await call("/auth/change-email/request", { json: { new_email: b.email }, token: a.jwt });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await outbox(b.email)).some((m) => m.kind === "email_change")).toBe(false);
    expect((await lastMail(b.email, "address_taken_email_change")).text).toMatch(/nothing changed/);
    expect((await login(a.email)).user.id).toBe(a.userId);
    expect((await login(b.email)).user.id).toBe(b.userId);
  });

  it("POST /auth/change-email (VERIFY_EMAILS=false): 204; nothing changes; the holder is mailed", async () => {
    const vars = { VERIFY_EMAILS: "false" };
    const a = await activeUser();
    const b = await activeUser();
    const res = await call("/auth/change-email", { json: { new_email: b.email }, token: a.jwt, vars });
    expect(res.status).toBe(204);
    expect((await lastMail(b.email, "address_taken_email_change")).to).toBe(b.email);
    expect((await login(a.email)).user.id).toBe(a.userId);
    expect((await login(b.email)).user.id).toBe(b.userId);
    // The requester's session is not ended as a real change would end the others: nothing changed.
    expect(await tokenWorks(a.jwt)).toBe(400);
  });
});
