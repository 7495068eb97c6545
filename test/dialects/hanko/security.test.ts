/**
 * Hanko dialect security: login CSRF and cross-site use of the `hanko` cookie. Every route that
 * sets the cookie, and every request authenticated by it (reads included), refuses a foreign Origin
 * (or, without Origin, Sec-Fetch-Site cross-site/same-site) with 403 `{code, message}`. Bearer
 * tokens and non-browser clients are not affected.
 */
import { describe, expect, it } from "vitest";
import { call, uniqueEmail } from "../../support/app";
import { hcall, json, latestPasscode, OPEN, signUp } from "./support";

const EVIL = "https://evil.example";
const FORBIDDEN = { code: 403, message: "Forbidden" };
const CROSS_SITE: Record<string, string>[] = [
  { origin: EVIL },
  { "sec-fetch-site": "cross-site" },
  { "sec-fetch-site": "same-site" },
];

async function expectRefused(res: Response) {
  expect({ status: res.status, body: await json(res) }).toEqual({ status: 403, body: FORBIDDEN });
  expect(res.headers.get("set-cookie")).toBeNull();
  expect(res.headers.get("x-auth-token")).toBeNull();
}

describe("hanko: cross-site requests", () => {
  it("a cross-site POST /password/login is 403 and hands out no session", async () => {
    const { userId, token } = await signUp();
    const pw = "correct horse battery staple";
    expect(
      (await hcall("/password", { method: "PUT", token, json: { user_id: userId, password: pw } })).status,
    ).toBe(201);
    for (const headers of CROSS_SITE)
      await expectRefused(
        await hcall("/password/login", { json: { user_id: userId, password: pw }, headers }),
      );
    // From the Worker's own origin, a CORS_ORIGINS origin or a non-browser client it works.
    const vars = { ...OPEN, CORS_ORIGINS: "http://localhost:5173" };
    for (const headers of [
      { origin: "http://localhost:8787" },
      { origin: "http://localhost:5173" },
      {},
    ] as Record<string, string>[]) {
      const res = await call("/password/login", { json: { user_id: userId, password: pw }, headers, vars });
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect(res.headers.get("x-auth-token")).toMatch(/^ey/);
    }
  });

  it("a cross-site sign-up (POST /users) is 403 and creates nothing", async () => {
    const email = uniqueEmail("csrf");
    await expectRefused(await hcall("/users", { json: { email }, headers: { origin: EVIL } }));
    expect((await hcall("/user", { json: { email } })).status).toBe(404);
  });

  it("a cross-site POST /passcode/login/finalize is 403 and leaves the passcode usable", async () => {
    const { userId, email } = await signUp();
    const init = await hcall("/passcode/login/initialize", { json: { user_id: userId } });
    expect(init.status).toBe(200);
    const { id } = await json(init);
    const code = await latestPasscode(email);
    await expectRefused(
      await hcall("/passcode/login/finalize", { json: { id, code }, headers: { origin: EVIL } }),
    );
    const ok = await hcall("/passcode/login/finalize", { json: { id, code } });
    expect(ok.status).toBe(200);
  });

  it("cross-site POST /token and /webauthn/login/finalize are 403", async () => {
    await expectRefused(await hcall("/token", { json: { value: "x" }, headers: { origin: EVIL } }));
    await expectRefused(await hcall("/webauthn/login/finalize", { json: {}, headers: { origin: EVIL } }));
  });

  it("the cookie is refused on cross-site reads too; a bearer token is not", async () => {
    const { token, userId } = await signUp();
    for (const headers of CROSS_SITE)
      for (const path of ["/me", `/users/${userId}`, "/emails", "/webauthn/credentials"])
        await expectRefused(await hcall(path, { headers: { ...headers, cookie: `hanko=${token}` } }));
    expect(
      (await hcall("/me", { headers: { "sec-fetch-site": "same-origin", cookie: `hanko=${token}` } })).status,
    ).toBe(200);
    expect((await hcall("/me", { token, headers: { origin: EVIL } })).status).toBe(200);
  });
});

describe("hanko: WWW-Authenticate on 401s (RFC 6750 §3)", () => {
  it("bare Bearer without a session, invalid_token for a bad bearer token, none for a wrong password", async () => {
    expect((await hcall("/me")).headers.get("www-authenticate")).toBe("Bearer");
    const bad = await hcall("/me", { token: "a.b.c" });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toBe(
      'Bearer error="invalid_token", error_description="The access token is invalid"',
    );
    const { userId } = await signUp();
    const pw = await hcall("/password/login", { json: { user_id: userId, password: "nope nope nope" } });
    expect(pw.status).toBe(401);
    expect(pw.headers.get("www-authenticate")).toBeNull();
  });
});
