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
import { hmacSha256, randomToken, sha256Hex } from "../../lib/crypto";
import { toBase64Url } from "../../lib/encoding";
import type { Config } from "../config";
import { AuthError } from "../errors";
import { type EventRecorder, noEvents } from "../events/events";
import type { PurposeTokenService } from "../tokens/purpose-tokens";
import type { AccessClaims, ClaimProfile, TokenService } from "../tokens/tokens.service";
import { forgetSessions, recentlyAlive, rememberAlive } from "./session-cache";
import type {
  NewRefreshToken,
  NewSession,
  SessionListRow,
  SessionStore,
  SessionUserRow,
  SessionWriteExtras,
} from "./sessions.store";

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

/** A session not yet written: its rows and the refresh token handed out once it is. */
export interface SessionDraft {
  sessionId: string;
  refreshToken: string;
  session: NewSession;
  firstToken: NewRefreshToken;
  keep: number;
}

export interface SessionContext {
  userAgent?: string | null;
  ip?: string | null;
  /**
   * When the user last proved a credential, for a session handed over from an earlier sign-in (a
   * hosted page's session): the new session inherits it instead of counting as a fresh sign-in,
   * so a hand-over cannot renew step-up (step-up.ts). Never later than now.
   */
  authAt?: number;
}

export interface Principal {
  userId: string;
  sessionId: string;
  claims: AccessClaims;
}

export interface SessionService {
  /**
   * A new session; `also` is written in the same round trip (see SessionStore.create). The access
   * token lives `accessTtl` seconds when given (hanko's longer session tokens).
   */
  create(
    user: SessionUser,
    amr: string[],
    ctx?: SessionContext,
    also?: SessionWriteExtras,
    accessTtl?: number,
  ): Promise<IssuedSession>;
  /**
   * The rows of a new session, for a store that writes them in a batch of its own (sessions.store.ts
   * `sessionStatements`, e.g. together with spending a passcode); then `issueFor` signs its tokens.
   */
  draft(userId: string, amr: string[], ctx?: SessionContext): Promise<SessionDraft>;
  /**
   * Tokens for a drafted session its store has written; `endedOthers` is what the cap update ended.
   * The access token lives `accessTtl` seconds when given (hanko's longer session tokens).
   */
  issueFor(
    user: SessionUser,
    draft: SessionDraft,
    endedOthers: number,
    accessTtl?: number,
  ): Promise<IssuedSession>;
  /** Rotates a refresh token (see module comment); answers the user the tokens were issued for too. */
  refresh(refreshToken: string): Promise<IssuedSession & { user: SessionUserRow }>;
  /** Verifies an access token and that its session is alive and its user enabled. */
  authenticate(accessToken: string, opts?: { read?: boolean }): Promise<Principal>;
  /** The user and session a refresh token belongs to, without rotating it. */
  peek(refreshToken: string): Promise<{ userId: string; sessionId: string } | null>;
  /**
   * Authenticates with a refresh token used as a session credential (a session cookie): only the
   * current token of a live session (or one rotated within the grace window), of an enabled user.
   * `amr`: the methods the session was signed in with.
   */
  resolve(
    refreshToken: string,
  ): Promise<{ userId: string; sessionId: string; amr: string[]; authAt: number }>;
  /**
   * compat(vault): a new access token for the session of `accessToken`, which may have expired but
   * must be younger than the refresh idle lifetime, of a live session and an enabled user. Each
   * access token is exchanged once (its jti is claimed by one conditional INSERT); presenting it
   * again after the grace window is treated like refresh-token reuse and ends the session.
   */
  reissue(accessToken: string): Promise<Omit<IssuedSession, "refreshToken">>;
  /** A new access token for a live session, living `ttl` seconds (hanko's longer session tokens). */
  accessToken(sessionId: string, ttl: number): Promise<{ accessToken: string; expiresIn: number }>;
  /** Ends one session (a logout unless `reason` says otherwise). */
  revoke(sessionId: string, reason?: RevokeReason): Promise<void>;
  /** Ends every session of the user but `exceptSessionId` (a logout everywhere unless `reason` says otherwise). */
  revokeAll(userId: string, exceptSessionId?: string, reason?: RevokeReason): Promise<void>;
  /** The user's live sessions, newest first. */
  list(userId: string): Promise<SessionListRow[]>;
  /** Ends one live session of the user; NOT_FOUND for any other id (another user's included). */
  revokeOwn(userId: string, sessionId: string): Promise<void>;
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
  /**
   * When the user last proved a credential in the session, as `authenticate` read it with the
   * session's liveness in this request; undefined when it did not.
   */
  authAtSeen(userId: string, sessionId: string): number | undefined;
}

export type RevokeReason = "logout" | "security_change" | "admin";

export interface CookiePrincipal {
  userId: string;
  sessionId: string;
  defaultRole: string;
  allowedRoles: string[];
}

/**
 * The successor of a one-time credential: HMAC-SHA-256 under a server key. It must be keyed: anyone
 * holding an old, already rotated token could otherwise compute every later token of its chain and
 * use the live one without ever presenting the old one.
 */
async function successorOf(secret: Uint8Array, purpose: string, parent: string): Promise<string> {
  return toBase64Url(await hmacSha256(secret, `${purpose}\n${parent}`));
}

export function createSessionService(deps: {
  store: SessionStore;
  tokens: TokenService;
  purpose: PurposeTokenService;
  clock: Clock;
  sessions: Config["sessions"];
  /** The server key successors are derived with (see successorOf; the root secret's refresh-successor key). */
  successorSecret: Uint8Array;
  events?: EventRecorder;
}): SessionService {
  const { store, tokens, clock, sessions: cfg } = deps;
  const events = deps.events ?? noEvents;
  const revoked = (ended: { sessionId: string; userId: string }[], reason: RevokeReason | "reuse") => {
    for (const e of ended) events.emit({ type: "session.revoked", ...e, reason });
  };
  const idleMs = cfg.refreshIdleTtl * 1000;
  const graceMs = cfg.reuseGrace * 1000;
  const successor = (purpose: string, parent: string) => successorOf(deps.successorSecret, purpose, parent);
  /** `auth_at` of the sessions `authenticate` found live, by `user:session` (a service lives for one request). */
  const authAtSeen = new Map<string, number>();

  async function userFor(sessionId: string): Promise<SessionUserRow> {
    const user = await store.user(sessionId);
    if (!user) throw new AuthError("INVALID_REFRESH_TOKEN");
    return user;
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
    ttl?: number,
  ): Promise<IssuedSession> {
    const access = await tokens.issue(subjectOf(user, sessionId), ttl, fixed);
    return {
      sessionId,
      userId: user.id,
      accessToken: access.token,
      expiresIn: access.expiresIn,
      refreshToken,
    };
  }

  const service: SessionService = {
    async create(user, amr, ctx = {}, also = {}, accessTtl) {
      const draft = await service.draft(user.id, amr, ctx);
      const ended = await store.create(draft.session, draft.firstToken, draft.keep, also);
      return service.issueFor(user, draft, ended, accessTtl);
    },

    async draft(userId, amr, ctx = {}) {
      const now = clock.now();
      const sessionId = crypto.randomUUID();
      const refreshToken = randomToken();
      const expiresAt = now + cfg.absoluteTtl * 1000;
      return {
        sessionId,
        refreshToken,
        session: {
          id: sessionId,
          userId,
          createdAt: now,
          lastSeenAt: now,
          expiresAt,
          userAgent: ctx.userAgent?.slice(0, 512) ?? null,
          ip: ctx.ip ?? null,
          amr,
          // A session starts with a sign-in: a proven credential (step-up.ts), unless it is handed
          // over from an earlier one.
          authAt: Math.min(ctx.authAt ?? now, now),
        },
        firstToken: {
          hash: await sha256Hex(refreshToken),
          sessionId,
          createdAt: now,
          expiresAt: Math.min(now + idleMs, expiresAt),
        },
        // Keep at most maxPerUser live sessions: the oldest beyond that end now.
        keep: cfg.maxPerUser,
      };
    },

    async issueFor(user, draft, endedOthers, accessTtl) {
      // Only a login that ended older sessions has anything to make this isolate forget.
      if (endedOthers > 0) forgetSessions();
      // Every session is a sign-in (password, code, link, passkey, provider, or a new account's first).
      events.emit({
        type: "sign_in.succeeded",
        userId: user.id,
        sessionId: draft.sessionId,
        methods: draft.session.amr,
      });
      return issue(user, draft.sessionId, draft.refreshToken, undefined, accessTtl);
    },

    async refresh(refreshToken) {
      if (!refreshToken || refreshToken.length > 200) throw new AuthError("INVALID_REFRESH_TOKEN");
      const now = clock.now();
      const oldHash = await sha256Hex(refreshToken);
      const child = await successor("refresh", refreshToken);
      const childHash = await sha256Hex(child);

      // One round trip (sessions.store.ts `present`): the rotation, guarded by the marker it writes
      // (a parallel loser adds nothing); reuse detection; and the user the new access token needs.
      // Presented again within the grace window (another tab, a retried request), the token gets
      // the successor it was rotated to, which this derivation gives again, and nothing is written,
      // so a burst of parallel refreshes leaves exactly one live token. Reused after the window
      // (assume theft), the whole family ends; within the window but with another successor (the
      // server secret changed), the request only fails.
      const { user, reuseEnded } = await store.present(oldHash, childHash, now, { idleMs, graceMs });
      if (reuseEnded) {
        forgetSessions();
        events.emit({ type: "token.reuse_detected", ...reuseEnded });
        revoked([reuseEnded], "reuse");
      }
      if (!user || user.disabled) throw new AuthError("INVALID_REFRESH_TOKEN");
      return { ...(await issue(user, user.sessionId, child)), user };
    },

    async authenticate(accessToken, opts = {}) {
      const claims = await tokens.verify(accessToken);
      const now = clock.now();
      // Reads may trust a liveness check a few seconds old (see session-cache.ts).
      if (opts.read && recentlyAlive(claims.sid, claims.sub, now)) {
        return { userId: claims.sub, sessionId: claims.sid, claims };
      }
      // The liveness read answers the session's auth_at too: a step-up check later in this request
      // needs no round trip of its own (step-up.ts).
      const authAt = await store.authAt(claims.sid, claims.sub, now);
      if (authAt === null) throw new AuthError("INVALID_TOKEN");
      authAtSeen.set(`${claims.sub}:${claims.sid}`, authAt);
      rememberAlive(claims.sid, claims.sub, now);
      return { userId: claims.sub, sessionId: claims.sid, claims };
    },

    async peek(refreshToken) {
      if (!refreshToken || refreshToken.length > 200) return null;
      return store.byRefreshToken(await sha256Hex(refreshToken), clock.now());
    },

    async resolve(refreshToken) {
      if (!refreshToken || refreshToken.length > 200) throw new AuthError("INVALID_TOKEN");
      const now = clock.now();
      const ref = await store.byCurrentRefreshToken(await sha256Hex(refreshToken), now, graceMs);
      if (!ref) throw new AuthError("INVALID_TOKEN");
      return ref;
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
      const claimHash = await sha256Hex(`access-reissue:${claims.jti}`);
      // One round trip: the claim (a row in tickets, purpose access_reissue, until the token could
      // no longer be used), when it was made, the touch, the user and whether the session is alive.
      const found = await store.reissue(
        {
          hash: claimHash,
          userId: claims.sub,
          sessionId: claims.sid,
          createdAt: now,
          expiresAt: claims.iat * 1000 + idleMs,
        },
        graceMs,
      );
      const user = found.user;
      if (!user || user.disabled || user.id !== claims.sub) throw new AuthError("INVALID_TOKEN");
      let claimedAt = now;
      if (!found.claimed) {
        if (found.claimedAt === null) throw new AuthError("INVALID_TOKEN");
        claimedAt = found.claimedAt;
        if (claimedAt <= now - graceMs) {
          const ended = await store.revoke(claims.sid, now);
          forgetSessions();
          for (const e of ended) events.emit({ type: "token.reuse_detected", ...e });
          revoked(ended, "reuse");
          throw new AuthError("INVALID_TOKEN");
        }
        if (!found.alive) throw new AuthError("INVALID_TOKEN");
      }
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

    async revoke(sessionId, reason = "logout") {
      revoked(await store.revoke(sessionId, clock.now()), reason);
      forgetSessions();
    },

    async cookieToken({ sessionId, userId }) {
      return deps.purpose.sign("session+jwt", userId, { sid: sessionId }, cfg.absoluteTtl);
    },

    async authenticateCookie(token) {
      const payload = await deps.purpose.verify("session+jwt", token);
      if (typeof payload.sid !== "string") throw new AuthError("INVALID_TOKEN");
      const roles = await store.aliveRoles(payload.sid, payload.sub, clock.now());
      if (!roles) throw new AuthError("INVALID_TOKEN");
      return { userId: payload.sub, sessionId: payload.sid, ...roles };
    },

    list: (userId) => store.listLive(userId, clock.now()),

    authAtSeen: (userId, sessionId) => authAtSeen.get(`${userId}:${sessionId}`),

    async revokeOwn(userId, sessionId) {
      const ended = await store.revokeOwn(userId, sessionId, clock.now());
      forgetSessions();
      if (!ended) throw new AuthError("NOT_FOUND");
      revoked([{ sessionId, userId }], "logout");
    },

    async revokeAll(userId, exceptSessionId, reason = "logout") {
      revoked(await store.revokeAll(userId, clock.now(), exceptSessionId), reason);
      forgetSessions();
    },
  };
  return service;
}
