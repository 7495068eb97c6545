/** What the formauth OpenAPI document says about the API as a whole, and the bodies its routes answer. */
import { z } from "zod";
import { BEARER_SCHEME, type DocInfo } from "../shared/openapi";

export const tokenPairResponse = z.object({
  access_token: z.string(),
  refresh_token: z.string().describe("a JWT; lives as long as REFRESH_TOKEN_IDLE_TTL"),
});
export const loginResponse = z.object({
  access_token: z.string().describe("with twoFactor: the two-factor token for /api/auth/two-factor"),
  refresh_token: z.string().nullable(),
  twoFactor: z.boolean(),
});
export const codeResponse = z.object({ code: z.string(), error: z.string() });

export const FORMAUTH_DOC: DocInfo = {
  title: "Latchkey: formauth API",
  version: "1",
  description:
    "The form-urlencoded auth API of api/formauth.txt (JSON bodies accepted too). See docs/formauth.md.",
  bodyTypes: ["application/x-www-form-urlencoded", "application/json"],
  securitySchemes: { bearer: BEARER_SCHEME },
  errorBody: codeResponse,
};
