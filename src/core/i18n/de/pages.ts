import type { pages as en } from "../en/pages";

export const pages: typeof en = {
  signIn: "Anmelden",
};
