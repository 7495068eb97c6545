/**
 * Validation messages as Directus words them: Joi's messages inside InvalidPayloadError
 * (`Invalid payload. <message>.`, extensions.reason = the message), since Directus apps show them.
 * Login is validated by Joi in Directus (api/src/auth/drivers/local.ts userLoginSchema).
 */
import { describe, it } from "vitest";
import { call, uniqueEmail } from "../../support/app";
import { PASSWORD } from "../hbp/helpers";
import { D, directusLogin, expectErrors } from "./helpers";

async function expectPayload(res: Response, reason: string) {
  await expectErrors(res, 400, "INVALID_PAYLOAD", `Invalid payload. ${reason}.`, reason);
}

describe("POST /auth/login validation", () => {
  it("email: malformed, missing, empty, not a string", async () => {
    for (const bad of ["not-an-email", "a@b", "a b@example.com", "@example.com", "user@", "user@example."])
      await expectPayload(
        await directusLogin({ email: bad, password: PASSWORD }),
        '"email" must be a valid email',
      );
    await expectPayload(await directusLogin({ password: PASSWORD }), '"email" is required');
    await expectPayload(
      await directusLogin({ email: "", password: PASSWORD }),
      '"email" is not allowed to be empty',
    );
    await expectPayload(await directusLogin({ email: 42, password: PASSWORD }), '"email" must be a string');
  });

  it("password: missing, empty, not a string", async () => {
    const email = uniqueEmail();
    await expectPayload(await directusLogin({ email }), '"password" is required');
    await expectPayload(
      await directusLogin({ email, password: "" }),
      '"password" is not allowed to be empty',
    );
    await expectPayload(await directusLogin({ email, password: 123 }), '"password" must be a string');
  });

  it("mode and otp", async () => {
    const email = uniqueEmail();
    await expectPayload(
      await directusLogin({ email, password: PASSWORD, mode: "jwt" }),
      '"mode" must be one of [cookie, json, session]',
    );
    await expectPayload(
      await directusLogin({ email, password: PASSWORD, otp: 123456 }),
      '"otp" must be a string',
    );
    await expectPayload(
      await directusLogin({ email, password: PASSWORD, otp: "" }),
      '"otp" is not allowed to be empty',
    );
  });

  it("reports the first failing field in Joi's order (email before password)", async () => {
    await expectPayload(
      await directusLogin({ email: "nope", password: 1, mode: "x" }),
      '"email" must be a valid email',
    );
  });
});

describe("POST /auth/refresh and /auth/logout validation", () => {
  it("refresh_token and mode", async () => {
    for (const path of ["/auth/refresh", "/auth/logout"]) {
      await expectPayload(
        await call(`${D}${path}`, { json: { refresh_token: 12 } }),
        '"refresh_token" must be a string',
      );
      await expectPayload(
        await call(`${D}${path}`, { json: { refresh_token: "x", mode: "jwt" } }),
        '"mode" must be one of [cookie, json, session]',
      );
    }
  });
});
