/**
 * "Does an account use this address?" answered truthfully only when ACCOUNT_EXISTENCE_HINTS is on;
 * otherwise always false, so the answer reveals nothing (vault GET /exist-email/{email}).
 */
import type { Config } from "../../config";
import { normalizeEmail } from "../users/email-address";
import type { UserService } from "../users/users.service";

export interface ExistenceService {
  emailExists(email: unknown): Promise<boolean>;
}

export function createExistenceService(deps: { config: Config; users: UserService }): ExistenceService {
  return {
    async emailExists(raw) {
      if (!deps.config.features.existenceHints) return false;
      let email: string;
      try {
        email = normalizeEmail(raw);
      } catch {
        return false;
      }
      return (await deps.users.findByEmail(email)) !== null;
    },
  };
}
