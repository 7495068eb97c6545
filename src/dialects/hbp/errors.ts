/** Core error codes -> Hasura Backend Plus (Boom) statuses and messages. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AuthErrorCode } from "../../core/errors";
import { errorRenderer, reasonPhrase } from "../shared/kit";
import { REAUTHENTICATION_MESSAGE } from "../shared/snake-errors";

// compat(hbp): messages are HBP 2.2's own where it had one (src/routes/auth/*.ts).
export const HBP_ERRORS = {
  INVALID_REQUEST: [400, "Invalid request."],
  UNSUPPORTED_MEDIA_TYPE: [415, "Send application/json or application/x-www-form-urlencoded."],
  PAYLOAD_TOO_LARGE: [413, "Request body is too large."],
  NOT_FOUND: [404, "Not Found"],
  FEATURE_DISABLED: [404, "Not Found"],
  UNAUTHENTICATED: [401, "Not logged in"],
  INVALID_TOKEN: [401, "Invalid or expired JWT token."],
  TOKEN_EXPIRED: [401, "Invalid or expired JWT token."],
  FORBIDDEN: [403, "Forbidden"],
  INVALID_CREDENTIALS: [401, "Username and password do not match"],
  ACCOUNT_NOT_FOUND: [400, "Account does not exist."],
  ACCOUNT_NOT_ACTIVE: [400, "Account is not activated."],
  ACCOUNT_DISABLED: [401, "Account is disabled."],
  ACCOUNT_EXISTS: [400, "Account already exists."],
  EMAIL_IN_USE: [400, "Cannot use this email."],
  SIGNUP_DISABLED: [403, "Registration is disabled."],
  PASSWORD_POLICY: [400, "Password does not meet the requirements."],
  ROLE_NOT_ALLOWED: [400, "allowed roles must be a subset of ALLOWED_ROLES"],
  INVALID_TICKET: [401, "Invalid or expired ticket."],
  INVALID_REFRESH_TOKEN: [401, "Invalid or expired refresh token."],
  INVALID_OTP: [401, "Invalid two-factor code."],
  MFA_ALREADY_ENABLED: [400, "MFA is already enabled."],
  MFA_NOT_ENABLED: [400, "MFA is not enabled."],
  MFA_NOT_SET_UP: [400, "OTP secret is not set."],
  TOO_MANY_ATTEMPTS: [429, "Too many attempts. Try again later."],
  REAUTHENTICATION_REQUIRED: [403, REAUTHENTICATION_MESSAGE],
  RATE_LIMITED: [429, "Too many requests. Try again later."],
  BUSY: [503, "The server is busy. Try again."],
  INTERNAL: [500, "An internal server error occurred"],
  UNPROCESSABLE: [422, "Unprocessable Entity"],
  PASSCODE_INVALID: [401, "Invalid two-factor code."],
  PASSCODE_EXPIRED: [401, "Invalid or expired JWT token."],
  PASSCODE_EXHAUSTED: [429, "Too many attempts. Try again later."],
  OAUTH_INVALID_REQUEST: [400, "Invalid request."],
  OAUTH_UNKNOWN_PROVIDER: [404, "Not Found"],
  OAUTH_INVALID_REDIRECT: [400, "Invalid request."],
  OAUTH_INVALID_STATE: [401, "Invalid or expired ticket."],
  OAUTH_ACCESS_DENIED: [403, "Forbidden"],
  OAUTH_PROVIDER_ERROR: [500, "An internal server error occurred"],
  OAUTH_UNVERIFIED_EMAIL: [403, "Forbidden"],
  OAUTH_USER_CONFLICT: [400, "Cannot use this email."],
  OAUTH_SIGNUP_DISABLED: [403, "Registration is disabled."],
  OAUTH_ACCOUNT_DISABLED: [401, "Account is disabled."],
} as const satisfies Record<AuthErrorCode, readonly [number, string]>;

export function boom(c: Context, status: number, message: string) {
  return c.json({ statusCode: status, error: reasonPhrase(status), message }, status as ContentfulStatusCode);
}

export const renderHbpError = errorRenderer<readonly [number, string]>(
  HBP_ERRORS,
  (c, [status, message], err) => boom(c, status, err?.detail ?? message),
);
