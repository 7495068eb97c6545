/**
 * Email passcodes: 6 random digits, valid for PASSCODE_TTL (300 s), 3 tries each. Only
 * HMAC-SHA-256(key, id:code) is stored, so a database copy does not hand out live codes. A try is
 * counted by one conditional UPDATE (`tries < 3`) before the code is compared, so of any number of
 * parallel guesses at most three are ever evaluated; a correct code is then spent by a second
 * conditional UPDATE, in the same batch as the session it starts, so it signs in once and never
 * without its session. Sending is limited per user (3 a minute, 10 an hour) by
 * counters that exist for unknown user ids too, so the limit does not reveal which ids are real.
 * Across codes, tries count against the account (ACCOUNT_MAX_FAILURES per 15 minutes, then a
 * lockout from 30 s doubling to 1 h), so new codes do not mean unlimited guesses.
 * Success proves the mailbox: the address becomes verified and the account active.
 *
 * Just-in-time sign-up (SIGNUP_ENABLED, existence hints off): POST /user answers an unknown address
 * with pseudo ids and leaves a pending sign-up behind (passcodes.store.ts). A passcode for those ids
 * is mailed as for an account ("use this code to create your account"), with the same answer and
 * the same round trips, and its right code creates the account, verified, under those ids and
 * signs in. Sign-up off, or the address taken meanwhile: the right code fails as a wrong one.
 */
import type { Clock } from "../../lib/clock";
import { hmacSha256, timingSafeEqual } from "../../lib/crypto";
import { fromBase64Url, toHex } from "../../lib/encoding";
import { AuthError } from "../errors";
import { type EventRecorder, noEvents } from "../events/events";
import type { Mailer } from "../mail/mailer";
import type { MailTemplates } from "../mail/templates";
import type { AttemptCounter } from "../rate-limit/attempts";
import type { DeferredLimit } from "../rate-limit/ip-limiter";
import type { IssuedSession, SessionContext, SessionService } from "../sessions/sessions.service";
import type { PasscodeStore } from "./passcodes.store";

export const PASSCODE_MAX_TRIES = 3;
/** [max sends, window seconds] per user. */
const SEND_LIMITS = [
  [3, 60],
  [10, 3600],
] as const;

export interface IssuedPasscode {
  id: string;
  /** Seconds. */
  ttl: number;
  createdAt: number;
}

export interface PasscodeService {
  /**
   * Mails a new passcode to the user's address `emailId` (default: the primary one). For an
   * unknown user id, `quiet` answers as if one was sent (existence hints off); otherwise NOT_FOUND.
   */
  initialize(input: {
    userId: string;
    emailId?: string;
    quiet: boolean;
    /** The route's per-IP mail window, counted in the send's round trip. */
    limit?: DeferredLimit;
  }): Promise<IssuedPasscode>;
  /**
   * Checks a code; on success verifies the address and starts a session (its access token living
   * `accessTtl` seconds when given). Two round trips, and the second is all or nothing.
   */
  finalize(input: {
    id: string;
    code: string;
    ctx?: SessionContext;
    accessTtl?: number;
  }): Promise<{ userId: string; session: IssuedSession }>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Uniform 6 digits from a CSPRNG (rejection sampling, no modulo bias). */
function randomCode(): string {
  const limit = 4_294_000_000; // largest multiple of 10^6 below 2^32
  for (;;) {
    const [n] = crypto.getRandomValues(new Uint32Array(1));
    if (n! < limit) return String(n! % 1_000_000).padStart(6, "0");
  }
}

export function createPasscodeService(deps: {
  store: PasscodeStore;
  clock: Clock;
  mailer: Mailer;
  /** Mail in the language of the request. */
  templates: MailTemplates;
  sessions: SessionService;
  /** Per-account attempts across passcodes (ACCOUNT_MAX_FAILURES in 15 min, then a doubling lockout). */
  attempts: AttemptCounter;
  /** PASSCODE_SECRET or the key derived for it from LATCHKEY_SECRET (base64url). */
  secret: string;
  ttlSeconds: number;
  /** Just-in-time sign-up (SIGNUP_ENABLED) and the roles a new account gets. */
  signup: { enabled: boolean; defaultRole: string; allowedRoles: string[] };
  events?: EventRecorder;
}): PasscodeService {
  const events = deps.events ?? noEvents;
  const { store, clock, mailer, sessions, attempts, ttlSeconds, signup } = deps;
  const key = fromBase64Url(deps.secret);
  const mac = (id: string, code: string) => hmacSha256(key, `${id}:${code}`);

  return {
    async initialize({ userId, emailId, quiet, limit }) {
      const id = typeof userId === "string" ? userId.toLowerCase() : "";
      if (!UUID.test(id)) throw new AuthError("INVALID_REQUEST", { detail: "user_id must be a UUID." });
      const now = clock.now();
      const passcodeId = crypto.randomUUID();
      const code = randomCode();
      // One round trip: the route's mail window and the send counted in each window and, when none
      // is full and the address is there, the recipient's mail window counted and, within it, the
      // passcode stored.
      const recipient = mailer.recipientWindow?.() ?? undefined;
      const { routeCounts, counters, target, signupTarget, stored } = await store.issue({
        windows: SEND_LIMITS.map(([max, seconds]) => ({
          key: `passcode-send:${seconds}:${id}`,
          windowMs: seconds * 1000,
          max,
        })),
        now,
        userId: id,
        emailId: emailId?.toLowerCase(),
        passcode: {
          id: passcodeId,
          codeMac: toHex(await mac(passcodeId, code)),
          createdAt: now,
          expiresAt: now + ttlSeconds * 1000,
        },
        signup: signup.enabled,
        recipient,
        routeWindows: limit?.windows,
      });
      limit?.check(routeCounts);
      SEND_LIMITS.forEach(([max, seconds], i) => {
        const row = counters[i];
        if (row && row.count > max) {
          throw new AuthError("RATE_LIMITED", {
            retryAfter: Math.max(1, Math.ceil((row.windowStart + seconds * 1000 - now) / 1000)),
          });
        }
      });
      const counted = { recipientCounted: recipient !== undefined };
      // Past the recipient's window nothing was stored and no mail goes out; the answer is the same.
      if ((target || signupTarget) && !stored) {
        console.warn("mail to one recipient over its limit; no passcode stored or sent");
        return { id: passcodeId, ttl: ttlSeconds, createdAt: now };
      }
      if (!target && signupTarget) {
        // As for an account: the same answer, after the same round trip and one mail.
        await mailer.send(
          deps.templates.passcode(signupTarget.address, code, ttlSeconds, { signUp: true }),
          counted,
        );
        return { id: passcodeId, ttl: ttlSeconds, createdAt: now };
      }
      if (!target) {
        if (!quiet) throw new AuthError("INVALID_REQUEST", { detail: "Unknown user or email address." });
        // Indistinguishable from a real send; finalize will find no such passcode.
        return { id: crypto.randomUUID(), ttl: ttlSeconds, createdAt: now };
      }
      await mailer.send(deps.templates.passcode(target.address, code, ttlSeconds), counted);
      return { id: passcodeId, ttl: ttlSeconds, createdAt: now };
    },

    async finalize({ id, code, ctx, accessTtl }) {
      const passcodeId = typeof id === "string" ? id.toLowerCase() : "";
      if (!UUID.test(passcodeId)) throw new AuthError("INVALID_REQUEST", { detail: "id must be a UUID." });
      if (typeof code !== "string" || !/^\d{6}$/.test(code))
        throw new AuthError("INVALID_REQUEST", { detail: "code must be 6 digits." });
      const now = clock.now();
      // The try is counted before the code is looked at: the guard is the only gate.
      const counted = await store.countTry(passcodeId, PASSCODE_MAX_TRIES);
      const row = counted.row ?? counted.signup;
      if (!row) throw new AuthError(counted.exhausted ? "PASSCODE_EXHAUSTED" : "PASSCODE_INVALID");
      if (row.expiresAt <= now) throw new AuthError("PASSCODE_EXPIRED");
      // Fresh codes bring fresh tries; the account's own counter bounds guesses across codes. Its
      // attempt is counted whatever the code, and a locked account refuses even the right one.
      const accountKey = `passcode:${row.userId}`;
      const expected = Uint8Array.from(row.codeMac.match(/../g)!.map((h) => Number.parseInt(h, 16)));
      const wrong = async () => {
        events.emit({ type: "sign_in.failed", userId: row.userId, reason: "invalid_passcode" });
        await attempts.reserve(accountKey);
        return new AuthError(row.tries >= PASSCODE_MAX_TRIES ? "PASSCODE_EXHAUSTED" : "PASSCODE_INVALID");
      };
      if (!timingSafeEqual(await mac(passcodeId, code), expected)) throw await wrong();
      if (counted.signup) {
        // Sign-up turned off since the code was sent: the right code fails as a wrong one.
        if (!signup.enabled) throw await wrong();
        const { userId, emailId, address } = counted.signup;
        const draft = await sessions.draft(userId, ["email"], ctx);
        const done = await store.signUp({
          id: passcodeId,
          now,
          attempt: { key: accountKey, policy: attempts.policy },
          user: {
            id: userId,
            emailId,
            address,
            defaultRole: signup.defaultRole,
            allowedRoles: signup.allowedRoles,
          },
          session: draft.session,
          firstToken: draft.firstToken,
          keep: draft.keep,
        });
        attempts.assertUnlocked(done.lockedUntil, now);
        // Spent by a parallel request, or the address (or id) registered meanwhile: as a wrong code.
        if (!done.user) throw new AuthError("PASSCODE_INVALID");
        events.emit({ type: "user.created", userId, method: "passwordless" });
        return { userId, session: await sessions.issueFor(done.user, draft, done.endedOthers, accessTtl) };
      }
      const known = counted.row!;
      // One batch: the attempt counted, the code spent into a new session (unless the account is
      // locked or disabled, or a parallel request spent it), and only then the session, the cleared
      // counter and, when it changes something, the activation (verified address, active account,
      // the default team once). A failed round trip leaves the code as it was.
      const draft = await sessions.draft(known.userId, ["email"], ctx);
      const done = await store.signIn({
        id: passcodeId,
        userId: known.userId,
        now,
        attempt: { key: accountKey, policy: attempts.policy },
        activate: known.address && !known.settled ? { address: known.address } : null,
        session: draft.session,
        firstToken: draft.firstToken,
        keep: draft.keep,
      });
      attempts.assertUnlocked(done.lockedUntil, now);
      if (!done.user) throw new AuthError(done.disabled ? "ACCOUNT_DISABLED" : "PASSCODE_INVALID");
      return {
        userId: known.userId,
        session: await sessions.issueFor(done.user, draft, done.endedOthers, accessTtl),
      };
    },
  };
}
