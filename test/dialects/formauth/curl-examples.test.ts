/**
 * api/formauth.txt's own curl examples, replayed byte for byte as form bodies (--data-urlencode).
 * The document's tokens were signed by another server, so they are refused here; each example is
 * then replayed with values this server issued.
 */
import { describe, expect, it } from "vitest";
import { call } from "../../support/app";
import { confirmLink } from "../../support/links";
import { json, lastMail, totpCode } from "../hbp/helpers";
import { A, expectError } from "./helpers";

const DOC_EMAIL = "user@mrdemonwolf.github.io";
const DOC_PASSWORD = "user@mrdemonwolf.github.io";
const DOC_ACCESS =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1ZjEwYjBkMjEwZDZhNzBiZTE0OTdkZTEiLCJpc3MiOiJodHRwczovL2ZlZmE0M2RkZDVjYi5uZ3Jvay5pbyIsImlhdCI6MTU5NDkyOTQzNSwiZXhwIjoxNTk0OTMxMjM1fQ.U5pH17a88I0LSSLzlA4N4pnelgbB3P8358rc_3CKh64";
const DOC_REFRESH =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1ZjRiZmYxMjEwMzdlNDI0YTE3YTNlYmMiLCJpYXQiOjE1OTkyNDE1OTMsImV4cCI6MTU5OTMyNzk5M30.QtOrs1kJyh7sWDt2Y0_VpPRyXYZcfK9W4SR-YsxCrHk";
const FORM = { "content-type": "application/x-www-form-urlencoded" };

/** `curl --request POST --header 'Content-Type: application/x-www-form-urlencoded' --data-urlencode ...` */
const curl = (path: string, fields: [string, string][], headers: Record<string, string> = {}) =>
  call(`${A}${path}`, {
    method: "POST",
    headers: { ...FORM, ...headers },
    body: fields.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&"),
  });

describe("the document's curl examples", () => {
  it("register -> login -> two-factor -> refresh -> logout", async () => {
    const reg = await curl("/register", [
      ["username", "usermrdemonwolfgithubio"],
      ["email", DOC_EMAIL],
      ["password", DOC_PASSWORD],
    ]);
    expect(await json(reg)).toEqual({
      code: "PENDING_CONFIRMATION",
      error: "Please confirm your email address to complete the registration.",
    });
    expect((await confirmLink((await lastMail(DOC_EMAIL, "activation")).data.link!)).status).toBe(303);

    // The document's login example sends "uuser@…", which is not the registered password.
    await expectError(
      await curl("/login", [
        ["email", DOC_EMAIL],
        ["password", "uuser@mrdemonwolf.github.io"],
      ]),
      401,
      "INVALID_CREDENTIALS",
      "Invalid email, username or password.",
    );
    const login = await json(
      await curl("/login", [
        ["email", DOC_EMAIL],
        ["password", DOC_PASSWORD],
      ]),
    );
    expect(login).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      twoFactor: false,
    });

    // Two-factor, first with the document's token, then for real.
    await expectError(
      await curl("/two-factor", [
        ["token", "qh8C0G8azJRUJmdn9jCiZNJ0pTLmBldoChcRvPgt31GEOD5sShmHzqn7ROCzqwU2"],
        ["code", "110450"],
      ]),
      401,
      "INVALID_TOKEN",
      "The token is invalid or has expired.",
    );
    const gen = await json(await call("/auth/mfa/generate", { json: {}, token: login.access_token }));
    await call("/auth/mfa/enable", {
      json: { code: totpCode(gen.otp_secret, -1) },
      token: login.access_token,
    });
    const step1 = await json(
      await curl("/login", [
        ["email", "usermrdemonwolfgithubio"],
        ["password", DOC_PASSWORD],
      ]),
    );
    expect(step1.twoFactor).toBe(true);
    const tf = await json(
      await curl("/two-factor", [
        ["token", step1.access_token],
        ["code", totpCode(gen.otp_secret)],
      ]),
    );
    expect(tf).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      twoFactor: true,
    });

    await expectError(
      await curl("/refresh", [["refresh_token", DOC_REFRESH]]),
      401,
      "INVALID_REFRESH_TOKEN",
      "The refresh token is invalid or has expired.",
    );
    const refreshed = await json(await curl("/refresh", [["refresh_token", tf.refresh_token]]));
    expect(refreshed).toEqual({ access_token: expect.any(String), refresh_token: expect.any(String) });

    await expectError(
      await curl("/logout", [], { authorization: `Bearer ${DOC_ACCESS}` }),
      401,
      "INVALID_TOKEN",
      "The token is invalid.",
    );
    const out = await curl("/logout", [], { authorization: `Bearer ${refreshed.access_token}` });
    expect(await json(out)).toEqual({ code: "LOGGED_OUT", error: "You are now logged out." });
  });
});
