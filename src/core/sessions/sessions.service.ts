/**
 * Sessions and refresh-token families. A session row is one login; its refresh tokens form a
 * rotation chain. Refresh tokens are 256-bit opaque strings stored as SHA-256 and rotated on every
 * use, by one D1 batch whose later statements are guarded by the marker (`replaced_by`) the first
 * one wrote, so two parallel uses of one token cannot both rotate it. The successor of a token is
 * derived from it with a server key, so a token presented again within the grace window (two tabs
 * refreshing at once) gets that same successor back without it being stored, and the chain never
 * branches; presented after the window, the whole session is revoked (reuse detection, RFC 9700
 * §4.14).
 */

import type { Clock } from "../../lib/clock";
import { randomToken, sha256Hex } from "../../lib/crypto";
import { toBase64Url, utf8 } from "../../lib/encoding";
import type { Config } from "../config";
import { AuthError } from "../errors";
import type { PurposeTokenService } from "../tokens/purpose-tokens";
import type { AccessClaims, ClaimProfile, TokenService } from "../tokens/tokens.service";
import { forgetSessions, recentlyAlive, rememberAlive } from "./session-cache";

export interface SessionUser extends ClaimProfile {
  id: string;
  defaultRole: string;
  allowedRoles: string[];
}

export interface IssuedSession {
  sessionId: string;
  userId: string;
  accessToken: string;
  /** Access token lifetime in seconds. */
  expiresIn: number;
  refreshToken: string;
}

export interface SessionContext {
  userAgent?: string | null;
  ip?: string | null;
}

export interface Principal {
  userId: string;
  sessionId: string;
  claims: AccessClaims;
}

export interface SessionService {
  create(user: SessionUser, amr: string[], ctx?: SessionContext): Promise<IssuedSession>;
  /** Rotates a refresh token (see module comment). */
  refresh(refreshToken: string): Promise<IssuedSession>;
  /** Verifies an access token and that its session is alive and its user enabled. */
  authenticate(accessToken: string, opts?: { read?: boolean }): Promise<Principal>;
  /** The user and session a refresh token belongs to, without rotating it. */
  peek(refreshToken: string): Promise<{ userId: string; sessionId: string } | null>;
  /**
   * Authenticates with a refresh token used as a session credential (a session cookie): only the
   * current token of a live session (or one rotated within the grace window), of an enabled user.
   */
  resolve(refreshToken: string): Promise<{ userId: string; sessionId: string }>;
  /**
   * compat(vault): a new access token for the session of `accessToken`, which may have expired but
   * must be younger than the refresh idle lifetime, of a live session and an enabled user. Each
   * access token is exchanged once (its jti is claimed by one conditional INSERT); presenting it
   * again after the grace window is treated like refresh-token reuse and ends the session.
   */
  reissue(accessToken: string): Promise<Omit<IssuedSession, "refreshToken">>;
  /** A new access token for a live session, living `ttl` seconds (hanko's longer session tokens). */
  accessToken(sessionId: string, ttl: number): Promise<{ accessToken: string; expiresIn: number }>;
  revoke(sessionId: string): Promise<void>;
  revokeAll(userId: string, exceptSessionId?: string): Promise<void>;
  /**
   * A cookie credential for a session (HBP's session cookie): signed, bound to the session and its
   * user, carrying no claims, and lasting no longer than the session. It is not a refresh token and
   * cannot mint one.
   */
  cookieToken(session: { sessionId: string; userId: string }): Promise<string>;
  /**
   * The principal of a session cookie, with the user's roles. Every use asks D1 (no read cache), so
   * a logout or revocation ends it at once everywhere.
   */
  authenticateCookie(token: string): Promise<CookiePrincipal>;
}

export interface CookiePrincipal {
  userId: string;
  sessionId: string;
  defaultRole: string;
  allowedRoles: string[];
}

const successorKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

/**
 * The successor of a one-time credential: HMAC-SHA-256 under a server key. It must be keyed: anyone
 * holding an old, already rotated token could otherwise compute every later token of its chain and
 * use the live one without ever presenting the old one.
 */
async function successorOf(secret: Uint8Array, purpose: string, parent: string): Promise<string> {
  let key = successorKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    successorKeys.set(secret, key);
  }
  const mac = await crypto.subtle.sign("HMAC", await key, utf8(`${purpose}\n${parent}`));
  return toBase64Url(new Uint8Array(mac));
}

export function createSessionService(deps: {
  d1: D1Database;
  tokens: TokenService;
  purpose: PurposeTokenService;
  clock: Clock;
  sessions: Config["sessions"];
  /** The server key successors are derived with (see successorOf; the root secret's refresh-successor key). */
  successorSecret: Uint8Array;
}): SessionService {
  const { d1, tokens, clock, sessions: cfg } = deps;
  const idleMs = cfg.refreshIdleTtl * 1000;
  const graceMs = cfg.reuseGrace * 1000;
  const successor = (purpose: string, parent: string) => successorOf(deps.successorSecret, purpose, parent);

  async function userFor(sessionId: string): Promise<SessionUser & { disabled: number }> {
    const row = await d1
      .prepare(
        `SELECT u.id, u.default_role, u.allowed_roles, u.disabled, u.display_name, u.avatar_url, u.locale,
           u.metadata, e.address FROM sessions s JOIN users u ON u.id = s.user_id
         LEFT JOIN emails e ON e.user_id = u.id AND e.is_primary = 1 WHERE s.id = ?`,
      )
      .bind(sessionId)
      .first<{
        id: string;
        default_role: string;
        allowed_roles: string;
        disabled: number;
        display_name: string | null;
        avatar_url: string | null;
        locale: string | null;
        metadata: string;
        address: string | null;
      }>();
    if (!row) throw new AuthError("INVALID_REFRESH_TOKEN");
    return {
      id: row.id,
      defaultRole: row.default_role,
      allowedRoles: JSON.parse(row.allowed_roles),
      disabled: row.disabled,
      email: row.address,
      displayName: row.display_name,
      avatarUrl: row.avatar_url,
      locale: row.locale,
      metadata: JSON.parse(row.metadata),
    };
  }

  const subjectOf = (user: SessionUser, sessionId: string) => ({
    userId: user.id,
    sessionId,
    defaultRole: user.defaultRole,
    allowedRoles: user.allowedRoles,
    profile: user,
  });

  async function issue(
    user: SessionUser,
    sessionId: string,
    refreshToken: string,
    fixed?: { jti: string; issuedAt: number },
  ): Promise<IssuedSession> {
    const access = await tokens.issue(subjectOf(user, sessionId), undefined, fixed);
    return {
      sessionId,
      userId: user.id,
      accessToken: access.token,
      expiresIn: access.expiresIn,
      refreshToken,
    };
  }

  // The child's expiry: idle lifetime, never past the session's absolute end.
  const insertChild = `INSERT INTO refresh_tokens (hash, session_id, parent_hash, created_at, expires_at)
    SELECT ?1, r.session_id, r.hash, ?2, MIN(?2 + ?3, s.expires_at)
    FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id`;

  return {
    async create(user, amr, ctx = {}) {
      const now = clock.now();
      const sessionId = crypto.randomUUID();
      const refreshToken = randomToken();
      const expiresAt = now + cfg.absoluteTtl * 1000;
      const [, , capped] = await d1.batch([
        d1
          .prepare(
            "INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, user_agent, ip, amr) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          )
          .bind(
            sessionId,
            user.id,
            now,
            now,
            expiresAt,
            ctx.userAgent?.slice(0, 512) ?? null,
            ctx.ip ?? null,
            JSON.stringify(amr),
          ),
        d1
          .prepare(
            "INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
          )
          .bind(await sha256Hex(refreshToken), sessionId, now, Math.min(now + idleMs, expiresAt)),
        // Keep at most maxPerUser live sessions: the oldest beyond that end now.
        d1
          .prepare(
            `UPDATE sessions SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL AND id NOT IN
              (SELECT id FROM sessions WHERE user_id = ?2 AND revoked_at IS NULL ORDER BY created_at DESC, id LIMIT ?3)`,
          )
          .bind(now, user.id, cfg.maxPerUser),
      ]);
      // Only a login that ended older sessions has anything to make this isolate forget.
      if (capped && capped.meta.changes > 0) forgetSessions();
      return issue(user, sessionId, refreshToken);
    },

    async refresh(refreshToken) {
      if (!refreshToken || refreshToken.length > 200) throw new AuthError("INVALID_REFRESH_TOKEN");
      const now = clock.now();
      const oldHash = await sha256Hex(refreshToken);
      const child = await successor("refresh", refreshToken);
      const childHash = await sha256Hex(child);
      const alive = "session_id IN (SELECT id FROM sessions WHERE revoked_at IS NULL AND expires_at > ?3)";

      const [rotated] = await d1.batch<{ session_id: string }>([
        d1
          .prepare(
            `UPDATE refresh_tokens SET rotated_at = ?3, replaced_by = ?2
             WHERE hash = ?1 AND rotated_at IS NULL AND expires_at > ?3 AND ${alive} RETURNING session_id`,
          )
          .bind(oldHash, childHash, now),
        d1
          // A parallel loser finds the same successor already there: nothing to add.
          .prepare(`${insertChild} WHERE r.hash = ?4 AND r.replaced_by = ?1 ON CONFLICT(hash) DO NOTHING`)
          .bind(childHash, now, idleMs, oldHash),
        d1
          .prepare(
            "UPDATE sessions SET last_seen_at = ?1 WHERE id = (SELECT session_id FROM refresh_tokens WHERE hash = ?2)",
          )
          .bind(now, childHash),
      ]);
      let sessionId = rotated?.results[0]?.session_id;

      if (!sessionId) {
        // Presented again within the grace window (another tab, a retried request): the successor
        // it was rotated to, which this derivation gives again. Nothing is written, so a burst of
        // parallel refreshes leaves exactly one live token.
        const again = await d1
          .prepare(
            `SELECT r.session_id FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
             WHERE r.hash = ?1 AND r.replaced_by = ?2 AND r.rotated_at > ?3 - ?4
               AND s.revoked_at IS NULL AND s.expires_at > ?3`,
          )
          .bind(oldHash, childHash, now, graceMs)
          .first<{ session_id: string }>();
        sessionId = again?.session_id;
      }

      if (!sessionId) {
        // Reuse of a rotated token after the grace window: assume theft, end the whole family.
        // (Within the window but with another successor, i.e. the server secret changed, the
        // request only fails.)
        const ended = await d1
          .prepare(
            `UPDATE sessions SET revoked_at = ?1 WHERE revoked_at IS NULL AND id =
              (SELECT session_id FROM refresh_tokens WHERE hash = ?2 AND rotated_at IS NOT NULL AND rotated_at <= ?1 - ?3)`,
          )
          .bind(now, oldHash, graceMs)
          .run();
        if (ended.meta.changes > 0) forgetSessions();
        throw new AuthError("INVALID_REFRESH_TOKEN");
      }

      const user = await userFor(sessionId);
      if (user.disabled) throw new AuthError("INVALID_REFRESH_TOKEN");
      return issue(user, sessionId, child);
    },

    async authenticate(accessToken, opts = {}) {
      const claims = await tokens.verify(accessToken);
      const now = clock.now();
      // Reads may trust a liveness check a few seconds old (see session-cache.ts).
      if (opts.read && recentlyAlive(claims.sid, claims.sub, now)) {
        return { userId: claims.sub, sessionId: claims.sid, claims };
      }
      const row = await d1
        .prepare(
          `SELECT s.user_id FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.id = ? AND s.user_id = ? AND s.revoked_at IS NULL AND s.expires_at > ? AND u.disabled = 0`,
        )
        .bind(claims.sid, claims.sub, now)
        .first<{ user_id: string }>();
      if (!row) throw new AuthError("INVALID_TOKEN");
      rememberAlive(claims.sid, claims.sub, now);
      return { userId: claims.sub, sessionId: claims.sid, claims };
    },

    async peek(refreshToken) {
      if (!refreshToken || refreshToken.length > 200) return null;
      const row = await d1
        .prepare(
          `SELECT s.id, s.user_id FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
           WHERE r.hash = ? AND s.revoked_at IS NULL AND s.expires_at > ?`,
        )
        .bind(await sha256Hex(refreshToken), clock.now())
        .first<{ id: string; user_id: string }>();
      return row ? { sessionId: row.id, userId: row.user_id } : null;
    },

    async resolve(refreshToken) {
      if (!refreshToken || refreshToken.length > 200) throw new AuthError("INVALID_TOKEN");
      const now = clock.now();
      const row = await d1
        .prepare(
          `SELECT s.id, s.user_id FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
           JOIN users u ON u.id = s.user_id
           WHERE r.hash = ?1 AND r.expires_at > ?2 AND (r.rotated_at IS NULL OR r.rotated_at > ?2 - ?3)
             AND s.revoked_at IS NULL AND s.expires_at > ?2 AND u.disabled = 0`,
        )
        .bind(await sha256Hex(refreshToken), now, graceMs)
        .first<{ id: string; user_id: string }>();
      if (!row) throw new AuthError("INVALID_TOKEN");
      return { sessionId: row.id, userId: row.user_id };
    },

    async reissue(accessToken) {
      const claims = await tokens.verify(accessToken, { allowExpired: true });
      const now = clock.now();
      if (
        typeof claims.iat !== "number" ||
        claims.iat * 1000 <= now - idleMs ||
        typeof claims.jti !== "string"
      )
        throw new AuthError("INVALID_TOKEN");
      const user = await userFor(claims.sid).catch(() => {
        throw new AuthError("INVALID_TOKEN");
      });
      if (user.disabled || user.id !== claims.sub) throw new AuthError("INVALID_TOKEN");
      const claimHash = await sha256Hex(`access-reissue:${claims.jti}`);
      // The claim row lives in tickets (purpose access_reissue) until the token could no longer be used.
      const claimed = await d1
        .prepare(
          `INSERT INTO tickets (hash, purpose, user_id, data, attempts, created_at, expires_at)
           SELECT ?1, 'access_reissue', ?2, '{}', 0, ?3, ?4
           WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ?5 AND user_id = ?2 AND revoked_at IS NULL AND expires_at > ?3)
           ON CONFLICT(hash) DO NOTHING RETURNING hash`,
        )
        .bind(claimHash, claims.sub, now, claims.iat * 1000 + idleMs, claims.sid)
        .first<{ hash: string }>();
      let claimedAt = now;
      if (!claimed) {
        const earlier = await d1
          .prepare("SELECT created_at FROM tickets WHERE hash = ? AND purpose = 'access_reissue'")
          .bind(claimHash)
          .first<{ created_at: number }>();
        if (!earlier) throw new AuthError("INVALID_TOKEN");
        claimedAt = earlier.created_at;
        if (earlier.created_at <= now - graceMs) {
          await d1
            .prepare("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(now, claims.sid)
            .run();
          forgetSessions();
          throw new AuthError("INVALID_TOKEN");
        }
        const alive = await d1
          .prepare("SELECT 1 AS ok FROM sessions WHERE id = ? AND revoked_at IS NULL AND expires_at > ?")
          .bind(claims.sid, now)
          .first();
        if (!alive) throw new AuthError("INVALID_TOKEN");
      }
      await d1.prepare("UPDATE sessions SET last_seen_at = ? WHERE id = ?").bind(now, claims.sid).run();
      // The successor has a derived jti and the claim's time as iat: every answer within the grace
      // window is the same token (up to its signature), which can itself be exchanged once.
      const { refreshToken: _none, ...session } = await issue(user, claims.sid, "", {
        jti: await successor("access", claims.jti),
        issuedAt: Math.floor(claimedAt / 1000),
      });
      return session;
    },

    async accessToken(sessionId, ttl) {
      const user = await userFor(sessionId);
      if (user.disabled) throw new AuthError("INVALID_TOKEN");
      const access = await tokens.issue(subjectOf(user, sessionId), ttl);
      return { accessToken: access.token, expiresIn: access.expiresIn };
    },

    async revoke(sessionId) {
      await d1
        .prepare("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
        .bind(clock.now(), sessionId)
        .run();
      forgetSessions();
    },

    async cookieToken({ sessionId, userId }) {
      return deps.purpose.sign("session+jwt", userId, { sid: sessionId }, cfg.absoluteTtl);
    },

    async authenticateCookie(token) {
      const payload = await deps.purpose.verify("session+jwt", token);
      if (typeof payload.sid !== "string") throw new AuthError("INVALID_TOKEN");
      const row = await d1
        .prepare(
          `SELECT u.default_role, u.allowed_roles FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.id = ? AND s.user_id = ? AND s.revoked_at IS NULL AND s.expires_at > ? AND u.disabled = 0`,
        )
        .bind(payload.sid, payload.sub, clock.now())
        .first<{ default_role: string; allowed_roles: string }>();
      if (!row) throw new AuthError("INVALID_TOKEN");
      return {
        userId: payload.sub,
        sessionId: payload.sid,
        defaultRole: row.default_role,
        allowedRoles: JSON.parse(row.allowed_roles),
      };
    },

    async revokeAll(userId, exceptSessionId) {
      await d1
        .prepare(
          "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id IS NOT ?",
        )
        .bind(clock.now(), userId, exceptSessionId ?? null)
        .run();
      forgetSessions();
    },
  };
}
