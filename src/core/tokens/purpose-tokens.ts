/**
 * Purpose-typed JWTs other than access tokens, signed with the same keys: a formauth refresh JWT
 * (wrapping a core refresh token), a vault team token. The `typ` header names the purpose and
 * verification pins it, so no purpose token passes as an access token or as another purpose, and
 * an access token passes as none of them.
 */
import { errors, type JWTPayload, jwtVerify, SignJWT } from "jose";
import type { Config } from "../../config";
import type { Clock } from "../../lib/clock";
import { AuthError } from "../errors";
import type { KeySet } from "./keys";

export type TokenPurpose = "rt+jwt" | "vault+jwt";

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

export function createPurposeTokenService(deps: {
  keys: () => Promise<KeySet>;
  jwt: Config["jwt"];
  clock: Clock;
}): PurposeTokenService {
  const { jwt, clock } = deps;
  return {
    async sign(purpose, subject, claims, ttlSeconds) {
      const { signer } = await deps.keys();
      const now = Math.floor(clock.now() / 1000);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: purpose })
        .setIssuer(jwt.issuer)
        .setAudience(jwt.audience)
        .setSubject(subject)
        .setIssuedAt(now)
        .setExpirationTime(now + ttlSeconds)
        .setJti(crypto.randomUUID())
        .sign(signer.key);
    },

    async verify(purpose, token) {
      if (!token || token.length > 8192) throw new AuthError("INVALID_TOKEN");
      const set = await deps.keys();
      try {
        const { payload } = await jwtVerify(
          token,
          async (header) => {
            const key = header.kid ? set.byKid.get(header.kid) : undefined;
            if (!key || key.alg !== header.alg) throw new AuthError("INVALID_TOKEN");
            return key.verifyKey;
          },
          {
            algorithms: [jwt.algorithm],
            issuer: jwt.issuer,
            audience: jwt.audience,
            typ: purpose,
            requiredClaims: ["exp", "iat", "sub", "jti"],
            clockTolerance: 30,
            currentDate: new Date(clock.now()),
          },
        );
        return payload as JWTPayload & { sub: string };
      } catch (e) {
        if (e instanceof errors.JWTExpired) throw new AuthError("TOKEN_EXPIRED", { cause: e });
        if (e instanceof AuthError) throw e;
        throw new AuthError("INVALID_TOKEN", { cause: e });
      }
    },
  };
}
