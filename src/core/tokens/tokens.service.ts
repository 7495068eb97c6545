/**
 * Access tokens: short-lived JWTs (`typ: at+jwt`, `kid` in the header) with iss, aud, sub, sid, iat,
 * exp, jti and, when the hbp dialect is on, the Hasura claims object. Verification pins the
 * algorithm to the configured one (no `none`, no HS256-with-the-public-key), the issuer, the
 * audience, the type and the required claims. Whether the session is still alive is the session
 * service's business, not this one's.
 */
import { decodeJwt, type JWTPayload } from "jose";
import type { Clock } from "../../lib/clock";
import type { Config } from "../config";
import { AuthError } from "../errors";
import { CLOCK_TOLERANCE_MS, MAX_TOKEN_LENGTH, signJwt, verifyJwt } from "./jwt";
import type { KeySet } from "./keys";

export interface AccessClaims extends JWTPayload {
  sub: string;
  sid: string;
}

export interface TokenSubject {
  userId: string;
  sessionId: string;
  defaultRole: string;
  allowedRoles: string[];
  /** Where custom claims (JWT_CUSTOM_FIELDS) are read from; absent fields become "null". */
  profile?: ClaimProfile;
}

/** The user fields a custom claim may come from; any other name is a key of `metadata` (user_data). */
export interface ClaimProfile {
  email?: string | null;
  displayName?: string | null;
  avatarUrl?: string | null;
  locale?: string | null;
  metadata?: Record<string, unknown>;
}

/** Longest custom claim value, and all custom claim values together, in characters. */
export const CUSTOM_CLAIM_MAX = 1024;
export const CUSTOM_CLAIMS_TOTAL_MAX = 4096;

function profileValue(p: ClaimProfile, field: string): unknown {
  switch (field) {
    case "email":
      return p.email;
    case "display_name":
      return p.displayName;
    case "avatar_url":
      return p.avatarUrl;
    case "locale":
      return p.locale;
    default:
      return Object.hasOwn(p.metadata ?? {}, field) ? p.metadata![field] : undefined;
  }
}

/**
 * compat(hbp): a custom claim's value is a string as Hasura session variables are: strings as they
 * are, arrays as a Postgres array literal, anything else as JSON (a missing field is "null"), as
 * HBP's generatePermissionVariables wrote them. A value over CUSTOM_CLAIM_MAX, or past the total
 * cap, is left out rather than cut: a truncated value could match a permission it should not.
 */
export function customClaims(fields: Config["jwt"]["customFields"], p: ClaimProfile): Record<string, string> {
  const out: Record<string, string> = {};
  let total = 0;
  for (const { claim, field } of fields) {
    const v = profileValue(p, field);
    const text =
      typeof v === "string"
        ? v
        : Array.isArray(v)
          ? `{${v.map((e) => `"${String(e).replace(/["\\]/g, "\\$&")}"`).join(",")}}`
          : JSON.stringify(v ?? null);
    if (text.length > CUSTOM_CLAIM_MAX || total + text.length > CUSTOM_CLAIMS_TOTAL_MAX) continue;
    total += text.length;
    out[`x-hasura-${claim}`] = text;
  }
  return out;
}

export interface TokenService {
  /**
   * Signs an access token living `ttl` seconds (default ACCESS_TOKEN_TTL); `fixed` gives its jti
   * and issue time (seconds) instead of a random one and now.
   */
  issue(
    subject: TokenSubject,
    ttl?: number,
    fixed?: { jti: string; issuedAt: number },
  ): Promise<{ token: string; expiresIn: number }>;
  /**
   * Verifies signature, algorithm, issuer, audience, type and claims. With `allowExpired` the
   * expiry is not enforced (vault's refresh takes an expired access token); the caller then
   * bounds the token's age itself.
   */
  verify(token: string, opts?: { allowExpired?: boolean }): Promise<AccessClaims>;
  jwks(): Promise<{ keys: unknown[] }>;
}

const MEMO_MAX = 10_000;

/**
 * Claims of tokens this isolate has already verified, per JWT configuration: a client sends the
 * same token with every request until it expires, and the signature check is most of a read's
 * cost. A hit is still refused once the token has expired; whether its session is alive is not
 * decided here (sessions.authenticate asks D1 or its 5 s read cache).
 */
const verified = new WeakMap<object, Map<string, AccessClaims & { exp: number }>>();

function verifiedFor(jwt: object) {
  let memo = verified.get(jwt);
  if (!memo) {
    memo = new Map();
    verified.set(jwt, memo);
  }
  return memo;
}

function remember(memo: Map<string, AccessClaims & { exp: number }>, token: string, claims: AccessClaims) {
  if (typeof claims.exp !== "number") return;
  if (memo.size >= MEMO_MAX) memo.clear();
  memo.set(token, claims as AccessClaims & { exp: number });
}

export function createTokenService(deps: {
  keys: () => Promise<KeySet>;
  jwt: Config["jwt"];
  clock: Clock;
}): TokenService {
  const { jwt, clock } = deps;
  return {
    async issue(s, ttl = jwt.accessTtl, fixed) {
      const claims: JWTPayload = { sid: s.sessionId };
      if (jwt.claimsNamespace) {
        const roles = s.allowedRoles.includes(s.defaultRole)
          ? s.allowedRoles
          : [...s.allowedRoles, s.defaultRole];
        claims[jwt.claimsNamespace] = {
          // Custom claims first: the standard ones below always win.
          ...customClaims(jwt.customFields, s.profile ?? {}),
          "x-hasura-user-id": s.userId,
          "x-hasura-allowed-roles": roles,
          "x-hasura-default-role": s.defaultRole,
        };
      }
      const token = await signJwt(deps, {
        typ: "at+jwt",
        subject: s.userId,
        claims,
        ttlSeconds: ttl,
        jti: fixed?.jti,
        issuedAt: fixed?.issuedAt,
      });
      return { token, expiresIn: ttl };
    },

    async verify(token, opts = {}) {
      if (!token || token.length > MAX_TOKEN_LENGTH) throw new AuthError("INVALID_TOKEN");
      const memo = verifiedFor(jwt);
      if (!opts.allowExpired) {
        const hit = memo.get(token);
        if (hit) {
          if (hit.exp * 1000 + CLOCK_TOLERANCE_MS > clock.now()) return hit;
          memo.delete(token);
          throw new AuthError("TOKEN_EXPIRED");
        }
      }
      let at = clock.now();
      if (opts.allowExpired) {
        // Verify as of the token's own issue time (never later than now): exp and maxTokenAge hold then.
        let iat: unknown;
        try {
          iat = decodeJwt(token).iat;
        } catch (e) {
          throw new AuthError("INVALID_TOKEN", { cause: e });
        }
        if (typeof iat !== "number") throw new AuthError("INVALID_TOKEN");
        at = Math.min(at, iat * 1000);
      }
      const payload = await verifyJwt(deps, token, {
        typ: "at+jwt",
        requiredClaims: ["exp", "iat", "sub", "sid", "jti"],
        maxLifetime: jwt.longestTtl,
        maxTokenAge: jwt.longestTtl + 60,
        at,
      });
      if (typeof payload.sid !== "string") throw new AuthError("INVALID_TOKEN");
      if (!opts.allowExpired) remember(memo, token, payload as AccessClaims);
      return payload as AccessClaims;
    },

    async jwks() {
      return (await deps.keys()).jwks;
    },
  };
}
