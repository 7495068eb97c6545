/** Core error codes -> the formauth error body `{code: "UPPER_SNAKE", error: "sentence"}` and status. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AuthErrorCode } from "../../core/errors";
import { errorRenderer } from "../shared/kit";
import { detailOr, SNAKE_ERRORS, type SnakeRendered } from "../shared/snake-errors";

type Rendered = SnakeRendered;

const INVALID_CREDENTIALS: Rendered = [401, "INVALID_CREDENTIALS", "Invalid email, username or password."];

export const PENDING_CONFIRMATION = "Please confirm your email address to complete the registration.";

export const FORMAUTH_ERRORS = {
  ...SNAKE_ERRORS,
  UNSUPPORTED_MEDIA_TYPE: [
    415,
    "UNSUPPORTED_MEDIA_TYPE",
    "Send application/x-www-form-urlencoded or application/json.",
  ],
  UNAUTHENTICATED: [401, "UNAUTHORIZED", "You must be logged in."],
  INVALID_TOKEN: [401, "INVALID_TOKEN", "The token is invalid."],
  INVALID_CREDENTIALS,
  ACCOUNT_NOT_FOUND: INVALID_CREDENTIALS,
  ACCOUNT_NOT_ACTIVE: [403, "PENDING_CONFIRMATION", PENDING_CONFIRMATION],
  ACCOUNT_EXISTS: [409, "ACCOUNT_EXISTS", "An account with this email or username already exists."],
  EMAIL_IN_USE: [409, "ACCOUNT_EXISTS", "An account with this email or username already exists."],
  INVALID_TICKET: [401, "INVALID_TOKEN", "The token is invalid or has expired."],
  INVALID_REFRESH_TOKEN: [401, "INVALID_REFRESH_TOKEN", "The refresh token is invalid or has expired."],
  INVALID_OTP: [401, "INVALID_TWO_FACTOR_CODE", "The two-factor code is invalid."],
  MFA_ALREADY_ENABLED: [400, "TWO_FACTOR_ALREADY_ENABLED", "Two-factor authentication is already enabled."],
  MFA_NOT_ENABLED: [400, "TWO_FACTOR_NOT_ENABLED", "Two-factor authentication is not enabled."],
  MFA_NOT_SET_UP: [400, "TWO_FACTOR_NOT_SET_UP", "Two-factor authentication is not set up."],
  PASSCODE_INVALID: [401, "INVALID_TWO_FACTOR_CODE", "The two-factor code is invalid."],
  OAUTH_INVALID_STATE: [401, "INVALID_TOKEN", "The token is invalid or has expired."],
  OAUTH_USER_CONFLICT: [409, "ACCOUNT_EXISTS", "An account with this email or username already exists."],
} as const satisfies Record<AuthErrorCode, Rendered>;

export function formauthError(c: Context, status: number, code: string, error: string) {
  return c.json({ code, error }, status as ContentfulStatusCode);
}

export const renderFormauthError = errorRenderer<Rendered>(
  FORMAUTH_ERRORS,
  (c, [status, code, message], err) => formauthError(c, status, code, detailOr(err, message)),
);
