/**
 * Core error codes -> vault error responses. The document shows no error body, so errors follow
 * the common `{statusCode, error, message}` shape with an UPPER_SNAKE `error` code.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AuthErrorCode } from "../../core/errors";
import { errorRenderer } from "../shared/kit";
import { detailOr, SNAKE_ERRORS, type SnakeRendered } from "../shared/snake-errors";

type Rendered = SnakeRendered;

const INVALID_CREDENTIALS: Rendered = [401, "INVALID_CREDENTIALS", "Invalid email or password."];
const INVALID_TOKEN: Rendered = [401, "INVALID_TOKEN", "The token is invalid or has expired."];

export const VAULT_ERRORS = {
  ...SNAKE_ERRORS,
  UNSUPPORTED_MEDIA_TYPE: [415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json."],
  UNAUTHENTICATED: [401, "UNAUTHORIZED", "A bearer token is required."],
  INVALID_TOKEN,
  INVALID_CREDENTIALS,
  ACCOUNT_NOT_FOUND: INVALID_CREDENTIALS,
  ACCOUNT_NOT_ACTIVE: [403, "EMAIL_NOT_VERIFIED", "Verify your email address first."],
  ACCOUNT_EXISTS: [409, "ACCOUNT_EXISTS", "An account with this email address already exists."],
  EMAIL_IN_USE: [409, "ACCOUNT_EXISTS", "An account with this email address already exists."],
  INVALID_TICKET: INVALID_TOKEN,
  INVALID_REFRESH_TOKEN: INVALID_TOKEN,
  INVALID_OTP: [401, "INVALID_OTP", "The one-time code is invalid."],
  MFA_ALREADY_ENABLED: [400, "MFA_ALREADY_ENABLED", "Two-factor authentication is already enabled."],
  MFA_NOT_ENABLED: [400, "MFA_NOT_ENABLED", "Two-factor authentication is not enabled."],
  MFA_NOT_SET_UP: [400, "MFA_NOT_SET_UP", "Two-factor authentication is not set up."],
  PASSCODE_INVALID: [401, "INVALID_OTP", "The one-time code is invalid."],
  OAUTH_INVALID_STATE: INVALID_TOKEN,
  OAUTH_USER_CONFLICT: [409, "ACCOUNT_EXISTS", "An account with this email address already exists."],
} as const satisfies Record<AuthErrorCode, Rendered>;

export function vaultError(c: Context, status: number, error: string, message: string) {
  return c.json({ statusCode: status, error, message }, status as ContentfulStatusCode);
}

export const renderVaultError = errorRenderer<Rendered>(VAULT_ERRORS, (c, [status, code, message], err) =>
  vaultError(c, status, code, detailOr(err, message)),
);
