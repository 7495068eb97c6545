/**
 * Core error codes -> vault error responses. The document shows no error body, so errors follow
 * the common `{statusCode, error, message}` shape with an UPPER_SNAKE `error` code.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AuthErrorCode } from "../../core/errors";
import { errorRenderer } from "../shared/kit";

type Rendered = readonly [status: number, error: string, message: string];

const INVALID_CREDENTIALS: Rendered = [401, "INVALID_CREDENTIALS", "Invalid email or password."];
const NOT_FOUND: Rendered = [404, "NOT_FOUND", "Not found."];
const FORBIDDEN: Rendered = [403, "FORBIDDEN", "You are not allowed to do this."];
const INVALID_TOKEN: Rendered = [401, "INVALID_TOKEN", "The token is invalid or has expired."];

export const VAULT_ERRORS = {
  INVALID_REQUEST: [400, "INVALID_REQUEST", "The request is invalid."],
  UNSUPPORTED_MEDIA_TYPE: [415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json."],
  PAYLOAD_TOO_LARGE: [413, "PAYLOAD_TOO_LARGE", "The request body is too large."],
  NOT_FOUND,
  FEATURE_DISABLED: NOT_FOUND,
  UNAUTHENTICATED: [401, "UNAUTHORIZED", "A bearer token is required."],
  INVALID_TOKEN,
  TOKEN_EXPIRED: [401, "TOKEN_EXPIRED", "The token has expired."],
  FORBIDDEN,
  INVALID_CREDENTIALS,
  ACCOUNT_NOT_FOUND: INVALID_CREDENTIALS,
  ACCOUNT_NOT_ACTIVE: [403, "EMAIL_NOT_VERIFIED", "Verify your email address first."],
  ACCOUNT_DISABLED: [403, "ACCOUNT_DISABLED", "This account is disabled."],
  ACCOUNT_EXISTS: [409, "ACCOUNT_EXISTS", "An account with this email address already exists."],
  EMAIL_IN_USE: [409, "ACCOUNT_EXISTS", "An account with this email address already exists."],
  SIGNUP_DISABLED: [403, "SIGNUP_DISABLED", "Registration is disabled."],
  PASSWORD_POLICY: [400, "WEAK_PASSWORD", "The password does not meet the requirements."],
  ROLE_NOT_ALLOWED: FORBIDDEN,
  INVALID_TICKET: INVALID_TOKEN,
  INVALID_REFRESH_TOKEN: INVALID_TOKEN,
  INVALID_OTP: [401, "INVALID_OTP", "The one-time code is invalid."],
  MFA_ALREADY_ENABLED: [400, "MFA_ALREADY_ENABLED", "Two-factor authentication is already enabled."],
  MFA_NOT_ENABLED: [400, "MFA_NOT_ENABLED", "Two-factor authentication is not enabled."],
  MFA_NOT_SET_UP: [400, "MFA_NOT_SET_UP", "Two-factor authentication is not set up."],
  TOO_MANY_ATTEMPTS: [429, "TOO_MANY_ATTEMPTS", "Too many attempts. Try again later."],
  RATE_LIMITED: [429, "RATE_LIMITED", "Too many requests. Try again later."],
  BUSY: [503, "BUSY", "The server is busy. Try again."],
  INTERNAL: [500, "INTERNAL_ERROR", "An internal error occurred."],
  UNPROCESSABLE: [422, "UNPROCESSABLE", "The request cannot be processed."],
  PASSCODE_INVALID: [401, "INVALID_OTP", "The one-time code is invalid."],
  PASSCODE_EXPIRED: [401, "TOKEN_EXPIRED", "The token has expired."],
  PASSCODE_EXHAUSTED: [429, "TOO_MANY_ATTEMPTS", "Too many attempts. Try again later."],
  OAUTH_INVALID_REQUEST: [400, "INVALID_REQUEST", "The request is invalid."],
  OAUTH_UNKNOWN_PROVIDER: NOT_FOUND,
  OAUTH_INVALID_REDIRECT: [400, "INVALID_REQUEST", "The request is invalid."],
  OAUTH_INVALID_STATE: INVALID_TOKEN,
  OAUTH_ACCESS_DENIED: FORBIDDEN,
  OAUTH_PROVIDER_ERROR: [500, "INTERNAL_ERROR", "An internal error occurred."],
  OAUTH_UNVERIFIED_EMAIL: FORBIDDEN,
  OAUTH_USER_CONFLICT: [409, "ACCOUNT_EXISTS", "An account with this email address already exists."],
  OAUTH_SIGNUP_DISABLED: [403, "SIGNUP_DISABLED", "Registration is disabled."],
  OAUTH_ACCOUNT_DISABLED: [403, "ACCOUNT_DISABLED", "This account is disabled."],
} as const satisfies Record<AuthErrorCode, Rendered>;

export function vaultError(c: Context, status: number, error: string, message: string) {
  return c.json({ statusCode: status, error, message }, status as ContentfulStatusCode);
}

export const renderVaultError = errorRenderer<Rendered>(VAULT_ERRORS, (c, [status, error, message], err) => {
  const detailed = err?.code === "INVALID_REQUEST" || err?.code === "PASSWORD_POLICY";
  return vaultError(c, status, error, detailed && err?.detail ? err.detail : message);
});
