/** Request shapes of api/formauth.txt. Bodies are form-urlencoded (JSON accepted too). */
import { z } from "zod";

const text = (max: number) =>
  z.string({ error: "is required" }).min(1, "is not allowed to be empty").max(max);

/** Usernames: 3-32 of a-z 0-9 . _ -, stored lower-cased so "Alice" and "alice" are one name. */
export const username = z
  .string({ error: "is required" })
  .transform((v) => v.normalize("NFKC").trim().toLowerCase())
  .pipe(z.string().regex(/^[a-z0-9._-]{3,32}$/, "must be 3-32 letters, digits, dots, dashes or underscores"));

export const registerBody = z.object({
  username,
  email: text(320),
  password: z.string({ error: "is required" }).max(4096),
});

/** `email` may hold a username: usernames can log in too. */
export const loginBody = z.object({
  email: text(320),
  password: z.string({ error: "is required" }).max(4096),
});

// The document's table writes Token and Code; its curl example sends token and code.
export const twoFactorBody = z.preprocess(
  (v) =>
    v && typeof v === "object"
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k.toLowerCase(), x]))
      : v,
  z.object({ token: text(200), code: text(16) }),
);

export const refreshBody = z.object({ refresh_token: text(8192) });
export const confirmQuery = z.object({ token: text(200) });
