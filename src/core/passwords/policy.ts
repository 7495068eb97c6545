import { AuthError } from "../errors";

/** Length rules only (NIST 800-63B): at least `min` characters, at most 256 characters / 1024 bytes. */
export function checkPasswordPolicy(
  password: string,
  policy: { minLength: number; maxLength: number },
): void {
  const chars = [...password.normalize("NFKC")].length;
  if (chars < policy.minLength) {
    throw new AuthError("PASSWORD_POLICY", {
      detail: `Password must be at least ${policy.minLength} characters long.`,
    });
  }
  if (chars > policy.maxLength || new TextEncoder().encode(password).length > 1024) {
    throw new AuthError("PASSWORD_POLICY", {
      detail: `Password must be at most ${policy.maxLength} characters long.`,
    });
  }
}
