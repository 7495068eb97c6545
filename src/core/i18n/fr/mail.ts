import type { mail as en } from "../en/mail";

export const mail: typeof en = {
  footer: "Vous recevez ce message suite à une demande faite avec cette adresse.",
};
