/** Request shapes of api/hbp.txt (Authentication). */
import { z } from "zod";

const email = z.string({ error: "is required" }).max(320);
const password = z
  .string({ error: (iss) => (iss.input === undefined ? "is required" : "must be a string") })
  .max(4096);
const ticket = z.string({ error: "is required" }).min(1, "is not allowed to be empty").max(200);
const code = z.string({ error: "is required" }).regex(/^\d{6}$/, "must be a 6-digit code");
/** The MFA login step also takes a recovery code (10 base32 characters, optionally `XXXXX-XXXXX`). */
const loginCode = z
  .string({ error: "is required" })
  .regex(/^(\d{6}|[A-Za-z2-7]{5}-?[A-Za-z2-7]{5})$/, "must be a 6-digit code or a recovery code");
const cookie = z.boolean({ error: "must be a boolean" }).optional();

export const registerBody = z.object({
  email,
  password: password.optional(),
  cookie,
  user_data: z.record(z.string(), z.unknown(), { error: "must be of type object" }).optional(),
  register_options: z
    .object({
      allowed_roles: z.array(z.string().max(100)).max(50).optional(),
      default_role: z.string().max(100).optional(),
      // compat(hbp): the document spells it default_roles; HBP and nhost-js-sdk send default_role.
      default_roles: z.string().max(100).optional(),
    })
    .optional(),
});

export const loginBody = z.object({ email, password: password.optional(), cookie });
export const logoutBody = z.object({ all: z.boolean({ error: "must be a boolean" }).optional() });
export const ticketQuery = z.object({ ticket });
export const magicLinkQuery = z.object({
  token: ticket,
  action: z.enum(["log-in", "register"], { error: "must be one of [log-in, register]" }),
});
export const newEmailBody = z.object({ new_email: email });
export const ticketBody = z.object({ ticket });
export const changePasswordBody = z.object({ old_password: password.optional(), new_password: password });
export const lostPasswordBody = z.object({ email });
export const resetPasswordBody = z.object({ ticket, new_password: password });
export const codeBody = z.object({ code });
export const totpBody = z.object({ ticket, code: loginCode, cookie });

/** compat(hbp): the one metadata action HBP knew (validation.ts `fileMetadataUpdate`). */
export const metadataActionBody = z.object({
  action: z.enum(["revoke-token"], {
    error: (iss) => (iss.input === undefined ? "is required" : "must be [revoke-token]"),
  }),
});
