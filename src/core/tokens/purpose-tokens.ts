/**
 * Purpose-typed JWTs other than access tokens, signed with the same keys: a formauth refresh JWT
 * (wrapping a core refresh token), a vault team token, an HBP session cookie. The `typ` header names the purpose and
 * verification pins it, so no purpose token passes as an access token or as another purpose, and
 * an access token passes as none of them.
 */
import type { JWTPayload } from "jose";
import { type JwtContext, signJwt, verifyJwt } from "./jwt";

export type TokenPurpose = "rt+jwt" | "vault+jwt" | "session+jwt";

export interface PurposeTokenService {
  sign(
    purpose: TokenPurpose,
    subject: string,
    claims: Record<string, unknown>,
    ttlSeconds: number,
  ): Promise<string>;
  /** The payload; INVALID_TOKEN when forged, of another purpose or malformed, TOKEN_EXPIRED when expired. */
  verify(purpose: TokenPurpose, token: string): Promise<JWTPayload & { sub: string }>;
}

/**
 * `lifetimes`: the longest lifetime each purpose is signed with (seconds). Signing longer is a bug
 * and throws; verification refuses a token whose `exp - iat` is longer.
 */
export function createPurposeTokenService(
  deps: JwtContext & { lifetimes: Record<TokenPurpose, number> },
): PurposeTokenService {
  return {
    sign: (purpose, subject, claims, ttlSeconds) => {
      if (ttlSeconds > deps.lifetimes[purpose]) throw new Error(`${purpose} lifetime above its bound`);
      return signJwt(deps, { typ: purpose, subject, claims, ttlSeconds });
    },
    verify: (purpose, token) =>
      verifyJwt(deps, token, {
        typ: purpose,
        requiredClaims: ["exp", "iat", "sub", "jti"],
        maxLifetime: deps.lifetimes[purpose],
      }),
  };
}
