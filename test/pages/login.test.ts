/** Hosted sign-in: the login page, password, passcode and TOTP steps, the handover, CSP, CSRF. */
import { describe, expect, it } from "vitest";
import { activeUser, json, PASSWORD, totpCode } from "../dialects/hbp/helpers";
import { call, uniqueEmail } from "../support/app";
import { ALLOW, APP, hiddenValue, Jar, lastMail, open, submit } from "./support";

describe("GET /login", () => {
  it("is an HTML page with a strict nonce CSP whose nonce its one style and script carry", async () => {
    const res = await open("/login");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = res.headers.get("content-security-policy")!;
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    for (const d of [
      "default-src 'none'",
      `style-src 'nonce-${nonce}'`,
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ])
      expect(csp).toContain(d);
    const html = await res.text();
    expect(html).toContain(`<script nonce="${nonce}"`);
    expect(html).toContain(`<style nonce="${nonce}">`);
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).toContain('autocomplete="username webauthn"');
    expect(html).toContain('<html lang="en">');
  });

  it("answers in the language of Accept-Language, and of ?lang= (remembered in a cookie)", async () => {
    const de = await (await open("/login", { headers: { "accept-language": "de-CH,de;q=0.9" } })).text();
    expect(de).toContain('<html lang="de">');
    expect(de).toContain("Bei Ihrem Konto anmelden");
    const jar = new Jar();
    const fr = await open("/login?lang=fr", { jar });
    expect(await fr.text()).toContain("Connexion à votre compte");
    expect(await (await open("/login", { jar })).text()).toContain('<html lang="fr">');
  });

  it("lets the form post to an allowed redirect_to's origin, and ignores one not allowed", async () => {
    const ok = await open(`/login?redirect_to=${encodeURIComponent(APP)}`, { vars: ALLOW });
    expect(ok.headers.get("content-security-policy")).toContain(
      "form-action 'self' https://app.example.com;",
    );
    expect(hiddenValue(await ok.text(), "redirect_to")).toBe(APP);
    const evil = await open(`/login?redirect_to=${encodeURIComponent("https://evil.example/x")}`, {
      vars: ALLOW,
    });
    expect(evil.headers.get("content-security-policy")).toContain("form-action 'self';");
    expect(await evil.text()).not.toContain("evil.example");
  });
});

describe("POST /login with a password", () => {
  it("refuses a cross-site post (403) before looking at the credentials", async () => {
    const u = await activeUser();
    const res = await submit(
      "/login",
      { email: u.email, password: PASSWORD, method: "password" },
      { headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" } },
    );
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it("shows the form again with the error tied to the fields (401)", async () => {
    const u = await activeUser();
    const res = await submit("/login", { email: u.email, password: "wrong password!", method: "password" });
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain(
      '<p id="form-error" class="error" role="alert">The address or the password is wrong.</p>',
    );
    expect(html).toMatch(/id="f-email"[^>]*aria-describedby="form-error"[^>]*aria-invalid="true"/);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it("sets the page session cookie and offers a passkey; continuing hands over a one-time hanko_token", async () => {
    const u = await activeUser();
    const jar = new Jar();
    const res = await submit(
      "/login",
      { email: u.email, password: PASSWORD, method: "password", redirect_to: APP },
      { jar, vars: ALLOW },
    );
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/account/passkey?redirect_to=${encodeURIComponent(APP)}`);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("latchkey_pages="))!;
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\//);

    const offer = await open(`/account/passkey?redirect_to=${encodeURIComponent(APP)}`, { jar, vars: ALLOW });
    expect(offer.status).toBe(200);
    expect(await offer.text()).toContain("data-passkey-create");

    const cont = await submit("/login/continue", { redirect_to: APP }, { jar, vars: ALLOW });
    expect(cont.status).toBe(303);
    const to = new URL(cont.headers.get("location")!);
    expect(`${to.origin}${to.pathname}`).toBe(APP);
    const value = to.searchParams.get("hanko_token")!;
    // The app exchanges it at Hanko's POST /token, once.
    const exchanged = await call("/token", { json: { value } });
    expect(exchanged.status).toBe(200);
    expect(exchanged.headers.get("x-auth-token")).toBeTruthy();
    expect(await json(exchanged)).toEqual({ user_id: u.userId });
    expect((await call("/token", { json: { value } })).status).toBe(404);
  });

  it("hands over to the account page when redirect_to is not allowed", async () => {
    const u = await activeUser();
    const jar = new Jar();
    await submit("/login", { email: u.email, password: PASSWORD, method: "password" }, { jar });
    const cont = await submit(
      "/login/continue",
      { redirect_to: "https://evil.example/" },
      { jar, vars: ALLOW },
    );
    expect(cont.status).toBe(303);
    expect(cont.headers.get("location")).toBe("/account");
  });

  it("asks for the TOTP code when the account has it, and spends the MFA ticket once", async () => {
    const u = await activeUser();
    const gen = await json(await call("/auth/mfa/generate", { json: {}, token: u.jwt }));
    const enable = await call("/auth/mfa/enable", { json: { code: totpCode(gen.otp_secret) }, token: u.jwt });
    expect(enable.status).toBe(204);
    const res = await submit("/login", { email: u.email, password: PASSWORD, method: "password" });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Two-step verification");
    const ticket = hiddenValue(html, "ticket");
    const wrong = await submit("/login/totp", { ticket, code: "000000" });
    expect([401, 200]).toContain(wrong.status);
    const code = totpCode(gen.otp_secret, 1);
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => submit("/login/totp", { ticket, code })),
    );
    expect(answers.filter((r) => r.status === 303)).toHaveLength(1);
  });
});

describe("POST /login with an emailed passcode", () => {
  it("mails a code; the code signs in exactly once under parallel submissions", async () => {
    const u = await activeUser();
    const res = await submit("/login", { email: u.email, method: "code" });
    expect(res.status).toBe(200);
    const id = hiddenValue(await res.text(), "id");
    const code = (await lastMail(u.email, "passcode")).data.code!;
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => submit("/login/code", { id, email: u.email, code })),
    );
    const won = answers.filter((r) => r.status === 303);
    expect(won).toHaveLength(1);
    expect(won[0]!.headers.getSetCookie().some((c) => c.startsWith("latchkey_pages="))).toBe(true);
  });

  it("answers an unknown address exactly as a known one (hints off)", async () => {
    const res = await submit("/login", { email: uniqueEmail(), method: "code" });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Check your email");
    const wrong = await submit("/login/code", { id: hiddenValue(html, "id"), code: "123456" });
    expect(wrong.status).toBe(401);
  });
});

describe("PAGES_PREFIX", () => {
  it("moves every page under the prefix and frees the root paths", async () => {
    const vars = { PAGES_PREFIX: "/id" };
    expect((await open("/id/login", { vars })).status).toBe(200);
    expect((await open("/login", { vars })).status).toBe(404);
    const u = await activeUser();
    const res = await submit(
      "/id/login",
      { email: u.email, password: PASSWORD, method: "password" },
      { vars },
    );
    expect(res.headers.get("location")).toBe("/id/account/passkey");
    expect(res.headers.getSetCookie()[0]).toMatch(/; Path=\/id\//);
  });
});
