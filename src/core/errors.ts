/**
 * The closed set of failures the identity core reports. Every dialect maps each code to its
 * upstream status and body (`satisfies Record<AuthErrorCode, ...>`), so adding a code here
 * breaks the build until every dialect has decided how to render it.
 */
export const AUTH_ERROR_CODES = [
  "INVALID_REQUEST",
  "UNSUPPORTED_MEDIA_TYPE",
  "PAYLOAD_TOO_LARGE",
  "NOT_FOUND",
  "FEATURE_DISABLED",
  "UNAUTHENTICATED",
  "INVALID_TOKEN",
  "TOKEN_EXPIRED",
  "FORBIDDEN",
  "INVALID_CREDENTIALS",
  "ACCOUNT_NOT_FOUND",
  "ACCOUNT_NOT_ACTIVE",
  "ACCOUNT_DISABLED",
  "ACCOUNT_EXISTS",
  "EMAIL_IN_USE",
  "SIGNUP_DISABLED",
  "PASSWORD_POLICY",
  "ROLE_NOT_ALLOWED",
  "INVALID_TICKET",
  "INVALID_REFRESH_TOKEN",
  "INVALID_OTP",
  "MFA_ALREADY_ENABLED",
  "MFA_NOT_ENABLED",
  "MFA_NOT_SET_UP",
  "TOO_MANY_ATTEMPTS",
  "RATE_LIMITED",
  "BUSY",
  "INTERNAL",
] as const;

export type AuthErrorCode = (typeof AUTH_ERROR_CODES)[number];

export class AuthError extends Error {
  readonly code: AuthErrorCode;
  /** Seconds until a retry can succeed (rate limits, lockouts). */
  readonly retryAfter?: number;
  /** A safe, user-facing detail (validation messages); never secrets or internals. */
  readonly detail?: string;

  constructor(code: AuthErrorCode, opts: { detail?: string; retryAfter?: number; cause?: unknown } = {}) {
    super(opts.detail ?? code, { cause: opts.cause });
    this.name = "AuthError";
    this.code = code;
    this.detail = opts.detail;
    this.retryAfter = opts.retryAfter;
  }
}

export const isAuthError = (e: unknown): e is AuthError => e instanceof AuthError;
