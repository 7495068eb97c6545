/**
 * Step-up: a sensitive change (email, password, turning TOTP off, removing a passkey, deleting the
 * account) needs the session it comes from to have proved a credential recently. A session's
 * `auth_at` is set when it starts (every session is a sign-in) and moved only by a re-authentication
 * (/v1/reauthenticate); refreshing tokens never moves it, so a stolen refresh token or a long-lived
 * access token alone cannot make these changes.
 */
import type { Clock } from "../../lib/clock";
import { AuthError } from "../errors";
import type { SessionStore } from "./sessions.store";

export interface StepUpService {
  /** Seconds an authentication counts as recent; 0: the check is off. */
  readonly maxAge: number;
  /**
   * Whether the live session `sessionId` of `userId` proved a credential within `maxAge` seconds
   * (always true when the check is off). INVALID_TOKEN when the session is not live.
   */
  isRecent(userId: string, sessionId: string): Promise<boolean>;
  /** REAUTHENTICATION_REQUIRED unless `isRecent`. */
  require(userId: string, sessionId: string): Promise<void>;
  /**
   * Records a fresh authentication in the caller's own live, unrevoked session (one conditional
   * UPDATE); answers its time (ms). INVALID_TOKEN for any other session.
   */
  record(userId: string, sessionId: string): Promise<number>;
}

export function createStepUpService(deps: {
  store: SessionStore;
  clock: Clock;
  maxAge: number;
  /** `auth_at` as this request's authentication already read it (SessionService.authAtSeen). */
  seen?: (userId: string, sessionId: string) => number | undefined;
}): StepUpService {
  const { store, clock, maxAge } = deps;
  const service: StepUpService = {
    maxAge,
    async isRecent(userId, sessionId) {
      if (maxAge === 0) return true;
      const now = clock.now();
      const authAt = deps.seen?.(userId, sessionId) ?? (await store.authAt(sessionId, userId, now));
      if (authAt === null) throw new AuthError("INVALID_TOKEN");
      return now - authAt <= maxAge * 1000;
    },
    async require(userId, sessionId) {
      if (!(await service.isRecent(userId, sessionId))) throw new AuthError("REAUTHENTICATION_REQUIRED");
    },
    async record(userId, sessionId) {
      const now = clock.now();
      if (!(await store.markAuthenticated(sessionId, userId, now))) throw new AuthError("INVALID_TOKEN");
      return now;
    },
  };
  return service;
}
