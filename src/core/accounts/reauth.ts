/**
 * Re-authentication: a signed-in user proves their password again before a sensitive change
 * (Directus asks for it before generating a TOTP secret). Counted per account like a login, so a
 * stolen access token cannot be used to guess the password.
 */
import { AuthError } from "../errors";
import type { PasswordHasher } from "../passwords/hasher";
import type { AttemptCounter } from "../rate-limit/attempts";
import type { UserService } from "../users/users.service";

export interface ReauthService {
  /** INVALID_CREDENTIALS unless `password` is the user's current password. */
  confirmPassword(userId: string, password: string): Promise<void>;
}

export function createReauthService(deps: {
  users: UserService;
  passwords: PasswordHasher;
  attempts: AttemptCounter;
}): ReauthService {
  const { users, passwords, attempts } = deps;
  return {
    async confirmPassword(userId, password) {
      const key = `password:${userId}`;
      await attempts.reserve(key);
      const user = await users.findById(userId);
      if (!user || user.disabled) throw new AuthError("INVALID_TOKEN");
      if (!user.passwordHash || typeof password !== "string" || password.length > 4096) {
        await passwords.burn(typeof password === "string" ? password.slice(0, 4096) : "");
        throw new AuthError("INVALID_CREDENTIALS");
      }
      if (!(await passwords.verify(password, user.passwordHash)).ok)
        throw new AuthError("INVALID_CREDENTIALS");
      await attempts.clear(key);
    },
  };
}
