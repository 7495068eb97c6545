import type { mail as en } from "../en/mail";

export const mail: typeof en = {
  footer: "Sie erhalten diese Nachricht wegen einer Anfrage, die mit dieser Adresse gestellt wurde.",
};
