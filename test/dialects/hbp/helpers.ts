/** Shared steps for the HBP dialect tests: users, sessions, mail, TOTP codes, Boom bodies. */
import { env } from "cloudflare:test";
import { decodeJwt, importJWK, type JWK, SignJWT } from "jose";
import { Secret, TOTP } from "otpauth";
import { expect } from "vitest";
import { call, uniqueEmail, type Vars } from "../../support/app";

export const PASSWORD = "correct horse battery";
export const AUTO: Vars = { AUTO_ACTIVATE_NEW_USERS: "true" };
export const DEV: Vars = { ENVIRONMENT: "development" };

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
export type Json = any;
export const json = async (res: Response): Promise<Json> => res.json();

export const BOOM_NAMES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  413: "Request Entity Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  503: "Service Unavailable",
};

/** The Boom error body HBP sends. */
export const boom = (statusCode: number, message: string) => ({
  statusCode,
  error: BOOM_NAMES[statusCode],
  message,
});

/** Asserts status and exact Boom body. */
export async function expectBoom(res: Response, statusCode: number, message: string) {
  expect({ status: res.status, body: await res.json() }).toEqual({
    status: statusCode,
    body: boom(statusCode, message),
  });
}

export interface Session {
  email: string;
  password: string;
  userId: string;
  jwt: string;
  refresh: string;
}

/** Registers an auto-activated user and returns its first session (refresh token in the body). */
export async function activeUser(vars: Vars = {}, email = uniqueEmail()): Promise<Session> {
  const res = await call("/auth/register", {
    json: { email, password: PASSWORD, cookie: false },
    vars: { ...AUTO, ...vars },
  });
  const body = await json(res);
  expect(res.status, JSON.stringify(body)).toBe(200);
  return {
    email,
    password: PASSWORD,
    userId: body.user.id,
    jwt: body.jwt_token,
    refresh: body.refresh_token,
  };
}

/** A fresh password login (cookie: false) for an existing user. */
export async function login(email: string, password = PASSWORD, vars: Vars = {}): Promise<Json> {
  const res = await call("/auth/login", { json: { email, password, cookie: false }, vars });
  const body = await json(res);
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

export interface Mail {
  to: string;
  subject: string;
  kind: string;
  text: string;
  html: string;
  data: Record<string, string>;
}

/** The outbox for an address, newest first. */
export async function outbox(to: string): Promise<Mail[]> {
  const res = await call(`/_dev/outbox?to=${encodeURIComponent(to)}`, { vars: DEV });
  expect(res.status).toBe(200);
  return json(res);
}

/** The newest mail of a kind for an address. */
export async function lastMail(to: string, kind: string): Promise<Mail> {
  const mail = (await outbox(to)).find((m) => m.kind === kind);
  expect(mail, `no ${kind} mail for ${to}`).toBeDefined();
  return mail!;
}

/** The TOTP code of `secret` at `offsetSteps` periods from now. */
export function totpCode(secret: string, offsetSteps = 0): string {
  const totp = new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: "SHA1" });
  return totp.generate({ timestamp: Date.now() + offsetSteps * 30_000 });
}

/** A code of `secret` that is valid for no step in the ±1 window. */
export function wrongCode(secret: string): string {
  const valid = new Set([-1, 0, 1, 2].map((o) => totpCode(secret, o)));
  for (let n = 0; ; n++) {
    const c = String(n).padStart(6, "0");
    if (!valid.has(c)) return c;
  }
}

/** Turns MFA on for a session's user; returns the secret. The enabling code used the current step. */
export async function enableMfa(s: Session, vars: Vars = {}): Promise<string> {
  const gen = await call("/auth/mfa/generate", { json: {}, token: s.jwt, vars });
  expect(gen.status).toBe(200);
  const { otp_secret } = await json(gen);
  const en = await call("/auth/mfa/enable", { json: { code: totpCode(otp_secret) }, token: s.jwt, vars });
  expect(en.status).toBe(204);
  return otp_secret;
}

/** The refresh_token cookie value of a response, or null. */
export function refreshCookie(res: Response): string | null {
  const m = /(?:^|,\s*)refresh_token=([^;]*)/.exec(res.headers.get("set-cookie") ?? "");
  return m ? decodeURIComponent(m[1]!) : null;
}

/** Whether an access token is accepted by an authenticated route (/auth/mfa/generate needs one). */
export async function tokenWorks(jwt: string): Promise<number> {
  // /auth/token/revoke would end sessions; change-email with an invalid body answers 400 once
  // authenticated and 401 before, without side effects.
  const res = await call("/auth/change-email", {
    json: { new_email: "not an address" },
    token: jwt,
    vars: { VERIFY_EMAILS: "false" },
  });
  return res.status;
}

/** The development signing key the Worker uses (persisted in D1 on first use). */
export async function devSigningKey(alg = "ES256"): Promise<{ jwk: JWK; key: CryptoKey | Uint8Array }> {
  // Make sure it exists: issuing any token generates it.
  const row = await env.DB.prepare("SELECT private_jwk FROM dev_signing_keys WHERE alg = ?")
    .bind(alg)
    .first<{ private_jwk: string }>();
  expect(row, "dev key not generated yet").toBeTruthy();
  const jwk = JSON.parse(row!.private_jwk) as JWK;
  return { jwk, key: await importJWK(jwk, alg) };
}

/** Signs an access token with the real development key and chosen claims. */
export async function forgeWithDevKey(opts: {
  sub: string;
  sid: string;
  iat: number;
  exp: number;
  iss?: string;
  aud?: string;
  typ?: string;
}): Promise<string> {
  const { jwk, key } = await devSigningKey();
  return new SignJWT({ sid: opts.sid })
    .setProtectedHeader({ alg: "ES256", kid: jwk.kid!, typ: opts.typ ?? "at+jwt" })
    .setIssuer(opts.iss ?? "http://localhost:8787")
    .setAudience(opts.aud ?? "latchkey")
    .setSubject(opts.sub)
    .setIssuedAt(opts.iat)
    .setExpirationTime(opts.exp)
    .setJti(crypto.randomUUID())
    .sign(key);
}

/** Counts how many user rows hold an address (0 or 1). */
export async function usersWithEmail(address: string): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM emails WHERE address = ?")
    .bind(address)
    .first<{ n: number }>();
  return row!.n;
}

/**
 * Refresh tokens of the session an access token belongs to that can still be rotated: not rotated
 * yet, not expired, of a session that was not revoked.
 */
export async function liveRefreshTokens(accessToken: string): Promise<number> {
  const { sid } = decodeJwt(accessToken);
  const row = await env.DB.prepare(
    `SELECT COUNT(*) AS n FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
     WHERE r.session_id = ?1 AND r.rotated_at IS NULL AND r.expires_at > ?2 AND s.revoked_at IS NULL`,
  )
    .bind(sid, Date.now())
    .first<{ n: number }>();
  return row!.n;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Per-IP windows are aligned to the clock: start a burst well inside one minute. */
export async function awayFromMinuteEdge() {
  const into = Date.now() % 60_000;
  if (into > 50_000) await sleep(60_000 - into + 200);
}

/** A client address of its own, for one burst. */
export const burstIp = () => `203.0.113.${Math.floor(Math.random() * 250) + 1}-${crypto.randomUUID()}`;

/** Status counts of a set of responses, e.g. {200: 1, 401: 29}. */
export function statuses(rs: Response[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const r of rs) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
}

export { call, uniqueEmail };
