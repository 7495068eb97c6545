/**
 * Sign-up with an address and a password (core `register`). An account active at once is signed in
 * and handed over; otherwise the activation link is mailed, and it opens the `/verify` page. With
 * existence hints off, a taken address answers exactly as a new one (core decides, existence.ts).
 */
import { Hono } from "hono";
import { sameOrigin } from "../dialects/shared/csrf";
import { sessionContext } from "../dialects/shared/http";
import { feature, limitHashing } from "../dialects/shared/kit";
import type { AppEnv } from "../dialects/shared/types";
import {
  attempt,
  type Ctx,
  errorBox,
  esc,
  field,
  form,
  link,
  locale,
  page,
  posted,
  type Refusal,
  sentence,
  strings,
  withForm,
} from "./kit";
import { signedIn } from "./login";
import { mailedLink } from "./verify";

export const register = new Hono<AppEnv>();

function registerPage(c: Ctx, r?: Refusal, values: { email?: string; name?: string } = {}) {
  const s = strings(c);
  const min = c.var.config.passwords.minLength;
  const body =
    errorBox(r) +
    form(
      c,
      "/register",
      field({
        name: "email",
        label: s.email,
        type: "email",
        autocomplete: "email",
        value: values.email,
        invalid: !!r,
        autofocus: true,
      }) +
        field({ name: "name", label: s.name, autocomplete: "name", value: values.name, required: false }) +
        field({
          name: "password",
          label: s.password,
          type: "password",
          autocomplete: "new-password",
          minlength: min,
          hint: s.passwordHint.replace("{min}", String(min)),
          invalid: !!r,
        }) +
        `<button>${esc(s.register)}</button>`,
    ) +
    `<p class="links"><span>${esc(s.haveAccount)} ${link(c, "/login", s.signIn)}</span></p>`;
  return page(c, { title: s.registerTitle, body, status: r?.status });
}

register.use("/register", feature("signup"));

register.get("/register", (c) => registerPage(c));

register.post("/register", sameOrigin, limitHashing("register"), withForm, async (c) => {
  const email = posted(c, "email");
  const name = posted(c, "name").trim().slice(0, 200);
  return attempt(
    c,
    async () => {
      const result = await c.var.services.accounts.register({
        email,
        password: posted(c, "password"),
        displayName: name || undefined,
        // The language the page was shown in, kept as the account's locale.
        locale: locale(c),
        activationLink: mailedLink(c, "activation"),
        ctx: sessionContext(c),
      });
      if (result.kind === "session") return signedIn(c, result.session, true);
      const s = strings(c);
      return page(c, {
        title: s.checkMailTitle,
        body: `<p role="status">${sentence(s.checkMailActivation, email)}</p>`,
      });
    },
    (r) => registerPage(c, r, { email, name }),
  );
});
