/** Core error codes -> the formauth error body `{code: "UPPER_SNAKE", error: "sentence"}` and status. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AuthErrorCode } from "../../core/errors";
import { errorRenderer } from "../shared/kit";

type Rendered = readonly [status: number, code: string, error: string];

const INVALID_CREDENTIALS: Rendered = [401, "INVALID_CREDENTIALS", "Invalid email, username or password."];
const NOT_FOUND: Rendered = [404, "NOT_FOUND", "Not found."];
const FORBIDDEN: Rendered = [403, "FORBIDDEN", "You are not allowed to do this."];

export const PENDING_CONFIRMATION = "Please confirm your email address to complete the registration.";

export const FORMAUTH_ERRORS = {
  INVALID_REQUEST: [400, "INVALID_REQUEST", "The request is invalid."],
  UNSUPPORTED_MEDIA_TYPE: [
    415,
    "UNSUPPORTED_MEDIA_TYPE",
    "Send application/x-www-form-urlencoded or application/json.",
  ],
  PAYLOAD_TOO_LARGE: [413, "PAYLOAD_TOO_LARGE", "The request body is too large."],
  NOT_FOUND,
  FEATURE_DISABLED: NOT_FOUND,
  UNAUTHENTICATED: [401, "UNAUTHORIZED", "You must be logged in."],
  INVALID_TOKEN: [401, "INVALID_TOKEN", "The token is invalid."],
  TOKEN_EXPIRED: [401, "TOKEN_EXPIRED", "The token has expired."],
  FORBIDDEN,
  INVALID_CREDENTIALS,
  ACCOUNT_NOT_FOUND: INVALID_CREDENTIALS,
  ACCOUNT_NOT_ACTIVE: [403, "PENDING_CONFIRMATION", PENDING_CONFIRMATION],
  ACCOUNT_DISABLED: [403, "ACCOUNT_DISABLED", "This account is disabled."],
  ACCOUNT_EXISTS: [409, "ACCOUNT_EXISTS", "An account with this email or username already exists."],
  EMAIL_IN_USE: [409, "ACCOUNT_EXISTS", "An account with this email or username already exists."],
  SIGNUP_DISABLED: [403, "SIGNUP_DISABLED", "Registration is disabled."],
  PASSWORD_POLICY: [400, "WEAK_PASSWORD", "The password does not meet the requirements."],
  ROLE_NOT_ALLOWED: FORBIDDEN,
  INVALID_TICKET: [401, "INVALID_TOKEN", "The token is invalid or has expired."],
  INVALID_REFRESH_TOKEN: [401, "INVALID_REFRESH_TOKEN", "The refresh token is invalid or has expired."],
  INVALID_OTP: [401, "INVALID_TWO_FACTOR_CODE", "The two-factor code is invalid."],
  MFA_ALREADY_ENABLED: [400, "TWO_FACTOR_ALREADY_ENABLED", "Two-factor authentication is already enabled."],
  MFA_NOT_ENABLED: [400, "TWO_FACTOR_NOT_ENABLED", "Two-factor authentication is not enabled."],
  MFA_NOT_SET_UP: [400, "TWO_FACTOR_NOT_SET_UP", "Two-factor authentication is not set up."],
  TOO_MANY_ATTEMPTS: [429, "TOO_MANY_ATTEMPTS", "Too many attempts. Try again later."],
  RATE_LIMITED: [429, "RATE_LIMITED", "Too many requests. Try again later."],
  BUSY: [503, "BUSY", "The server is busy. Try again."],
  INTERNAL: [500, "INTERNAL_ERROR", "An internal error occurred."],
  UNPROCESSABLE: [422, "UNPROCESSABLE", "The request cannot be processed."],
  PASSCODE_INVALID: [401, "INVALID_TWO_FACTOR_CODE", "The two-factor code is invalid."],
  PASSCODE_EXPIRED: [401, "TOKEN_EXPIRED", "The token has expired."],
  PASSCODE_EXHAUSTED: [429, "TOO_MANY_ATTEMPTS", "Too many attempts. Try again later."],
  OAUTH_INVALID_REQUEST: [400, "INVALID_REQUEST", "The request is invalid."],
  OAUTH_UNKNOWN_PROVIDER: NOT_FOUND,
  OAUTH_INVALID_REDIRECT: [400, "INVALID_REQUEST", "The request is invalid."],
  OAUTH_INVALID_STATE: [401, "INVALID_TOKEN", "The token is invalid or has expired."],
  OAUTH_ACCESS_DENIED: FORBIDDEN,
  OAUTH_PROVIDER_ERROR: [500, "INTERNAL_ERROR", "An internal error occurred."],
  OAUTH_UNVERIFIED_EMAIL: FORBIDDEN,
  OAUTH_USER_CONFLICT: [409, "ACCOUNT_EXISTS", "An account with this email or username already exists."],
  OAUTH_SIGNUP_DISABLED: [403, "SIGNUP_DISABLED", "Registration is disabled."],
  OAUTH_ACCOUNT_DISABLED: [403, "ACCOUNT_DISABLED", "This account is disabled."],
} as const satisfies Record<AuthErrorCode, Rendered>;

export function formauthError(c: Context, status: number, code: string, error: string) {
  return c.json({ code, error }, status as ContentfulStatusCode);
}

export const renderFormauthError = errorRenderer<Rendered>(
  FORMAUTH_ERRORS,
  (c, [status, code, error], err) => {
    const detailed = err?.code === "INVALID_REQUEST" || err?.code === "PASSWORD_POLICY";
    return formauthError(c, status, code, detailed && err?.detail ? err.detail : error);
  },
);
