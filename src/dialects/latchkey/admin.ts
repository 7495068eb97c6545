/**
 * The admin API's user routes (/v1/admin/users...). Every route is guarded by `adminOnly` (the
 * service key or a user holding ADMIN_ROLE as D1 has it now); each calls one admin service method.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { type AdminService, actingAs, MAX_PAGE, type UserDetail } from "../../core/admin/admin.service";
import type { User } from "../../core/users/users.service";
import { op } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import { adminActor, adminOnly } from "./auth";

/** The admin service acting for this request's admin: its changes are recorded (audit log). */
function adminFor(c: Context<AppEnv>): AdminService {
  const actor = adminActor(c);
  const { admin, events } = c.var.services;
  return actingAs(admin, events, actor.kind === "service" ? "service" : actor.userId);
}

const AUTH = ["bearer", "serviceKey"];
const GUARD = { 401: "No or an invalid token or service key", 403: "The caller is not an admin" };
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const email = z.string().max(320);
const role = z.string().min(1).max(100);
const flag = z.enum(["true", "false"]).transform((v) => v === "true");

const userJson = z.object({
  id: z.string(),
  email: z.string().nullable(),
  email_verified: z.boolean(),
  display_name: z.string().nullable(),
  avatar_url: z.string().nullable(),
  locale: z.string().nullable(),
  username: z.string().nullable(),
  default_role: z.string(),
  allowed_roles: z.array(z.string()),
  active: z.boolean(),
  disabled: z.boolean(),
  mfa_enabled: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
});
const detailJson = userJson.extend({
  emails: z.array(
    z.object({
      id: z.string(),
      email: z.string(),
      primary: z.boolean(),
      verified: z.boolean(),
      created_at: z.string(),
    }),
  ),
  passkeys: z.number(),
  sessions: z.number(),
  last_sign_in_at: z.string().nullable(),
});
const pageJson = z.object({ users: z.array(userJson), next_cursor: z.string().nullable() });

const presentUser = (u: User): z.infer<typeof userJson> => ({
  id: u.id,
  email: u.email,
  email_verified: u.emailVerified,
  display_name: u.displayName,
  avatar_url: u.avatarUrl,
  locale: u.locale,
  username: u.username,
  default_role: u.defaultRole,
  allowed_roles: u.allowedRoles,
  active: u.active,
  disabled: u.disabled,
  mfa_enabled: u.totpEnabled,
  created_at: iso(u.createdAt)!,
  updated_at: iso(u.updatedAt)!,
});

const presentDetail = (d: UserDetail): z.infer<typeof detailJson> => ({
  ...presentUser(d.user),
  emails: d.emails.map((e) => ({
    id: e.id,
    email: e.address,
    primary: e.isPrimary,
    verified: e.verified,
    created_at: iso(e.createdAt)!,
  })),
  passkeys: d.passkeys,
  sessions: d.sessions,
  last_sign_in_at: iso(d.lastSignInAt),
});

const idParam = z.object({ id: z.string().min(1).max(100) });

export const admin = new Hono<AppEnv>();

const list = op({
  summary: "List or search users",
  description: `Ordered by creation (oldest first); \`next_cursor\` continues the list. \`search\` matches the id exactly, any address by prefix or the display name. \`limit\` is at most ${MAX_PAGE}.`,
  auth: AUTH,
  query: z.object({
    cursor: z.string().max(500).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).optional(),
    search: z.string().max(320).optional(),
    disabled: flag.optional(),
    verified: flag.optional(),
  }),
  responses: {
    200: { description: "A page of users", body: pageJson },
    400: "Invalid query or cursor",
    ...GUARD,
  },
});

admin.get("/admin/users", list, adminOnly, async (c) => {
  const page = await adminFor(c).list(list.query(c));
  return c.json({ users: page.users.map(presentUser), next_cursor: page.nextCursor });
});

const create = op({
  summary: "Create a user",
  description:
    "Without `password` the user signs in without one (magic link, passcode, passkey) or sets one by reset.",
  auth: AUTH,
  body: z.object({
    email,
    password: z.string().max(1000).optional(),
    email_verified: z.boolean().optional(),
    display_name: z.string().max(200).nullable().optional(),
    default_role: role.optional(),
    allowed_roles: z.array(role).min(1).max(50).optional(),
  }),
  responses: {
    201: { description: "Created", body: detailJson },
    400: "Invalid body, weak password or a role that is not allowed",
    409: "The address is taken",
    ...GUARD,
  },
});

admin.post("/admin/users", create, adminOnly, async (c) => {
  const b = await create.body(c);
  const made = await adminFor(c).create({
    email: b.email,
    password: b.password,
    emailVerified: b.email_verified,
    displayName: b.display_name,
    defaultRole: b.default_role,
    allowedRoles: b.allowed_roles,
  });
  return c.json(presentDetail(made), 201);
});

const get = op({
  summary: "One user",
  auth: AUTH,
  params: idParam,
  responses: { 200: { description: "The user", body: detailJson }, 404: "No such user", ...GUARD },
});

admin.get("/admin/users/:id", get, adminOnly, async (c) => {
  return c.json(presentDetail(await adminFor(c).get(get.params(c).id)));
});

const remove = op({
  summary: "Delete a user with their sessions and files",
  auth: AUTH,
  params: idParam,
  responses: { 204: "Deleted", 404: "No such user", ...GUARD },
});

admin.delete("/admin/users/:id", remove, adminOnly, async (c) => {
  await adminFor(c).delete(remove.params(c).id);
  return c.body(null, 204);
});

const disable = op({
  summary: "Disable a user; every session ends at once",
  auth: AUTH,
  params: idParam,
  responses: { 204: "Disabled", 404: "No such user", ...GUARD },
});

admin.post("/admin/users/:id/disable", disable, adminOnly, async (c) => {
  await adminFor(c).setDisabled(disable.params(c).id, true);
  return c.body(null, 204);
});

const enable = op({
  summary: "Enable a disabled user",
  auth: AUTH,
  params: idParam,
  responses: { 204: "Enabled", 404: "No such user", ...GUARD },
});

admin.post("/admin/users/:id/enable", enable, adminOnly, async (c) => {
  await adminFor(c).setDisabled(enable.params(c).id, false);
  return c.body(null, 204);
});

const roles = op({
  summary: "Set a user's default role and allowed roles",
  description:
    "Allowed roles come from ALLOWED_USER_ROLES and ADMIN_ROLE; the default role must be one of them.",
  auth: AUTH,
  params: idParam,
  body: z.object({ default_role: role, allowed_roles: z.array(role).min(1).max(50) }),
  responses: { 204: "Set", 400: "A role that is not allowed", 404: "No such user", ...GUARD },
});

admin.put("/admin/users/:id/roles", roles, adminOnly, async (c) => {
  const { id } = roles.params(c);
  const b = await roles.body(c);
  await adminFor(c).setRoles(id, b.default_role, b.allowed_roles);
  return c.body(null, 204);
});

const revoke = op({
  summary: "End every session of a user",
  auth: AUTH,
  params: idParam,
  responses: {
    200: { description: "How many live sessions ended", body: z.object({ revoked: z.number() }) },
    404: "No such user",
    ...GUARD,
  },
});

admin.delete("/admin/users/:id/sessions", revoke, adminOnly, async (c) => {
  return c.json({ revoked: await adminFor(c).revokeSessions(revoke.params(c).id) });
});

const reset = op({
  summary: "Mail the user a password-reset link",
  description:
    "The link is REDIRECT_URL_SUCCESS with `type=passwordReset&ticket=` (as HBP's); any dialect's reset route takes the ticket.",
  auth: AUTH,
  params: idParam,
  responses: {
    ...GUARD,
    204: "Mailed",
    403: "The caller is not an admin, or the account is disabled or not activated yet",
    404: "No such user, or LOST_PASSWORD_ENABLED is off",
  },
});

admin.post("/admin/users/:id/password-reset", reset, adminOnly, async (c) => {
  const { config } = c.var;
  await adminFor(c).sendPasswordReset(reset.params(c).id, (ticket) => {
    const url = new URL(config.redirects.success);
    url.searchParams.set("type", "passwordReset");
    url.searchParams.set("ticket", ticket);
    return url.toString();
  });
  return c.body(null, 204);
});

const verify = op({
  summary: "Mark an address of the user verified (default: the primary one)",
  auth: AUTH,
  params: idParam,
  body: z.object({ email: email.optional() }),
  responses: { 204: "Verified", 404: "No such user, or the user does not hold the address", ...GUARD },
});

admin.post("/admin/users/:id/verify-email", verify, adminOnly, async (c) => {
  const { id } = verify.params(c);
  const b = await verify.body(c);
  await adminFor(c).verifyEmail(id, b.email);
  return c.body(null, 204);
});
