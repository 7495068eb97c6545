/**
 * The account page's sessions (list, end one, end all others) and TOTP recovery codes (count, a
 * new set for a current TOTP code, shown once): the same core services as /v1, plain form posts
 * with the pages' CSRF rule.
 */
import { describe, expect, it } from "vitest";
import { activeUser, call, json, PASSWORD, type Session, totpCode, wrongCode } from "../dialects/hbp/helpers";
import { freshIp } from "../support/app";
import { testClock } from "../support/clock";
import { hiddenValue, Jar, open, submit } from "./support";

const FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/** A page session of `u` signed in with the password from a browser with `ua` at `ip`. */
async function pageSignIn(u: Session, ua = FIREFOX, ip = freshIp()) {
  const jar = new Jar();
  const res = await submit(
    "/login",
    { email: u.email, password: PASSWORD, method: "password" },
    { jar, ip, headers: { "user-agent": ua } },
  );
  expect(res.status).toBe(303);
  return jar;
}

const accountHtml = async (jar: Jar, at = "/account") => {
  const res = await open(at, { jar });
  expect(res.status).toBe(200);
  return res.text();
};

/** The session ids the page offers to end (every session but this device's). */
const endable = (html: string) =>
  [
    ...html.matchAll(/action="\/account\/sessions\/end"><input type="hidden" name="id" value="([^"]+)">/g),
  ].map((m) => m[1]!);

const sessionsOf = async (u: Session) =>
  (await json(await call("/v1/sessions", { token: u.jwt }))).sessions as { id: string; current: boolean }[];

describe("the account page's sessions", () => {
  it("lists only the user's own live sessions, this device marked and not endable", async () => {
    const u = await activeUser();
    const other = await activeUser();
    await pageSignIn(other);
    await pageSignIn(u, SAFARI, "198.51.100.23");
    const jar = await pageSignIn(u, FIREFOX, "203.0.113.9");
    const html = await accountHtml(jar);
    const items = html.match(/<li data-session/g) ?? [];
    // The sign-up's API session, the Safari page session and this one.
    expect(items).toHaveLength(3);
    expect(html).toMatch(
      /<li data-session data-current aria-current="true"><p><strong>Firefox on Windows<\/strong> <span class="badge">This device<\/span>/,
    );
    expect(html).toContain("<strong>Safari on iOS</strong>");
    expect(html).toContain("Network 198.51.100.0/24");
    expect(html).not.toContain("198.51.100.23");
    const ours = (await sessionsOf(u)).map((s) => s.id);
    const offered = endable(html);
    expect(offered).toHaveLength(2);
    for (const id of offered) expect(ours).toContain(id);
    const theirs = (await sessionsOf(other)).map((s) => s.id);
    for (const id of theirs) expect(html).not.toContain(id);
    expect(html).toContain('action="/account/sessions/end-others"');
  });

  it("ends one other session: its tokens stop working at once; the page says so", async () => {
    const u = await activeUser();
    const phone = await pageSignIn(u, SAFARI);
    const jar = await pageSignIn(u);
    const html = await accountHtml(jar);
    const phoneId = (await json(await call("/v1/sessions", { token: u.jwt }))).sessions.find(
      (s: { device: { label: string } }) => s.device.label === "Safari on iOS",
    ).id;
    expect(endable(html)).toContain(phoneId);
    const res = await submit("/account/sessions/end", { id: phoneId }, { jar });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/account?done=ended");
    const after = await accountHtml(jar, res.headers.get("location")!);
    expect(after).toContain("The session was ended.");
    expect(after).not.toContain(phoneId);
    // The phone's page session is gone: its account page sends it to sign in.
    const gone = await open("/account", { jar: phone });
    expect(gone.status).toBe(303);
    expect(gone.headers.get("location")).toBe("/login");
    // The API session of the sign-up lives on.
    expect((await call("/v1/sessions", { token: u.jwt })).status).toBe(200);
  });

  it("refuses another user's session id (404) and ends nothing", async () => {
    const u = await activeUser();
    const other = await activeUser();
    const jar = await pageSignIn(u);
    const theirId = (await sessionsOf(other))[0]!.id;
    const res = await submit("/account/sessions/end", { id: theirId }, { jar });
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("This session does not exist (any more).");
    expect((await call("/v1/sessions", { token: other.jwt })).status).toBe(200);
    const unknown = await submit("/account/sessions/end", { id: "nope" }, { jar });
    expect(unknown.status).toBe(404);
  });

  it("does not end this device's session from the list (that is signing out)", async () => {
    const u = await activeUser();
    const jar = await pageSignIn(u);
    const mine = (await json(await call("/v1/sessions", { token: u.jwt }))).sessions.find(
      (s: { current: boolean }) => !s.current,
    ).id;
    const res = await submit("/account/sessions/end", { id: mine }, { jar });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("To end the session on this device, sign out.");
    expect((await open("/account", { jar })).status).toBe(200);
  });

  it("signs out everywhere else: every other session ends, this one lives on", async () => {
    const u = await activeUser();
    const phone = await pageSignIn(u, SAFARI);
    const jar = await pageSignIn(u);
    const res = await submit("/account/sessions/end-others", {}, { jar });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/account?done=others-ended");
    const html = await accountHtml(jar, res.headers.get("location")!);
    expect(html).toContain("All other sessions were ended.");
    expect(html.match(/<li data-session/g)).toHaveLength(1);
    expect(html).not.toContain("/account/sessions/end-others");
    expect((await open("/account", { jar: phone })).status).toBe(303);
    expect((await call("/v1/sessions", { token: u.jwt })).status).toBe(401);
  });

  it("refuses cross-site posts (CSRF) and ends nothing", async () => {
    const u = await activeUser();
    const phone = await pageSignIn(u, SAFARI);
    const jar = await pageSignIn(u);
    const [phoneId] = endable(await accountHtml(jar));
    const cross = { origin: "https://evil.example", "sec-fetch-site": "cross-site" };
    const one = await submit("/account/sessions/end", { id: phoneId! }, { jar, headers: cross });
    expect(one.status).toBe(403);
    const all = await submit("/account/sessions/end-others", {}, { jar, headers: cross });
    expect(all.status).toBe(403);
    const codes = await submit("/account/recovery-codes", { code: "123456" }, { jar, headers: cross });
    expect(codes.status).toBe(403);
    expect((await open("/account", { jar: phone })).status).toBe(200);
    expect((await call("/v1/sessions", { token: u.jwt })).status).toBe(200);
  });

  it("sends a visitor without a page session to sign in", async () => {
    const res = await submit("/account/sessions/end-others", {});
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/login");
  });
});

/**
 * A user with TOTP on (enabled with the previous step's code) signed in on the page with the
 * current step's code, so the next step is free for a set of codes.
 */
async function withTotp() {
  const u = await activeUser();
  const { otp_secret: secret } = await json(await call("/auth/mfa/generate", { json: {}, token: u.jwt }));
  const en = await call("/auth/mfa/enable", { json: { code: totpCode(secret, -1) }, token: u.jwt });
  expect(en.status).toBe(204);
  const jar = new Jar();
  const signed = await signInWithSecondFactor(u, totpCode(secret), jar);
  expect(signed.status).toBe(303);
  return { u, secret, jar };
}

/** A page sign-in through the TOTP step with `code` (a TOTP or a recovery code). */
async function signInWithSecondFactor(u: Session, code: string, jar = new Jar()) {
  const first = await submit(
    "/login",
    { email: u.email, password: PASSWORD, method: "password" },
    { jar, ip: freshIp() },
  );
  const ticket = hiddenValue(await first.text(), "ticket");
  return submit("/login/totp", { ticket, code }, { jar, ip: freshIp() });
}

const shownCodes = (html: string) =>
  [...html.matchAll(/<li><code>([A-Z2-7]{5}-[A-Z2-7]{5})<\/code><\/li>/g)].map((m) => m[1]!);

describe("the account page's recovery codes", () => {
  it("appear only with TOTP on", async () => {
    const u = await activeUser();
    const html = await accountHtml(await pageSignIn(u));
    expect(html).not.toContain("Recovery codes");
    expect(html).not.toContain("/account/recovery-codes");
  });

  it("a current TOTP code makes 10 codes shown once; the old set is void; the count follows", async () => {
    const { u, secret, jar } = await withTotp();
    let html = await accountHtml(jar);
    expect(html).toContain('<h2 id="h-recovery">Recovery codes</h2>');
    expect(html).toContain("You have no unused recovery codes.");

    const made = await submit("/account/recovery-codes", { code: totpCode(secret, 1) }, { jar });
    expect(made.status).toBe(200);
    expect(made.headers.get("cache-control")).toBe("no-store");
    const old = shownCodes(await made.text());
    expect(old).toHaveLength(10);
    expect(new Set(old).size).toBe(10);

    // Never again: the account page shows the count, not the codes.
    html = await accountHtml(jar);
    expect(html).toContain("10 of 10 codes left.");
    for (const code of old) expect(html).not.toContain(code);
    // Posting the same form again (a reload) makes nothing: the TOTP code was spent.
    const again = await submit("/account/recovery-codes", { code: totpCode(secret, 1) }, { jar });
    expect(again.status).toBe(401);
    expect(shownCodes(await again.text())).toHaveLength(0);

    // A new set, from a later TOTP step: the old codes no longer sign in, the new ones do.
    // The next free step is 3 steps ahead of the real time: a clock moved there.
    const later = testClock(Date.now() + 90_000);
    const next = await submit(
      "/account/recovery-codes",
      { code: totpCode(secret, 3) },
      { jar, clock: later },
    );
    expect(next.status).toBe(200);
    const fresh = shownCodes(await next.text());
    expect(fresh).toHaveLength(10);
    for (const code of fresh) expect(old).not.toContain(code);
    expect((await signInWithSecondFactor(u, old[0]!)).status).toBe(401);
    expect((await signInWithSecondFactor(u, fresh[0]!)).status).toBe(303);
    expect(await accountHtml(jar)).toContain("9 of 10 codes left.");
  });

  it("refuses a wrong TOTP code (401, the field marked) and keeps the current set", async () => {
    const { u, secret, jar } = await withTotp();
    const made = await submit("/account/recovery-codes", { code: totpCode(secret, 1) }, { jar });
    const codes = shownCodes(await made.text());
    const wrong = await submit("/account/recovery-codes", { code: wrongCode(secret) }, { jar });
    expect(wrong.status).toBe(401);
    const html = await wrong.text();
    expect(html).toContain('<p id="form-error" class="error" role="alert">The code is wrong.</p>');
    expect(html).toContain('aria-invalid="true"');
    expect(shownCodes(html)).toHaveLength(0);
    // A recovery code is no TOTP code for making a set either.
    expect((await submit("/account/recovery-codes", { code: codes[1]! }, { jar })).status).toBe(401);
    expect(await accountHtml(jar)).toContain("10 of 10 codes left.");
    expect((await signInWithSecondFactor(u, codes[0]!)).status).toBe(303);
  });

  it("is refused for an account without TOTP and for a visitor without a page session", async () => {
    const u = await activeUser();
    const jar = await pageSignIn(u);
    const res = await submit("/account/recovery-codes", { code: "123456" }, { jar });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(shownCodes(await res.text())).toHaveLength(0);
    const anon = await submit("/account/recovery-codes", { code: "123456" });
    expect(anon.status).toBe(303);
  });
});
