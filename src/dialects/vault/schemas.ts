/** Request shapes of api/vault.txt. */
import { z } from "zod";

const text = (max: number) =>
  z.string({ error: "is required" }).min(1, "is not allowed to be empty").max(max);
const password = z.string({ error: "is required" }).max(4096);

export const loginBody = z.object({ email: text(320), password });
export const registerBody = z.object({ email: text(320), password, name: text(200) });
export const tokenParam = z.object({ token: text(200) });
export const captchaQuery = z.object({ capcha: text(2048) });
export const forgotBody = z.object({ email: text(320) });
export const resetBody = z.object({ token: text(200), newPassword: password });
