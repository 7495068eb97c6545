/** Request plumbing every dialect shares: bodies, bearer tokens, client context, validation. */
import type { Context } from "hono";
import type { z } from "zod";
import type { ChangeOrigin } from "../../core/accounts/accounts.service";
import { AuthError, isAuthError } from "../../core/errors";
import type { LimitName } from "../../core/rate-limit/ip-limiter";
import type { SessionContext } from "../../core/sessions/sessions.service";
import type { AppEnv } from "./types";

/**
 * The body as an object: JSON or form-urlencoded, at most `maxBodyBytes` (or `max`, for the few
 * routes that take larger bodies: bulk admin imports, SAML responses). An empty body is `{}` whatever the Content-Type (Hanko's SDK
 * sends none with a JSON type; nhost's sends `{}`).
 */
export async function readBody(
  c: Context<AppEnv>,
  max = c.var.config.limits.maxBodyBytes,
): Promise<Record<string, unknown>> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > max) throw new AuthError("PAYLOAD_TOO_LARGE");
  const buf = await readCapped(c, max);
  if (buf.byteLength === 0) return {};
  const [typePart, ...params] = (c.req.header("content-type") ?? "").split(";");
  const type = typePart!.trim().toLowerCase();
  const isJson = type === "application/json" || type.endsWith("+json");
  // JSON is UTF-8 (RFC 8259 §8.1): a body declared in another charset would be misread, not decoded.
  if (isJson && !params.every(utf8OrOther)) throw new AuthError("UNSUPPORTED_MEDIA_TYPE");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(buf);
  } catch {
    throw new AuthError("INVALID_REQUEST", { detail: "The body is not valid UTF-8." });
  }
  if (isJson) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new AuthError("INVALID_REQUEST", { detail: "The body is not valid JSON." });
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new AuthError("INVALID_REQUEST", { detail: "The body must be a JSON object." });
    }
    return parsed as Record<string, unknown>;
  }
  if (type === "application/x-www-form-urlencoded") {
    return Object.fromEntries(new URLSearchParams(text));
  }
  throw new AuthError("UNSUPPORTED_MEDIA_TYPE");
}

/** A Content-Type parameter that is not `charset`, or `charset=utf-8`. */
function utf8OrOther(param: string): boolean {
  const [name, value = ""] = param.split("=");
  if (name!.trim().toLowerCase() !== "charset") return true;
  return ["utf-8", "utf8"].includes(
    value
      .trim()
      .replace(/^"(.*)"$/, "$1")
      .toLowerCase(),
  );
}

/**
 * The raw body, refused as soon as it passes `max` bytes. A body without Content-Length (chunked)
 * is read chunk by chunk, so an endless or huge stream is cut off at the cap instead of buffered.
 */
async function readCapped(c: Context<AppEnv>, max: number): Promise<Uint8Array> {
  const raw = c.req.raw;
  if (!raw.body || raw.bodyUsed) {
    const buf = new Uint8Array(await c.req.arrayBuffer());
    if (buf.byteLength > max) throw new AuthError("PAYLOAD_TOO_LARGE");
    return buf;
  }
  const reader = raw.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw new AuthError("PAYLOAD_TOO_LARGE");
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** Parses with a zod schema; the first issue becomes a 400 with a Joi-like message. */
export function validate<S extends z.ZodType>(schema: S, data: unknown): z.output<S> {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.length ? `"${issue.path.join(".")}" ` : "";
  throw new AuthError("INVALID_REQUEST", { detail: `${field}${issue.message}`.trim() });
}

/** The bearer token of the Authorization header, or null. */
export function bearerToken(c: Context): string | null {
  const h = c.req.header("authorization");
  if (!h || h.length > 8192) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(h.trim());
  return m ? m[1]! : null;
}

/** The client address: only Cloudflare's CF-Connecting-IP is trusted, never X-Forwarded-For. */
export function clientIp(c: Context): string {
  return c.req.header("cf-connecting-ip")?.slice(0, 64) || "unknown";
}

/**
 * Admission of a route that hashes a password (login, registration, reset): the client's per-IP
 * window and one of the isolate's hash slots are decided synchronously, so the first statement of
 * the route refuses a flood (429, 503) before any await and before the body is read, instead of
 * queueing it behind ~170 ms hashes that block every request of the isolate. The slot is given back
 * when the request ends (app.ts). The returned promise checks the shared per-IP count.
 */
export function admitHashing(c: Context<AppEnv>, name: LimitName): Promise<void> {
  const { services } = c.var;
  services.passwords.noteArrival();
  const shared = services.limiter.hit(name, clientIp(c));
  try {
    services.passwords.reserve();
  } catch (e) {
    shared.catch(() => {});
    throw e;
  }
  return shared;
}

export function sessionContext(c: Context): SessionContext {
  return { ip: clientIp(c), userAgent: c.req.header("user-agent") ?? null };
}

/** The signed-in session making a security change, and its client (core's ChangeOrigin). */
export function changeOrigin(c: Context, principal: { sessionId: string }): ChangeOrigin {
  return { sessionId: principal.sessionId, ctx: sessionContext(c) };
}

/** Authenticates the bearer token: UNAUTHENTICATED when absent, INVALID_TOKEN when bad or revoked. */
export async function requirePrincipal(c: Context<AppEnv>) {
  return authenticateBearer(c, bearerToken(c));
}

/**
 * Authenticates a bearer access token (null: none came). Its 401s carry RFC 6750's challenge
 * (`bearerChallenge`); other refusals (a disabled account) pass through unchanged.
 */
export async function authenticateBearer(
  c: Context<AppEnv>,
  token: string | null,
  opts: { fresh?: boolean } = {},
) {
  if (!token) {
    bearerChallenge(c, null);
    throw new AuthError("UNAUTHENTICATED");
  }
  // Safe methods may rely on a liveness check a few seconds old (core/sessions/session-cache.ts).
  // `fresh`: a read that shows security state (the session list) asks D1 like a write.
  const read = !opts.fresh && (c.req.method === "GET" || c.req.method === "HEAD");
  try {
    const principal = await c.var.services.sessions.authenticate(token, { read });
    c.set("userId", principal.userId);
    return principal;
  } catch (e) {
    if (isAuthError(e)) bearerChallenge(c, e);
    throw e;
  }
}

/**
 * RFC 6750 §3 `WWW-Authenticate` for a bearer route's 401: a bare `Bearer` when no token came
 * (no error code, as §3.1 asks), `error="invalid_token"` for a bad, expired or revoked one.
 * Nothing for other errors, whose status is not 401.
 */
export function bearerChallenge(c: Context, err: AuthError | null): void {
  if (err === null || err.code === "UNAUTHENTICATED") {
    c.header("WWW-Authenticate", "Bearer");
    return;
  }
  if (err.code !== "INVALID_TOKEN" && err.code !== "TOKEN_EXPIRED") return;
  const description =
    err.code === "TOKEN_EXPIRED" ? "The access token expired" : "The access token is invalid";
  c.header("WWW-Authenticate", `Bearer error="invalid_token", error_description="${description}"`);
}

export function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:";
}
