/** Hosted sign-up, mailed-link landing, password reset, the account page and passkeys. */
import { describe, expect, it } from "vitest";
import { activeUser, json, PASSWORD } from "../dialects/hbp/helpers";
import { call, uniqueEmail } from "../support/app";
import { createCredential, getAssertion } from "../support/soft-authenticator";
import {
  ALLOW,
  APP,
  hiddenValue,
  Jar,
  lastMail,
  local,
  open,
  passkeySignIn,
  postJson,
  submit,
} from "./support";

describe("sign-up and the activation link", () => {
  it("mails a link to the /verify page; GET spends nothing, one of parallel confirms signs in", async () => {
    const email = uniqueEmail();
    const res = await submit(
      "/register",
      { email, password: PASSWORD, name: "Ada", redirect_to: APP },
      { vars: ALLOW },
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Open it to activate your account");
    const mail = await lastMail(email, "activation");
    const link = /https?:\/\/\S+\/verify\?\S+/.exec(mail.text)![0];
    const url = new URL(link);
    expect(url.pathname).toBe("/verify");
    expect(url.searchParams.get("kind")).toBe("activation");
    expect(url.searchParams.get("redirect_to")).toBe(APP);
    // A scanner opening the link twice spends nothing.
    for (let i = 0; i < 2; i++) expect((await open(local(link), { vars: ALLOW })).status).toBe(200);
    const html = await (await open(local(link), { vars: ALLOW })).text();
    const form = { kind: hiddenValue(html, "kind"), ticket: hiddenValue(html, "ticket"), redirect_to: APP };
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => submit("/verify", form, { vars: ALLOW })),
    );
    const won = answers.filter((r) => r.status === 303);
    expect(won).toHaveLength(1);
    expect(won[0]!.headers.get("location")).toBe(`/account/passkey?redirect_to=${encodeURIComponent(APP)}`);
    expect(answers.filter((r) => r.status === 410)).toHaveLength(4);
  });

  it("refuses a weak password with the form again (400), and a cross-site sign-up (403)", async () => {
    const weak = await submit("/register", { email: uniqueEmail(), password: "short" });
    expect(weak.status).toBe(400);
    expect(await weak.text()).toContain("at least");
    const cross = await submit(
      "/register",
      { email: uniqueEmail(), password: PASSWORD },
      { headers: { origin: "https://evil.example" } },
    );
    expect(cross.status).toBe(403);
  });

  it("is closed when SIGNUP_ENABLED is off", async () => {
    expect((await open("/register", { vars: { SIGNUP_ENABLED: "false" } })).status).toBe(404);
  });

  it("refuses a malformed link with a page, not an error", async () => {
    const res = await open("/verify?kind=nope&ticket=x");
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
  });
});

describe("password reset", () => {
  it("answers any address alike; the mailed page sets the password once and ends the sessions", async () => {
    const u = await activeUser();
    const unknown = await submit("/reset-password", { email: uniqueEmail() });
    const known = await submit("/reset-password", { email: u.email });
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    const strip = (s: string) => s.replace(/nonce(-|=")[^"' ]*/g, "").replace(/\S+@example\.com/g, "");
    expect(strip(await known.text())).toBe(strip(await unknown.text()));
    const mail = await lastMail(u.email, "password_reset");
    const link = /https?:\/\/\S+\/reset-password\?\S+/.exec(mail.text)![0];
    const page = await open(local(link));
    expect(page.status).toBe(200);
    const ticket = hiddenValue(await page.text(), "ticket");
    const answers = await Promise.all(
      Array.from({ length: 4 }, () =>
        submit("/reset-password/new", { ticket, password: "a new long passphrase" }),
      ),
    );
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
    expect(answers.filter((r) => r.status === 410)).toHaveLength(3);
    const login = await submit("/login", {
      email: u.email,
      password: "a new long passphrase",
      method: "password",
    });
    expect(login.status).toBe(303);
  });
});

describe("/account", () => {
  async function signedIn() {
    const u = await activeUser();
    const jar = new Jar();
    const res = await submit("/login", { email: u.email, password: PASSWORD, method: "password" }, { jar });
    expect(res.status).toBe(303);
    return { u, jar };
  }

  it("sends a visitor without a session to the login page", async () => {
    const res = await open("/account");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/login");
  });

  it("shows the address, rotates the session cookie, and signs out for good", async () => {
    const { u, jar } = await signedIn();
    const before = jar.cookies.get("latchkey_pages");
    const res = await open("/account", { jar });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`Signed in as <strong>${u.email}</strong>`);
    expect(jar.cookies.get("latchkey_pages")).not.toBe(before);
    const out = await submit("/account/logout", {}, { jar });
    expect(out.status).toBe(200);
    expect(jar.cookies.has("latchkey_pages")).toBe(false);
    const old = new Jar();
    old.cookies.set("latchkey_pages", before!);
    expect((await open("/account", { jar: old })).status).toBe(303);
  });

  it("adds a passkey, which then signs in from the login page and hands over", async () => {
    const { u, jar } = await signedIn();
    expect((await postJson("/account/passkey/options", {})).status).toBe(401);
    const options = await json(await postJson("/account/passkey/options", {}, { jar }));
    const { credential, response } = await createCredential({ publicKey: options });
    const added = await postJson("/account/passkey", { credential: response }, { jar });
    expect(added.status).toBe(200);
    expect(await (await open("/account", { jar })).text()).toContain("Created");

    const { res, jar: fresh, assertion } = await passkeySignIn(credential);
    expect(res.status).toBe(200);
    const to = new URL((await json(res)).redirect);
    expect(`${to.origin}${to.pathname}`).toBe(APP);
    expect(to.searchParams.get("hanko_token")).toBeTruthy();
    expect(fresh.cookies.has("latchkey_pages")).toBe(true);
    // The challenge works once, even for parallel submissions of one assertion.
    const again = await postJson("/login/passkey", { credential: assertion });
    expect(again.status).toBe(401);
    const opts2 = await json(await postJson("/login/passkey/options", {}));
    const second = await getAssertion({ publicKey: opts2 }, credential);
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => postJson("/login/passkey", { credential: second })),
    );
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
    expect(u.userId).toBeTruthy();
  });

  it("refuses the passkey routes cross-site", async () => {
    const { jar } = await signedIn();
    const res = await submit("/account/logout", {}, { jar, headers: { origin: "https://evil.example" } });
    expect(res.status).toBe(403);
    expect((await open("/account", { jar })).status).toBe(200);
  });
});

describe("HEAD on the pages a mailed link opens", () => {
  it("spends nothing: the link still signs in after a scanner's HEAD", async () => {
    const email = uniqueEmail();
    await submit("/register", { email, password: PASSWORD });
    const link = /https?:\/\/\S+\/verify\?\S+/.exec((await lastMail(email, "activation")).text)![0];
    expect((await open(local(link), { headers: {} })).status).toBe(200);
    const head = await call(local(link), { method: "HEAD" });
    expect(head.status).toBe(200);
    const html = await (await open(local(link))).text();
    const res = await submit("/verify", { kind: "activation", ticket: hiddenValue(html, "ticket") });
    expect(res.status).toBe(303);
  });
});

describe("the passkey JSON routes", () => {
  it("answer a malformed body with a JSON 4xx, never a 500", async () => {
    for (const body of [{}, { credential: "x" }, { credential: { id: 1, response: null } }]) {
      const res = await postJson("/login/passkey", body);
      expect(res.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(res.status, JSON.stringify(body)).toBeLessThan(500);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    }
  });
});
