/**
 * Core error codes -> Hanko 0.12 statuses. The body is always `{code, message}` with the status as
 * `code` and its reason phrase as `message` (Hanko's echo handler), or the validation detail on a 400.
 * The 0.12 SDK maps errors from the status alone, so the statuses are what matters.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AuthErrorCode } from "../../core/errors";
import { errorRenderer, reasonPhrase } from "../shared/kit";
import { REAUTHENTICATION_MESSAGE } from "../shared/snake-errors";

export const HANKO_STATUS = {
  INVALID_REQUEST: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  NOT_FOUND: 404,
  FEATURE_DISABLED: 404,
  UNAUTHENTICATED: 401,
  INVALID_TOKEN: 401,
  TOKEN_EXPIRED: 401,
  FORBIDDEN: 403,
  INVALID_CREDENTIALS: 401,
  ACCOUNT_NOT_FOUND: 404,
  ACCOUNT_NOT_ACTIVE: 403,
  ACCOUNT_DISABLED: 403,
  // compat(hanko): POST /users answers 409 for a taken address (SDK: ConflictError) ...
  ACCOUNT_EXISTS: 409,
  // ... while POST /emails answers 400 (SDK: EmailAddressAlreadyExistsError).
  EMAIL_IN_USE: 400,
  SIGNUP_DISABLED: 403,
  PASSWORD_POLICY: 400,
  ROLE_NOT_ALLOWED: 400,
  INVALID_TICKET: 400,
  INVALID_REFRESH_TOKEN: 401,
  INVALID_OTP: 401,
  MFA_ALREADY_ENABLED: 400,
  MFA_NOT_ENABLED: 400,
  MFA_NOT_SET_UP: 400,
  TOO_MANY_ATTEMPTS: 429,
  // 403, not 401: the SDK takes a 401 for a signed-out session.
  REAUTHENTICATION_REQUIRED: 403,
  RATE_LIMITED: 429,
  BUSY: 503,
  INTERNAL: 500,
  UNPROCESSABLE: 422,
  // Hanko's passcode outcomes: 401 wrong, 408 expired, 410 too many tries.
  PASSCODE_INVALID: 401,
  PASSCODE_EXPIRED: 408,
  PASSCODE_EXHAUSTED: 410,
  // thirdparty.ts answers OAuth failures itself (redirects); elsewhere, as their general codes.
  OAUTH_INVALID_REQUEST: 400,
  OAUTH_UNKNOWN_PROVIDER: 404,
  OAUTH_INVALID_REDIRECT: 400,
  OAUTH_INVALID_STATE: 400,
  OAUTH_ACCESS_DENIED: 403,
  OAUTH_PROVIDER_ERROR: 500,
  OAUTH_UNVERIFIED_EMAIL: 403,
  OAUTH_USER_CONFLICT: 400,
  OAUTH_SIGNUP_DISABLED: 403,
  OAUTH_ACCOUNT_DISABLED: 403,
} as const satisfies Record<AuthErrorCode, number>;

export function hankoError(c: Context, status: number, message?: string) {
  return c.json({ code: status, message: message ?? reasonPhrase(status) }, status as ContentfulStatusCode);
}

export const renderHankoError = errorRenderer<number>(HANKO_STATUS, (c, status, err) => {
  if (!err) return hankoError(c, 500);
  if (err.code === "REAUTHENTICATION_REQUIRED") return hankoError(c, status, REAUTHENTICATION_MESSAGE);
  return hankoError(c, status, status === 400 && err.detail ? err.detail : undefined);
});
