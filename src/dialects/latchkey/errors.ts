/**
 * Core error codes -> the Latchkey API's error body `{"error": {"code": "UPPER_SNAKE", "message": "..."}}`
 * and status. The shared UPPER_SNAKE table (formauth, vault) gives most entries; this API has no
 * upstream to imitate, so its statuses are the plain HTTP ones.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import type { AuthErrorCode } from "../../core/errors";
import { errorRenderer } from "../shared/kit";
import { detailOr, SNAKE_ERRORS, type SnakeRendered } from "../shared/snake-errors";

const INVALID_CREDENTIALS: SnakeRendered = [401, "INVALID_CREDENTIALS", "Invalid credentials."];
const CONFLICT: SnakeRendered = [409, "CONFLICT", "The email address or username is already in use."];

export const V1_ERRORS = {
  ...SNAKE_ERRORS,
  UNSUPPORTED_MEDIA_TYPE: [415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json."],
  UNAUTHENTICATED: [401, "UNAUTHENTICATED", "An access token is required."],
  INVALID_TOKEN: [401, "INVALID_TOKEN", "The access token is invalid, expired or revoked."],
  INVALID_CREDENTIALS,
  ACCOUNT_NOT_FOUND: INVALID_CREDENTIALS,
  ACCOUNT_NOT_ACTIVE: [403, "ACCOUNT_NOT_ACTIVE", "The email address of this account is not verified yet."],
  ACCOUNT_EXISTS: CONFLICT,
  EMAIL_IN_USE: CONFLICT,
  INVALID_TICKET: [401, "INVALID_TICKET", "The link or ticket is invalid or has expired."],
  INVALID_REFRESH_TOKEN: [401, "INVALID_REFRESH_TOKEN", "The refresh token is invalid or has expired."],
  INVALID_OTP: [401, "INVALID_OTP", "The code is invalid."],
  MFA_ALREADY_ENABLED: [409, "MFA_ALREADY_ENABLED", "Two-factor authentication is already on."],
  MFA_NOT_ENABLED: [409, "MFA_NOT_ENABLED", "Two-factor authentication is not on."],
  MFA_NOT_SET_UP: [409, "MFA_NOT_SET_UP", "Two-factor authentication is not set up."],
  PASSCODE_INVALID: [401, "INVALID_OTP", "The code is invalid."],
  OAUTH_INVALID_STATE: [401, "INVALID_TICKET", "The link or ticket is invalid or has expired."],
  OAUTH_USER_CONFLICT: CONFLICT,
} as const satisfies Record<AuthErrorCode, SnakeRendered>;

export const v1ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});

export function v1Error(c: Context, status: number, code: string, message: string) {
  return c.json({ error: { code, message } }, status as ContentfulStatusCode);
}

export const renderV1Error = errorRenderer<SnakeRendered>(V1_ERRORS, (c, [status, code, message], err) =>
  v1Error(c, status, code, detailOr(err, message)),
);
