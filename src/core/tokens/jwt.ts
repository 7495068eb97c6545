/**
 * Signing and verifying our own JWTs, whatever their purpose (access token, formauth refresh JWT,
 * vault team token). Verification pins what RFC 8725 asks: the configured algorithm only (no
 * `none`, no HS256 with a public key), a key found by `kid` whose algorithm matches the header,
 * the issuer, the audience, the `typ` header of the purpose, and the required claims.
 */
import { errors, type JWTPayload, jwtVerify, SignJWT } from "jose";
import type { Clock } from "../../lib/clock";
import type { Config } from "../config";
import { AuthError } from "../errors";
import type { KeySet } from "./keys";

export const MAX_TOKEN_LENGTH = 8 * 1024;
export const CLOCK_TOLERANCE_MS = 30_000;

export interface JwtContext {
  keys: () => Promise<KeySet>;
  jwt: Config["jwt"];
  clock: Clock;
}

export async function signJwt(
  ctx: JwtContext,
  opts: {
    typ: string;
    subject: string;
    claims: JWTPayload;
    ttlSeconds: number;
    /** A given jti and issue time (seconds) instead of a random one and now. */
    jti?: string;
    issuedAt?: number;
  },
): Promise<string> {
  const { signer } = await ctx.keys();
  const now = opts.issuedAt ?? Math.floor(ctx.clock.now() / 1000);
  return new SignJWT(opts.claims)
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: opts.typ })
    .setIssuer(ctx.jwt.issuer)
    .setAudience(ctx.jwt.audience)
    .setSubject(opts.subject)
    .setIssuedAt(now)
    .setExpirationTime(now + opts.ttlSeconds)
    .setJti(opts.jti ?? crypto.randomUUID())
    .sign(signer.key);
}

/**
 * The payload; INVALID_TOKEN when forged, of another type or malformed, TOKEN_EXPIRED when expired.
 * `maxLifetime` (seconds) bounds `exp - iat`: we never sign a token living longer than the
 * configured lifetime of its kind, so one claiming to must not outlive a key compromise or a
 * signing bug by years.
 */
export async function verifyJwt(
  ctx: JwtContext,
  token: string,
  opts: { typ: string; requiredClaims: string[]; maxLifetime: number; maxTokenAge?: number; at?: number },
): Promise<JWTPayload & { sub: string }> {
  if (!token || token.length > MAX_TOKEN_LENGTH) throw new AuthError("INVALID_TOKEN");
  const set = await ctx.keys();
  try {
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        const key = header.kid ? set.byKid.get(header.kid) : undefined;
        if (!key || key.alg !== header.alg) throw new AuthError("INVALID_TOKEN");
        return key.verifyKey;
      },
      {
        algorithms: [ctx.jwt.algorithm],
        issuer: ctx.jwt.issuer,
        audience: ctx.jwt.audience,
        typ: opts.typ,
        requiredClaims: opts.requiredClaims,
        clockTolerance: CLOCK_TOLERANCE_MS / 1000,
        maxTokenAge: opts.maxTokenAge,
        currentDate: new Date(opts.at ?? ctx.clock.now()),
      },
    );
    if (typeof payload.sub !== "string") throw new AuthError("INVALID_TOKEN");
    if (typeof payload.exp !== "number" || typeof payload.iat !== "number")
      throw new AuthError("INVALID_TOKEN");
    if (payload.exp - payload.iat > opts.maxLifetime) throw new AuthError("INVALID_TOKEN");
    return payload as JWTPayload & { sub: string };
  } catch (e) {
    if (e instanceof errors.JWTExpired) throw new AuthError("TOKEN_EXPIRED", { cause: e });
    if (e instanceof AuthError) throw e;
    throw new AuthError("INVALID_TOKEN", { cause: e });
  }
}
