/** Request shapes of api/directus-auth.txt and of the `/users/me` routes Directus clients call. */
import { z } from "zod";

const required = (max: number) =>
  z.string({ error: "is required" }).min(1, "is not allowed to be empty").max(max);
const mode = z.enum(["json", "cookie", "session"], { error: "must be one of [json, cookie, session]" });
const otp = z.string({ error: "must be a string" }).max(16);

export const loginBody = z.object({
  email: required(320),
  password: z.string({ error: "is required" }).max(4096),
  mode: mode.optional(),
  otp: otp.optional(),
});

/** refresh and logout: the token travels in the body (json) or in a cookie (cookie, session). */
export const tokenBody = z.object({
  refresh_token: z.string({ error: "must be a string" }).max(200).optional(),
  mode: mode.optional(),
});

export const passwordRequestBody = z.object({
  email: required(320),
  reset_url: z.string({ error: "must be a string" }).max(2048).optional(),
});

export const passwordResetBody = z.object({
  token: required(200),
  password: z.string({ error: "is required" }).max(4096),
});

export const tfaGenerateBody = z.object({ password: z.string({ error: "is required" }).max(4096) });
export const tfaEnableBody = z.object({ secret: required(128), otp: required(16) });
export const tfaDisableBody = z.object({ otp: required(16) });

export type Mode = z.output<typeof mode>;
