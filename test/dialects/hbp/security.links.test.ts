/**
 * Links a mail scanner or a link preview opens before the user: HEAD never spends a single-use
 * link or hands out a token. Activation and magic links stay GETs (api/hbp.txt fixes them as
 * redirects carrying the refresh token); the email-change link only shows a page whose button
 * POSTs, so neither HEAD nor GET spends it. Every answer carries Referrer-Policy: no-referrer.
 */
import { describe, expect, it } from "vitest";
import { confirmForm, confirmLink } from "../../support/links";
import { activeUser, call, json, lastMail, PASSWORD, refreshCookie, uniqueEmail } from "./helpers";

const SUCCESS = "https://app.example.com/welcome";
const vars = { REDIRECT_URL_SUCCESS: SUCCESS, MAGIC_LINK_ENABLED: "true" };
const path = (link: string) => new URL(link).pathname + new URL(link).search;

/** A HEAD answer that names no token, sets no cookie and redirects nowhere. */
function expectHarmless(res: Response) {
  expect(res.status).toBe(200);
  expect(res.headers.get("location")).toBeNull();
  expect(res.headers.get("set-cookie")).toBeNull();
  expect(res.headers.get("referrer-policy")).toBe("no-referrer");
}

describe("HEAD on hbp links", () => {
  it("HEAD /auth/activate neither activates nor hands out a token; the GET then does", async () => {
    const email = uniqueEmail();
    expect((await call("/auth/register", { json: { email, password: PASSWORD }, vars })).status).toBe(200);
    const { link } = (await lastMail(email, "activation")).data;
    for (let i = 0; i < 3; i++) expectHarmless(await call(path(link!), { method: "HEAD", vars }));
    // Still not activated.
    expect((await call("/auth/login", { json: { email, password: PASSWORD } })).status).toBe(400);
    const res = await call(path(link!), { vars });
    expect(res.status).toBe(302);
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(new URL(res.headers.get("location")!).searchParams.get("refresh_token")).toMatch(/^[\w-]{40,}$/);
  });

  it("HEAD /auth/magic-link neither signs in nor spends the link", async () => {
    const s = await activeUser();
    await call("/auth/login", { json: { email: s.email }, vars });
    const { link } = (await lastMail(s.email, "magic_link")).data;
    expectHarmless(await call(path(link!), { method: "HEAD", vars }));
    const res = await call(path(link!), { vars });
    expect(res.status).toBe(302);
    expect(refreshCookie(res)).toMatch(/^[\w-]{40,}$/);
  });

  it("HEAD /auth/token/refresh neither rotates nor hands out a token", async () => {
    const s = await activeUser();
    expectHarmless(await call(`/auth/token/refresh?refresh_token=${s.refresh}`, { method: "HEAD" }));
    expectHarmless(
      await call("/auth/token/refresh", {
        method: "HEAD",
        headers: { cookie: `refresh_token=${s.refresh}` },
      }),
    );
    // The token was not rotated: with no grace window, a rotated token would now end the session.
    const r = await call(`/auth/token/refresh?refresh_token=${s.refresh}`, {
      vars: { REFRESH_REUSE_GRACE: "0" },
    });
    expect(r.status).toBe(200);
    expect((await json(r)).user.email).toBe(s.email);
  });
});

describe("the email-change link", () => {
  it("HEAD and GET only show a page; its button confirms (303 to REDIRECT_URL_SUCCESS)", async () => {
    const s = await activeUser();
    const next = uniqueEmail("new");
    expect(
      (await call("/auth/change-email/request", { json: { new_email: next }, token: s.jwt })).status,
    ).toBe(204);
    const { link, ticket } = (await lastMail(next, "email_change")).data;
    expectHarmless(await call(path(link!), { method: "HEAD", vars }));
    const page = await call(path(link!), { vars });
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(await confirmForm(page)).toEqual({
      action: "http://localhost:8787/auth/change-email/confirm",
      fields: { ticket },
    });
    // Opening the link changed nothing.
    expect((await call("/auth/login", { json: { email: s.email, password: PASSWORD } })).status).toBe(200);
    const done = await confirmLink(link!, vars);
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toBe(SUCCESS);
    expect((await call("/auth/login", { json: { email: next, password: PASSWORD } })).status).toBe(200);
    // Once only.
    const again = await call("/auth/change-email/confirm", { form: { ticket: ticket! }, vars });
    expect(again.status).toBe(401);
    const toError = await call("/auth/change-email/confirm", {
      form: { ticket: ticket! },
      vars: { ...vars, REDIRECT_URL_ERROR: "https://app.example.com/oops" },
    });
    expect(toError.status).toBe(303);
    expect(toError.headers.get("location")).toBe("https://app.example.com/oops");
  });

  it("the page escapes what it echoes", async () => {
    const res = await call(`/auth/change-email/change?ticket=${encodeURIComponent('"><script>x</script>')}`);
    const html = await res.text();
    expect(html).not.toContain("<script>");
    expect(html).toContain("&#34;&#62;&#60;script&#62;");
  });
});
