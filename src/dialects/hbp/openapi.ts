/** What the hbp OpenAPI document says about the API as a whole, and the bodies its routes answer. */
import { z } from "zod";
import { BEARER_SCHEME, type DocInfo } from "../shared/openapi";

const user = z.object({
  id: z.string(),
  display_name: z.string().nullable(),
  email: z.string().nullable(),
  avatar_url: z.string().nullable(),
});

/** sessionBody (present.ts): `refresh_token` only with `cookie: false`. */
export const sessionResponse = z.object({
  jwt_token: z.string(),
  jwt_expires_in: z.number().describe("milliseconds"),
  refresh_token: z.string().optional().describe("only with cookie: false; else in the refresh_token cookie"),
  user,
});

export const pendingResponse = z.object({ jwt_token: z.null(), jwt_expires_in: z.null(), user });
export const mfaResponse = z.object({ mfa: z.literal(true), ticket: z.string() });
export const magicLinkResponse = z.object({ magicLink: z.literal(true) });
export const totpSetupResponse = z.object({ image_url: z.string(), otp_secret: z.string() });
export const jwksResponse = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });

/** The metadata object of api/hbp.txt (storage.ts presentFile). */
export const fileMetadata = z.object({
  key: z.string(),
  AcceptRanges: z.string(),
  LastModified: z.string(),
  ContentLength: z.number(),
  ETag: z.string(),
  ContentType: z.string(),
  Metadata: z.object({ token: z.string() }),
});

export const HBP_DOC: DocInfo = {
  title: "Latchkey: Hasura Backend Plus API",
  version: "2.x",
  description:
    "Hasura Backend Plus 2.x authentication and storage (api/hbp.txt), as nhost-js-sdk 3.1 calls it. See docs/hbp.md.",
  bodyTypes: ["application/json", "application/x-www-form-urlencoded"],
  securitySchemes: {
    bearer: BEARER_SCHEME,
    cookie: {
      type: "apiKey",
      in: "cookie",
      name: "permission_variables",
      description: "The session cookie of cookie mode (`cookie: true`, the default).",
    },
  },
  errorBody: z.object({ statusCode: z.number(), error: z.string(), message: z.string() }),
};
