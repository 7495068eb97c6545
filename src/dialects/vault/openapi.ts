/** What the vault OpenAPI document says about the API as a whole, and the bodies its routes answer. */
import { z } from "zod";
import { BEARER_SCHEME, type DocInfo } from "../shared/openapi";

export const tokensResponse = z.object({
  userToken: z.string().describe("the access token (ACCESS_TOKEN_TTL), accepted by every dialect"),
  vaultToken: z
    .string()
    .nullable()
    .describe("scoped to the user's default team; null until the address is verified"),
});
export const statusResponse = z.object({ status: z.literal("ok") });
export const existsResponse = z.boolean().describe("always false while ACCOUNT_EXISTENCE_HINTS is off");

export const VAULT_DOC: DocInfo = {
  title: "Latchkey: vault API",
  version: "1",
  description: "The userToken + vaultToken API of api/vault.txt. See docs/vault.md.",
  bodyTypes: ["application/json"],
  securitySchemes: { bearer: BEARER_SCHEME },
  errorBody: z.object({ statusCode: z.number(), error: z.string(), message: z.string() }),
};
