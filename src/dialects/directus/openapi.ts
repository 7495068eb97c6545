/** What the Directus OpenAPI document says about the API as a whole, and the bodies its routes answer. */
import { z } from "zod";
import { BEARER_SCHEME, type DocInfo } from "../shared/openapi";

/** tokensBody (present.ts): which fields are there depends on `mode`. */
export const tokensResponse = z.object({
  data: z.object({
    access_token: z.string().optional().describe("json and cookie modes"),
    expires: z.number().describe("milliseconds"),
    refresh_token: z.string().optional().describe("json mode only"),
  }),
});

export const providersResponse = z.object({ data: z.array(z.string()) });
export const providerListResponse = z.object({
  data: z.array(z.object({ name: z.string(), driver: z.string(), icon: z.null(), label: z.string() })),
  disableDefault: z.boolean(),
});
export const meResponse = z.object({ data: z.record(z.string(), z.unknown()) });
export const tfaSecretResponse = z.object({
  data: z.object({ secret: z.string(), otpauth_url: z.string() }),
});

export const DIRECTUS_DOC: DocInfo = {
  title: "Latchkey: Directus authentication API",
  version: "9-11",
  description:
    "Directus authentication (api/directus-auth.txt) and /users/me, as @directus/sdk 26 and the 9.x SDK call them. See docs/directus.md.",
  bodyTypes: ["application/json"],
  securitySchemes: {
    bearer: BEARER_SCHEME,
    refresh: {
      type: "apiKey",
      in: "cookie",
      name: "directus_refresh_token",
      description: "The refresh-token cookie of `mode: cookie`.",
    },
    session: {
      type: "apiKey",
      in: "cookie",
      name: "directus_session_token",
      description: "The session cookie of `mode: session`.",
    },
  },
  errorBody: z.object({
    errors: z.array(
      z.object({
        message: z.string(),
        extensions: z.object({ code: z.string(), reason: z.string().optional() }),
      }),
    ),
  }),
};
