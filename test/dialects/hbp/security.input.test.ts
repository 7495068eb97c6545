/**
 * Hostile input: bad JSON, wrong content types, oversized bodies and odd Unicode addresses get a
 * clear 4xx and leave nothing behind (no user row, no mail). Magic links never hand the requester
 * a session.
 */
import { describe, expect, it } from "vitest";
import {
  AUTO,
  activeUser,
  call,
  expectBoom,
  json,
  lastMail,
  outbox,
  PASSWORD,
  refreshCookie,
  uniqueEmail,
  usersWithEmail,
} from "./helpers";

/** Nothing was written for this address, and it can still register normally. */
async function expectUntouched(email: string) {
  expect(await usersWithEmail(email)).toBe(0);
  expect(await outbox(email)).toEqual([]);
  const res = await call("/auth/register", { json: { email, password: PASSWORD }, vars: AUTO });
  expect(res.status).toBe(200);
}

const raw = (body: BodyInit, contentType?: string, path = "/auth/register") =>
  call(path, { method: "POST", body, headers: contentType ? { "content-type": contentType } : {} });

describe("bodies", () => {
  it("invalid JSON is 400", async () => {
    const email = uniqueEmail();
    await expectBoom(
      await raw(`{"email":"${email}","password":"${PASSWORD}"`, "application/json"),
      400,
      "The body is not valid JSON.",
    );
    await expectUntouched(email);
  });

  it("JSON that is not an object is 400", async () => {
    for (const body of ["[]", "null", "42", '"text"'])
      await expectBoom(await raw(body, "application/json"), 400, "The body must be a JSON object.");
  });

  it("invalid UTF-8 is 400", async () => {
    const bytes = new Uint8Array([0x7b, 0x22, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    await expectBoom(await raw(bytes, "application/json"), 400, "The body is not valid UTF-8.");
  });

  it("wrong content types are 415", async () => {
    const email = uniqueEmail();
    const body = JSON.stringify({ email, password: PASSWORD });
    for (const type of ["text/plain", "multipart/form-data; boundary=x", "application/xml", undefined])
      await expectBoom(
        await raw(body, type),
        415,
        "Send application/json or application/x-www-form-urlencoded.",
      );
    await expectUntouched(email);
  });

  it("JSON with a charset parameter is accepted", async () => {
    const email = uniqueEmail();
    const res = await call("/auth/register", {
      method: "POST",
      body: JSON.stringify({ email, password: PASSWORD }),
      headers: { "content-type": "application/json; charset=utf-8" },
      vars: AUTO,
    });
    expect(res.status).toBe(200);
    for (const type of ["application/json;charset=UTF-8", 'application/json; charset="utf-8"']) {
      const other = uniqueEmail();
      const body = JSON.stringify({ email: other, password: PASSWORD });
      const r = await call("/auth/register", {
        method: "POST",
        body,
        headers: { "content-type": type },
        vars: AUTO,
      });
      expect(r.status, type).toBe(200);
    }
  });

  it("JSON declared in a charset other than UTF-8 is 415", async () => {
    const email = uniqueEmail();
    const body = JSON.stringify({ email, password: PASSWORD });
    for (const charset of ["iso-8859-1", "utf-16", "UTF-16LE", '"windows-1252"', "us-ascii"])
      await expectBoom(
        await raw(body, `application/json; charset=${charset}`),
        415,
        "Send application/json or application/x-www-form-urlencoded.",
      );
    await expectUntouched(email);
  });

  it("a body over MAX_BODY_BYTES is 413", async () => {
    const email = uniqueEmail();
    const body = JSON.stringify({ email, password: PASSWORD, user_data: { pad: "x".repeat(17 * 1024) } });
    await expectBoom(await raw(body, "application/json"), 413, "Request body is too large.");
    await expectUntouched(email);
  });

  it("a declared Content-Length over the cap is refused before reading", async () => {
    const res = await call("/auth/login", {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json", "content-length": String(10 * 1024 * 1024) },
    });
    expect(res.status).toBe(413);
  });

  it("an endless streamed body is cut off at the cap", async () => {
    const chunk = new TextEncoder().encode(`{"pad":"${"x".repeat(1000)}`);
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    await expectBoom(
      await raw(endless, "application/json", "/auth/login"),
      413,
      "Request body is too large.",
    );
    expect(sent).toBeLessThan(1024 * 1024);
  });

  it("an empty body is validated as {}", async () => {
    await expectBoom(await raw("", "application/json"), 400, '"email" is required');
  });

  it("a wrong field type is 400 and writes nothing", async () => {
    const email = uniqueEmail();
    await expectBoom(
      await call("/auth/register", { json: { email, password: PASSWORD, user_data: "nope" } }),
      400,
      '"user_data" must be of type object',
    );
    await expectUntouched(email);
  });
});

describe("odd Unicode addresses", () => {
  const INVALID = "A valid email address is required.";
  const cases: [string, (e: string) => string][] = [
    ["a zero-width space", (e) => e.replace("@", "\u200b@")],
    ["a zero-width joiner in the domain", (e) => e.replace("example", "exa\u200dmple")],
    ["a right-to-left override", (e) => `\u202e${e}`],
    ["a Cyrillic look-alike", (e) => e.replace("e", "\u0435")],
    ["a combining accent", (e) => e.replace("@", "e\u0301@")],
    ["a NUL byte", (e) => e.replace("@", "\u0000@")],
    ["a header injection", (e) => `${e}\r\nBcc: victim@example.com`],
    ["a lone surrogate", (e) => e.replace("@", "\ud800@")],
  ];
  for (const [what, mangle] of cases) {
    it(`${what}: 400, no user, no mail`, async () => {
      const clean = uniqueEmail();
      await expectBoom(
        await call("/auth/register", { json: { email: mangle(clean), password: PASSWORD }, vars: AUTO }),
        400,
        INVALID,
      );
      await expectBoom(
        await call("/auth/change-password/request", { json: { email: mangle(clean) } }),
        400,
        INVALID,
      );
      await expectUntouched(clean);
    });
  }

  it("fullwidth forms fold (NFKC) to the ASCII address: one account, mail to the ASCII address", async () => {
    const clean = uniqueEmail();
    const fullwidth = [...clean]
      .map((ch) => (ch >= "!" && ch <= "~" ? String.fromCharCode(ch.charCodeAt(0) + 0xfee0) : ch))
      .join("");
    expect(fullwidth).not.toBe(clean);
    const res = await call("/auth/register", { json: { email: fullwidth, password: PASSWORD } });
    expect(res.status).toBe(200);
    expect((await json(res)).user.email).toBe(clean);
    expect((await lastMail(clean, "activation")).to).toBe(clean);
    // No look-alike twin: the ASCII address is the same account.
    await expectBoom(
      await call("/auth/register", {
        json: { email: clean, password: PASSWORD },
        vars: { ACCOUNT_EXISTENCE_HINTS: "true" },
      }),
      400,
      "Account already exists.",
    );
    expect(await usersWithEmail(clean)).toBe(1);
  });
});

describe("magic links never hand the requester a session", () => {
  const vars = { MAGIC_LINK_ENABLED: "true", ...AUTO };

  it("the log-in request answers {magicLink:true} only; the mailed token is not a refresh token", async () => {
    const s = await activeUser();
    const res = await call("/auth/login", { json: { email: s.email, cookie: false }, vars });
    expect(await json(res)).toEqual({ magicLink: true });
    expect(refreshCookie(res)).toBeNull();
    const { token } = (await lastMail(s.email, "magic_link")).data;
    await expectBoom(
      await call(`/auth/token/refresh?refresh_token=${encodeURIComponent(token!)}`),
      401,
      "Invalid or expired refresh token.",
    );
    await expectBoom(
      await call("/auth/token/refresh", { headers: { cookie: `refresh_token=${token}` } }),
      401,
      "Invalid or expired refresh token.",
    );
  });

  it("the passwordless registration answers no session, even with AUTO_ACTIVATE_NEW_USERS", async () => {
    const email = uniqueEmail();
    const res = await call("/auth/register", { json: { email, cookie: false }, vars });
    const body = await json(res);
    expect(body.jwt_token).toBeNull();
    expect(body).not.toHaveProperty("refresh_token");
    expect(refreshCookie(res)).toBeNull();
    // And the account is not usable before the link is opened.
    const { token } = (await lastMail(email, "magic_link")).data;
    expect((await call(`/auth/token/refresh?refresh_token=${encodeURIComponent(token!)}`)).status).toBe(401);
  });
});

describe("a sign-up whose first mail cannot be sent", () => {
  // The mail API is down: nothing listens on the discard port of the loopback address.
  const down = { MAIL_TRANSPORT: "http", MAIL_HTTP_KEY: "test-key", MAIL_HTTP_URL: "http://127.0.0.1:9/" };

  it("leaves no account behind, so the sign-up can be retried", async () => {
    const email = uniqueEmail();
    const res = await call("/auth/register", { json: { email, password: PASSWORD }, vars: down });
    expect(res.status).toBe(500);
    expect(await usersWithEmail(email)).toBe(0);
    const again = await call("/auth/register", { json: { email, password: PASSWORD } });
    expect(again.status).toBe(200);
    expect((await lastMail(email, "activation")).data.ticket).toEqual(expect.any(String));
  });

  it("the same for a passwordless (magic-link) sign-up", async () => {
    const email = uniqueEmail();
    const vars = { MAGIC_LINK_ENABLED: "true" };
    expect((await call("/auth/register", { json: { email }, vars: { ...vars, ...down } })).status).toBe(500);
    expect(await usersWithEmail(email)).toBe(0);
    expect((await call("/auth/register", { json: { email }, vars })).status).toBe(200);
  });
});
