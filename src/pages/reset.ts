/**
 * Password reset (LOST_PASSWORD_ENABLED): the address form mails a link to this page whatever the
 * address (the answer is the same for every address); the link's page asks for the new password,
 * and only that POST spends the ticket (core resetPassword: one round trip, every session ended).
 * `?token=` is read too, so the vault dialect's reset links (VAULT_PASSWORD_RESET_URL, by default
 * this path) open this page.
 */
import { Hono } from "hono";
import { TICKET_TTL } from "../core/accounts/accounts.service";
import { sameOrigin } from "../dialects/shared/csrf";
import { sessionContext } from "../dialects/shared/http";
import { deferRequest, feature, limitHashing } from "../dialects/shared/kit";
import type { AppEnv } from "../dialects/shared/types";
import {
  attempt,
  type Ctx,
  errorBox,
  esc,
  field,
  form,
  hidden,
  link,
  notice,
  page,
  path,
  posted,
  type Refusal,
  redirectTo,
  sentence,
  strings,
  withForm,
} from "./kit";

export const reset = new Hono<AppEnv>();

const RESET_TTL_MINUTES = TICKET_TTL.passwordReset / 60_000;

function requestPage(c: Ctx, r?: Refusal, email = "") {
  const s = strings(c);
  const body =
    `<p>${esc(s.resetText)}</p>` +
    errorBox(r) +
    form(
      c,
      "/reset-password",
      `${field({
        name: "email",
        label: s.email,
        type: "email",
        autocomplete: "email",
        value: email,
        invalid: !!r,
        autofocus: true,
      })}<button>${esc(s.sendLink)}</button>`,
    ) +
    `<p class="links">${link(c, "/login", s.backToSignIn)}</p>`;
  return page(c, { title: s.resetTitle, body, status: r?.status });
}

function newPasswordPage(c: Ctx, ticket: string, r?: Refusal) {
  const s = strings(c);
  const min = c.var.config.passwords.minLength;
  const body =
    errorBox(r) +
    form(
      c,
      "/reset-password/new",
      hidden("ticket", ticket) +
        field({
          name: "password",
          label: s.newPassword,
          type: "password",
          autocomplete: "new-password",
          minlength: min,
          hint: s.passwordHint.replace("{min}", String(min)),
          invalid: !!r,
          autofocus: true,
        }) +
        `<button>${esc(s.savePassword)}</button>`,
    );
  return page(c, { title: s.newPasswordTitle, body, status: r?.status });
}

reset.use("/reset-password/*", feature("lostPassword"));
reset.use("/reset-password", feature("lostPassword"));

reset.get("/reset-password", (c) => {
  const ticket = c.req.query("ticket") ?? c.req.query("token");
  if (ticket && ticket.length <= 256) return newPasswordPage(c, ticket);
  return requestPage(c);
});

reset.post("/reset-password", sameOrigin, withForm, async (c) => {
  // The per-IP mail window: counted in this isolate now (a refusal is the error page, as from a
  // middleware), in D1 by the ticket's batch (a refusal there is the form's error).
  const mail = deferRequest(c, "mail");
  const email = posted(c, "email");
  return attempt(
    c,
    async () => {
      const target = redirectTo(c);
      await c.var.services.accounts.requestPasswordReset(
        email,
        (ticket) => {
          const q = new URLSearchParams({ ticket });
          if (target) q.set("redirect_to", target);
          return `${c.var.config.publicUrl}${path(c, "/reset-password")}?${q}`;
        },
        mail,
      );
      const s = strings(c);
      return page(c, {
        title: s.checkMailTitle,
        body:
          `<p role="status">${sentence(s.resetSent, email, { minutes: RESET_TTL_MINUTES })}</p>` +
          `<p class="links">${link(c, "/login", s.backToSignIn)}</p>`,
      });
    },
    (r) => requestPage(c, r, email),
  );
});

reset.post("/reset-password/new", sameOrigin, limitHashing("verify"), withForm, async (c) => {
  const ticket = posted(c, "ticket");
  return attempt(
    c,
    async () => {
      await c.var.services.accounts.resetPassword(ticket, posted(c, "password"), sessionContext(c));
      const s = strings(c);
      return page(c, {
        title: s.newPasswordTitle,
        body: `${notice(s.passwordSaved)}<p class="links">${link(c, "/login", s.signIn)}</p>`,
      });
    },
    (r) => newPasswordPage(c, ticket, r),
  );
});
