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
  /** A sensitive change from a session whose last proven credential is too old (sessions/step-up.ts). */
  "REAUTHENTICATION_REQUIRED",
  "RATE_LIMITED",
  "BUSY",
  "INTERNAL",
  /** A well-formed request the server cannot carry out (an image too large or undecodable to transform). */
  "UNPROCESSABLE",
  // Email passcodes: a wrong or unknown code, an expired one, one with no tries left.
  "PASSCODE_INVALID",
  "PASSCODE_EXPIRED",
  "PASSCODE_EXHAUSTED",
  // Logins through an OAuth provider: which step failed (the OAuth dialects render each their own way).
  "OAUTH_INVALID_REQUEST",
  "OAUTH_UNKNOWN_PROVIDER",
  "OAUTH_INVALID_REDIRECT",
  "OAUTH_INVALID_STATE",
  "OAUTH_ACCESS_DENIED",
  "OAUTH_PROVIDER_ERROR",
  "OAUTH_UNVERIFIED_EMAIL",
  "OAUTH_USER_CONFLICT",
  "OAUTH_SIGNUP_DISABLED",
  "OAUTH_ACCOUNT_DISABLED",
] as const;

export type AuthErrorCode = (typeof AUTH_ERROR_CODES)[number];
export type OAuthErrorCode = Extract<AuthErrorCode, `OAUTH_${string}`>;

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
