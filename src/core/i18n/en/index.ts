import { mail } from "./mail";
import { pages } from "./pages";

export const en = { mail, pages };
