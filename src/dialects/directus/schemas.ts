/**
 * Request shapes of api/directus-auth.txt and of the `/users/me` routes Directus clients call.
 * compat(directus): messages are Joi's own wording (Directus validates with Joi and answers
 * `Invalid payload. <Joi message>.`), since Directus apps show them to people: `"email" is
 * required`, `"email" must be a string`, `"email" is not allowed to be empty`, `"email" must be a
 * valid email`, `"mode" must be one of [cookie, json, session]`.
 */
import { z } from "zod";

/** Joi.string(): "must be a string" for another type, "is required" when absent (if required). */
const joiString = (max: number) =>
  z
    .string({ error: (iss) => (iss.input === undefined ? "is required" : "must be a string") })
    .max(max, `length must be less than or equal to ${max} characters long`);
/** Joi.string().required(): also "is not allowed to be empty" for "". */
const required = (max: number) => joiString(max).min(1, "is not allowed to be empty");

/**
 * Joi's string().email() shape (RFC 5321 sizes, a dot-separated domain of at least two labels),
 * without its IANA top-level-domain list.
 */
const EMAIL =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;
const email = required(254).regex(EMAIL, "must be a valid email");
const mode = z.enum(["cookie", "json", "session"], { error: "must be one of [cookie, json, session]" });
const otp = joiString(16).min(1, "is not allowed to be empty");

// Field order is Joi's: the first failing key (email, password, mode, otp) is reported.
export const loginBody = z.object({
  email,
  password: required(4096),
  mode: mode.optional(),
  otp: otp.optional(),
});

/** refresh and logout: the token travels in the body (json) or in a cookie (cookie, session). */
export const tokenBody = z.object({
  refresh_token: joiString(200).optional(),
  mode: mode.optional(),
});

export const passwordRequestBody = z.object({
  email: required(320),
  reset_url: joiString(2048).optional(),
});

export const passwordResetBody = z.object({
  token: required(200),
  password: required(4096),
});

export const tfaGenerateBody = z.object({ password: required(4096) });
export const tfaEnableBody = z.object({ secret: required(128), otp: required(16) });
export const tfaDisableBody = z.object({ otp: required(16) });

export type Mode = z.output<typeof mode>;
