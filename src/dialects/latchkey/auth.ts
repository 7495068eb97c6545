/**
 * Who may call the Latchkey API. `/v1/*` takes a bearer access token from any dialect (one issuer,
 * one key set); `/v1/admin/*` takes either the service key (ADMIN_API_KEY, compared in constant
 * time) or the access token of a user whose allowed roles, as D1 has them now (not as the token
 * claimed them when it was issued), include ADMIN_ROLE.
 */
import type { Context, MiddlewareHandler } from "hono";
import { AuthError } from "../../core/errors";
import { timingSafeEqual } from "../../lib/crypto";
import { authenticateBearer, bearerToken } from "../shared/http";
import type { AppEnv } from "../shared/types";

export type V1Principal = Awaited<ReturnType<typeof authenticateBearer>>;

/** The signed-in user of this request (401 without a live access token). */
export function requireUser(c: Context<AppEnv>): Promise<V1Principal> {
  return authenticateBearer(c, bearerToken(c));
}

/** Who is acting through the admin API: the service key, or an admin user. */
export type AdminActor = { kind: "service" } | { kind: "user"; userId: string; sessionId: string };

const utf8 = (s: string) => new TextEncoder().encode(s);

/** The admin caller of this request; 401 without credentials, 403 for a user who is not an admin. */
export async function requireAdmin(c: Context<AppEnv>): Promise<AdminActor> {
  const { apiKey, role } = c.var.config.admin;
  const token = bearerToken(c);
  if (apiKey && token !== null && timingSafeEqual(utf8(token), utf8(apiKey))) return { kind: "service" };
  const principal = await authenticateBearer(c, token);
  // The roles D1 holds now: a role taken away counts at once, whatever the token still claims.
  const user = role ? await c.var.services.users.findById(principal.userId) : null;
  if (!user || user.disabled || !user.allowedRoles.includes(role)) throw new AuthError("FORBIDDEN");
  return { kind: "user", userId: principal.userId, sessionId: principal.sessionId };
}

/** Middleware form: the admin actor is kept for the route as `c.get("adminActor")`. */
export const adminOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  adminActors.set(c.req.raw, await requireAdmin(c));
  await next();
};

const adminActors = new WeakMap<Request, AdminActor>();

/** The actor `adminOnly` admitted for this request. */
export function adminActor(c: Context<AppEnv>): AdminActor {
  const actor = adminActors.get(c.req.raw);
  if (!actor) throw new Error("adminActor() outside a route guarded by adminOnly");
  return actor;
}
