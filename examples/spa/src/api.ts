/**
 * Same-origin calls to Latchkey. Each feature uses the dialect that offers it: Hanko 0.12 for
 * sign-up, email passcodes, passkeys and the profile; HBP for password sign-in with its TOTP step,
 * TOTP setup, storage and "sign out everywhere". A session made through one dialect is a session of
 * the core, so one access token is sent as `Authorization: Bearer` to both.
 */

declare const LATCHKEY_HANKO_PREFIX: string;
/** Where the Hanko dialect is mounted (HANKO_PREFIX), compiled in by build.mjs. */
export const HANKO = LATCHKEY_HANKO_PREFIX;

export type Method = "passkey" | "passcode" | "password" | "password+totp" | "sign-up";

export interface Session {
  token: string;
  /** The dialect that issued it: an HBP session can be refreshed with its HttpOnly refresh cookie. */
  via: "hanko" | "hbp";
  method: Method;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(messageOf(status, body));
  }
}

/** The error text each dialect puts in its body: Hanko `{message}`, HBP `{message}`/Boom, others. */
function messageOf(status: number, body: unknown): string {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    for (const k of ["message", "error_description", "error"]) {
      if (typeof b[k] === "string" && b[k]) return b[k] as string;
    }
  }
  return `Request failed (${status})`;
}

// The session lives in sessionStorage: it survives a reload of this tab and ends with it. The
// page's CSP (examples/spa/_headers) allows scripts from this origin only.
const KEY = "latchkey-example.session";
let current: Session | null = load();

function load(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function session(): Session | null {
  return current;
}

export function setSession(s: Session | null) {
  current = s;
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

interface CallOptions {
  method?: string;
  json?: unknown;
  body?: BodyInit;
  auth?: boolean;
}

async function send(path: string, opts: CallOptions): Promise<Response> {
  const headers = new Headers();
  if (opts.json !== undefined) headers.set("Content-Type", "application/json");
  if (opts.auth !== false && current) headers.set("Authorization", `Bearer ${current.token}`);
  return fetch(path, {
    method: opts.method ?? (opts.json !== undefined || opts.body ? "POST" : "GET"),
    headers,
    body: opts.json !== undefined ? JSON.stringify(opts.json) : opts.body,
    credentials: "same-origin",
  });
}

/** One call; an HBP session whose short-lived token expired is refreshed once, then retried. */
export async function call(path: string, opts: CallOptions = {}): Promise<Response> {
  let res = await send(path, opts);
  if (res.status === 401 && opts.auth !== false && current?.via === "hbp" && (await refresh())) {
    res = await send(path, opts);
  }
  if (!res.ok) {
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    throw new ApiError(res.status, body);
  }
  return res;
}

export async function json<T>(path: string, opts: CallOptions = {}): Promise<T> {
  return (await call(path, opts)).json() as Promise<T>;
}

/** HBP's refresh: the HttpOnly refresh cookie it set at sign-in buys a new access token. */
async function refresh(): Promise<boolean> {
  const res = await fetch("/auth/token/refresh", { credentials: "same-origin" });
  if (!res.ok || !current) return false;
  const body = (await res.json()) as { jwt_token: string };
  setSession({ ...current, token: body.jwt_token });
  return true;
}

/** Hanko answers a sign-in with the session token in X-Auth-Token (and an HttpOnly cookie). */
function hankoToken(res: Response): string {
  const token = res.headers.get("X-Auth-Token");
  if (!token) throw new Error("The server sent no session token.");
  return token;
}

// --- sign-up and email passcodes (Hanko) ---

export interface PendingCode {
  passcodeId: string;
  email: string;
  method: Method;
}

/** Creates the account and mails a code that verifies the address and signs in (Hanko POST /users). */
export async function signUp(email: string): Promise<PendingCode | Session> {
  const res = await call(`${HANKO}/users`, { json: { email }, auth: false });
  const created = (await res.json()) as { user_id: string; email_id: string };
  // Without email verification the account is signed in at once.
  const token = res.headers.get("X-Auth-Token");
  if (token) return { token, via: "hanko", method: "sign-up" };
  const { id } = await json<{ id: string }>(`${HANKO}/passcode/login/initialize`, {
    json: { user_id: created.user_id, email_id: created.email_id },
    auth: false,
  });
  return { passcodeId: id, email, method: "sign-up" };
}

/** Mails a sign-in code (Hanko POST /user, then the passcode). */
export async function requestCode(email: string): Promise<PendingCode> {
  const user = await json<{ id: string; email_id: string }>(`${HANKO}/user`, {
    json: { email },
    auth: false,
  });
  const { id } = await json<{ id: string }>(`${HANKO}/passcode/login/initialize`, {
    json: { user_id: user.id, email_id: user.email_id },
    auth: false,
  });
  return { passcodeId: id, email, method: "passcode" };
}

export async function finishCode(pending: PendingCode, code: string): Promise<Session> {
  const res = await call(`${HANKO}/passcode/login/finalize`, {
    json: { id: pending.passcodeId, code },
    auth: false,
  });
  return { token: hankoToken(res), via: "hanko", method: pending.method };
}

// --- password and TOTP (HBP) ---

export type PasswordResult = { session: Session } | { totpTicket: string };

export async function passwordSignIn(email: string, password: string): Promise<PasswordResult> {
  // Cookie mode (HBP's default): the refresh token stays in an HttpOnly cookie.
  const body = await json<{ jwt_token?: string; mfa?: boolean; ticket?: string }>("/auth/login", {
    json: { email, password },
    auth: false,
  });
  if (body.mfa && body.ticket) return { totpTicket: body.ticket };
  if (!body.jwt_token) throw new Error("The account is not activated yet.");
  return { session: { token: body.jwt_token, via: "hbp", method: "password" } };
}

export async function totpSignIn(ticket: string, code: string): Promise<Session> {
  const body = await json<{ jwt_token: string }>("/auth/mfa/totp", { json: { ticket, code }, auth: false });
  return { token: body.jwt_token, via: "hbp", method: "password+totp" };
}

export const totpSetup = () =>
  json<{ image_url: string; otp_secret: string }>("/auth/mfa/generate", { json: {} });
export const totpEnable = (code: string) => call("/auth/mfa/enable", { json: { code } });
export const totpDisable = (code: string) => call("/auth/mfa/disable", { json: { code } });

// --- passkeys (Hanko; the options are WebAuthn JSON wrapped in {publicKey}) ---

export async function passkeySignIn(): Promise<Session> {
  const { publicKey } = await json<{ publicKey: PublicKeyCredentialRequestOptionsJSON }>(
    `${HANKO}/webauthn/login/initialize`,
    { json: {}, auth: false },
  );
  const credential = (await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(publicKey),
  })) as PublicKeyCredential | null;
  if (!credential) throw new Error("No passkey was chosen.");
  const res = await call(`${HANKO}/webauthn/login/finalize`, { json: credential.toJSON(), auth: false });
  return { token: hankoToken(res), via: "hanko", method: "passkey" };
}

export async function addPasskey(): Promise<void> {
  const { publicKey } = await json<{ publicKey: PublicKeyCredentialCreationOptionsJSON }>(
    `${HANKO}/webauthn/registration/initialize`,
    { json: {} },
  );
  const credential = (await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(publicKey),
  })) as PublicKeyCredential | null;
  if (!credential) throw new Error("No passkey was created.");
  await call(`${HANKO}/webauthn/registration/finalize`, { json: credential.toJSON() });
}

export interface Passkey {
  id: string;
  name: string | null;
  created_at: string;
  last_used_at: string | null;
}
export const passkeys = () => json<Passkey[]>(`${HANKO}/webauthn/credentials`);
export const removePasskey = (id: string) =>
  call(`${HANKO}/webauthn/credentials/${encodeURIComponent(id)}`, { method: "DELETE" });

// --- profile (Hanko) ---

export interface Profile {
  id: string;
  email: string;
  verified?: boolean;
  created_at: string;
  updated_at: string;
}

export async function profile(): Promise<Profile> {
  const { id } = await json<{ id: string }>(`${HANKO}/me`);
  return json<Profile>(`${HANKO}/users/${encodeURIComponent(id)}`);
}

export const setPassword = (userId: string, password: string) =>
  call(`${HANKO}/password`, { method: "PUT", json: { user_id: userId, password } });

// --- the picture (HBP storage; user/<id>/** is the owner's under the default rules) ---

export interface FileMeta {
  key: string;
  ContentLength: number;
  ContentType: string;
  ETag: string;
  Metadata: { token: string };
}

const picturePath = (userId: string) => `/user/${encodeURIComponent(userId)}/picture`;

export async function uploadPicture(userId: string, file: File): Promise<FileMeta> {
  const form = new FormData();
  form.append("file", file);
  return json<FileMeta>(`/storage/o${picturePath(userId)}`, { body: form });
}

/** The stored picture's metadata, or null when none was uploaded. */
export async function pictureMeta(userId: string): Promise<FileMeta | null> {
  try {
    return await json<FileMeta>(`/storage/m${picturePath(userId)}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/**
 * A variant's URL: an <img> sends no Authorization header, so the file's own token (from its
 * metadata) grants the read; `w`, `h`, `r`, `f` are HBP's image parameters (a square, round webp).
 */
export function variantUrl(userId: string, meta: FileMeta, size: number): string {
  const q = new URLSearchParams({
    w: String(size),
    h: String(size),
    r: "full",
    f: "webp",
    token: meta.Metadata.token,
    v: meta.ETag.replace(/"/g, ""),
  });
  return `/storage/o${picturePath(userId)}?${q}`;
}

// --- signing out ---

/** Ends this session: Hanko's /logout for a Hanko session, HBP's for an HBP one (its cookies too). */
export async function signOut(everywhere = false): Promise<void> {
  const s = current;
  if (!s) return;
  try {
    if (everywhere || s.via === "hbp") await call("/auth/logout", { json: { all: everywhere } });
    else await call(`${HANKO}/logout`, { json: {} });
  } finally {
    setSession(null);
  }
}

/** The access token's claims (decoded for display; the server is what verifies it). */
export function claims(token: string): Record<string, unknown> {
  const part = token.split(".")[1] ?? "";
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  try {
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
  } catch {
    return {};
  }
}
