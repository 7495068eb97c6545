/**
 * Core error codes -> Directus error responses: `{"errors":[{"message","extensions":{"code"}}]}`
 * with Directus's own codes, statuses and messages (packages/errors in directus/directus). The SDK
 * throws on any body with an `errors` key and shows `errors[0].message`.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AuthErrorCode } from "../../core/errors";
import { errorRenderer } from "../shared/kit";
import { REAUTHENTICATION_MESSAGE } from "../shared/snake-errors";

type Rendered = readonly [status: number, code: string, message: string];

const INVALID_CREDENTIALS: Rendered = [401, "INVALID_CREDENTIALS", "Invalid user credentials."];
const FORBIDDEN: Rendered = [403, "FORBIDDEN", "You don't have permission to access this."];
const REQUESTS_EXCEEDED: Rendered = [429, "REQUESTS_EXCEEDED", "Too many requests, retry later."];

export const DIRECTUS_ERRORS = {
  INVALID_REQUEST: [400, "INVALID_PAYLOAD", "Invalid payload."],
  UNSUPPORTED_MEDIA_TYPE: [415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported media type."],
  PAYLOAD_TOO_LARGE: [413, "CONTENT_TOO_LARGE", "Uploaded content is too large."],
  NOT_FOUND: [404, "ROUTE_NOT_FOUND", "Route doesn't exist."],
  FEATURE_DISABLED: [404, "ROUTE_NOT_FOUND", "Route doesn't exist."],
  // compat(directus): GET /users/me without a user throws InvalidCredentialsError.
  UNAUTHENTICATED: INVALID_CREDENTIALS,
  INVALID_TOKEN: [401, "INVALID_TOKEN", "Invalid token."],
  TOKEN_EXPIRED: [401, "TOKEN_EXPIRED", "Token expired."],
  FORBIDDEN,
  INVALID_CREDENTIALS,
  // Unknown accounts and unconfirmed ones look like a wrong password, as in Directus.
  ACCOUNT_NOT_FOUND: INVALID_CREDENTIALS,
  ACCOUNT_NOT_ACTIVE: INVALID_CREDENTIALS,
  ACCOUNT_DISABLED: [401, "USER_SUSPENDED", "User suspended."],
  ACCOUNT_EXISTS: [
    400,
    "RECORD_NOT_UNIQUE",
    'Value for field "email" in collection "directus_users" has to be unique.',
  ],
  EMAIL_IN_USE: [
    400,
    "RECORD_NOT_UNIQUE",
    'Value for field "email" in collection "directus_users" has to be unique.',
  ],
  SIGNUP_DISABLED: FORBIDDEN,
  PASSWORD_POLICY: [400, "FAILED_VALIDATION", "Provided password doesn't match password policy."],
  ROLE_NOT_ALLOWED: FORBIDDEN,
  INVALID_TICKET: [401, "INVALID_TOKEN", "Invalid token."],
  INVALID_REFRESH_TOKEN: INVALID_CREDENTIALS,
  INVALID_OTP: [401, "INVALID_OTP", "Invalid user OTP."],
  MFA_ALREADY_ENABLED: [400, "INVALID_PAYLOAD", "Invalid payload. TFA Secret is already set for this user."],
  MFA_NOT_ENABLED: [400, "INVALID_PAYLOAD", "Invalid payload. TFA isn't enabled for this user."],
  MFA_NOT_SET_UP: [400, "INVALID_PAYLOAD", "Invalid payload. Generate a TFA secret first."],
  TOO_MANY_ATTEMPTS: REQUESTS_EXCEEDED,
  REAUTHENTICATION_REQUIRED: [403, "REAUTHENTICATION_REQUIRED", REAUTHENTICATION_MESSAGE],
  RATE_LIMITED: REQUESTS_EXCEEDED,
  BUSY: [503, "SERVICE_UNAVAILABLE", "Service is unavailable. Try again later."],
  INTERNAL: [500, "INTERNAL_SERVER_ERROR", "An unexpected error occurred."],
  UNPROCESSABLE: [422, "UNPROCESSABLE_CONTENT", "Can't process content."],
  PASSCODE_INVALID: [401, "INVALID_OTP", "Invalid user OTP."],
  PASSCODE_EXPIRED: [401, "TOKEN_EXPIRED", "Token expired."],
  PASSCODE_EXHAUSTED: REQUESTS_EXCEEDED,
  // compat(directus): a failed provider login is an InvalidCredentialsError unless Directus names it.
  OAUTH_INVALID_REQUEST: [400, "INVALID_PAYLOAD", "Invalid payload."],
  OAUTH_UNKNOWN_PROVIDER: [403, "INVALID_PROVIDER", "Invalid provider."],
  OAUTH_INVALID_REDIRECT: [400, "INVALID_PAYLOAD", "Invalid payload."],
  OAUTH_INVALID_STATE: INVALID_CREDENTIALS,
  OAUTH_ACCESS_DENIED: INVALID_CREDENTIALS,
  OAUTH_PROVIDER_ERROR: [503, "SERVICE_UNAVAILABLE", "Service is unavailable. Try again later."],
  OAUTH_UNVERIFIED_EMAIL: INVALID_CREDENTIALS,
  OAUTH_USER_CONFLICT: INVALID_CREDENTIALS,
  OAUTH_SIGNUP_DISABLED: INVALID_CREDENTIALS,
  OAUTH_ACCOUNT_DISABLED: [401, "USER_SUSPENDED", "User suspended."],
} as const satisfies Record<AuthErrorCode, Rendered>;

export function directusError(c: Context, status: number, code: string, message: string, reason?: string) {
  const extensions: Record<string, string> = { code };
  if (reason) extensions.reason = reason;
  return c.json({ errors: [{ message, extensions }] }, status as ContentfulStatusCode);
}

export const renderDirectusError = errorRenderer<Rendered>(
  DIRECTUS_ERRORS,
  (c, [status, code, message], err) => {
    if (err?.retryAfter !== undefined && status === 429)
      return directusError(c, status, code, `Too many requests, retry after ${err.retryAfter}s.`);
    // compat(directus): InvalidPayloadError reads "Invalid payload. <reason>." with extensions.reason.
    if (err?.code === "INVALID_REQUEST" && err.detail) {
      const reason = err.detail.replace(/\.$/, "");
      return directusError(c, status, code, `Invalid payload. ${reason}.`, reason);
    }
    if (err?.code === "PASSWORD_POLICY" && err.detail) return directusError(c, status, code, err.detail);
    return directusError(c, status, code, message);
  },
);
