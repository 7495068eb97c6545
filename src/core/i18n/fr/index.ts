import type { Catalog } from "..";
import { mail } from "./mail";
import { pages } from "./pages";

export const fr: Catalog = { mail, pages };
