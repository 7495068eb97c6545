/**
 * The error entries formauth and vault share. Neither upstream document gives a body for these
 * cases, so both answer the same UPPER_SNAKE code and sentence; each dialect's table adds the
 * entries its document or clients fix (errors.ts there).
 */
import type { AuthError, AuthErrorCode } from "../../core/errors";

export type SnakeRendered = readonly [status: number, code: string, message: string];

const NOT_FOUND: SnakeRendered = [404, "NOT_FOUND", "Not found."];
const FORBIDDEN: SnakeRendered = [403, "FORBIDDEN", "You are not allowed to do this."];

/**
 * What every dialect says when a sensitive change comes from a session whose last sign-in is too
 * old (core sessions/step-up.ts): a 403, so clients do not take it for a signed-out session.
 */
export const REAUTHENTICATION_MESSAGE =
  "This change needs a recent sign-in. Confirm it with POST /v1/reauthenticate (password, TOTP code or passkey), then try again.";

export const SNAKE_ERRORS = {
  INVALID_REQUEST: [400, "INVALID_REQUEST", "The request is invalid."],
  PAYLOAD_TOO_LARGE: [413, "PAYLOAD_TOO_LARGE", "The request body is too large."],
  NOT_FOUND,
  FEATURE_DISABLED: NOT_FOUND,
  TOKEN_EXPIRED: [401, "TOKEN_EXPIRED", "The token has expired."],
  FORBIDDEN,
  ROLE_NOT_ALLOWED: FORBIDDEN,
  ACCOUNT_DISABLED: [403, "ACCOUNT_DISABLED", "This account is disabled."],
  SIGNUP_DISABLED: [403, "SIGNUP_DISABLED", "Registration is disabled."],
  PASSWORD_POLICY: [400, "WEAK_PASSWORD", "The password does not meet the requirements."],
  TOO_MANY_ATTEMPTS: [429, "TOO_MANY_ATTEMPTS", "Too many attempts. Try again later."],
  REAUTHENTICATION_REQUIRED: [403, "REAUTHENTICATION_REQUIRED", REAUTHENTICATION_MESSAGE],
  RATE_LIMITED: [429, "RATE_LIMITED", "Too many requests. Try again later."],
  BUSY: [503, "BUSY", "The server is busy. Try again."],
  INTERNAL: [500, "INTERNAL_ERROR", "An internal error occurred."],
  UNPROCESSABLE: [422, "UNPROCESSABLE", "The request cannot be processed."],
  PASSCODE_EXPIRED: [401, "TOKEN_EXPIRED", "The token has expired."],
  PASSCODE_EXHAUSTED: [429, "TOO_MANY_ATTEMPTS", "Too many attempts. Try again later."],
  OAUTH_INVALID_REQUEST: [400, "INVALID_REQUEST", "The request is invalid."],
  OAUTH_UNKNOWN_PROVIDER: NOT_FOUND,
  OAUTH_INVALID_REDIRECT: [400, "INVALID_REQUEST", "The request is invalid."],
  OAUTH_ACCESS_DENIED: FORBIDDEN,
  OAUTH_PROVIDER_ERROR: [500, "INTERNAL_ERROR", "An internal error occurred."],
  OAUTH_UNVERIFIED_EMAIL: FORBIDDEN,
  OAUTH_SIGNUP_DISABLED: [403, "SIGNUP_DISABLED", "Registration is disabled."],
  OAUTH_ACCOUNT_DISABLED: [403, "ACCOUNT_DISABLED", "This account is disabled."],
} as const satisfies Partial<Record<AuthErrorCode, SnakeRendered>>;

/** The validation or password-policy detail when the error carries one, else the table's sentence. */
export function detailOr(err: AuthError | null, message: string): string {
  const detailed = err?.code === "INVALID_REQUEST" || err?.code === "PASSWORD_POLICY";
  return detailed && err?.detail ? err.detail : message;
}
