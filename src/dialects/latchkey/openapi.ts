/** What the Latchkey API's OpenAPI document says about the API as a whole. */
import { BEARER_SCHEME, type DocInfo } from "../shared/openapi";
import { v1ErrorBody } from "./errors";

export const V1_DOC: DocInfo = {
  title: "Latchkey API",
  version: "1",
  description:
    "Latchkey's own API beside the five dialects: account security for signed-in users and the admin API. Access tokens from any dialect are accepted; /v1/admin/* also takes the service key (ADMIN_API_KEY).",
  bodyTypes: ["application/json"],
  securitySchemes: {
    bearer: BEARER_SCHEME,
    serviceKey: { type: "http", scheme: "bearer", description: "ADMIN_API_KEY (admin routes only)." },
  },
  errorBody: v1ErrorBody,
};
