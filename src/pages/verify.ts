/**
 * The landing page of mailed links (activation, magic link, email change): GET only shows a
 * button, and only its POST spends the secret, so a mail scanner or link preview that fetches the
 * link spends nothing. Success signs the browser in (activation, magic link) and hands over, or
 * confirms the change.
 */
import { Hono } from "hono";
import { sameOrigin } from "../dialects/shared/csrf";
import { sessionContext } from "../dialects/shared/http";
import { limit } from "../dialects/shared/kit";
import type { AppEnv } from "../dialects/shared/types";
import {
  attempt,
  type Ctx,
  errorBox,
  esc,
  form,
  hidden,
  link,
  notice,
  page,
  path,
  posted,
  type Refusal,
  redirectTo,
  type Strings,
  strings,
  withForm,
} from "./kit";
import { signedIn } from "./login";

export const verify = new Hono<AppEnv>();

const KINDS = ["activation", "magic-log-in", "magic-register", "email-change"] as const;
export type LinkKind = (typeof KINDS)[number];
const isKind = (v: string): v is LinkKind => (KINDS as readonly string[]).includes(v);

const TEXT: Record<LinkKind, [keyof Strings, keyof Strings, keyof Strings]> = {
  activation: ["activationTitle", "activationText", "activate"],
  "magic-log-in": ["magicTitle", "magicText", "signIn"],
  "magic-register": ["activationTitle", "activationText", "activate"],
  "email-change": ["emailChangeTitle", "emailChangeText", "confirm"],
};

/**
 * The link a mail carries for `kind`: this page, built from PUBLIC_URL (never the request's Host),
 * keeping the request's allowed `redirect_to` so the mailed link hands over to the same app.
 */
export function mailedLink(c: Ctx, kind: LinkKind) {
  const target = redirectTo(c);
  return (ticket: string) => {
    const q = new URLSearchParams({ kind, ticket });
    if (target) q.set("redirect_to", target);
    return `${c.var.config.publicUrl}${path(c, "/verify")}?${q}`;
  };
}

function confirmPage(c: Ctx, kind: LinkKind, ticket: string, r?: Refusal) {
  const s = strings(c);
  const [title, text, button] = TEXT[kind];
  const body = r
    ? `${errorBox(r)}<p class="links">${link(c, "/login", s.backToSignIn)}</p>`
    : `<p>${esc(s[text])}</p>` +
      form(
        c,
        "/verify",
        `${hidden("kind", kind) + hidden("ticket", ticket)}<button>${esc(s[button])}</button>`,
      );
  return page(c, { title: s[title], body, status: r?.status });
}

function badLink(c: Ctx) {
  const s = strings(c);
  return page(c, {
    title: s.confirmTitle,
    body: `<p class="error" role="alert">${esc(s.errExpired)}</p><p class="links">${link(c, "/login", s.backToSignIn)}</p>`,
    status: 400,
  });
}

verify.get("/verify", (c) => {
  const kind = c.req.query("kind") ?? "activation";
  const ticket = c.req.query("ticket") ?? c.req.query("token") ?? "";
  if (!isKind(kind) || !ticket || ticket.length > 256) return badLink(c);
  return confirmPage(c, kind, ticket);
});

verify.post("/verify", sameOrigin, limit("verify"), withForm, async (c) => {
  const { services } = c.var;
  const kind = posted(c, "kind");
  const ticket = posted(c, "ticket");
  if (!isKind(kind) || !ticket || ticket.length > 256) return badLink(c);
  const ctx = sessionContext(c);
  return attempt(
    c,
    async () => {
      switch (kind) {
        case "activation":
          return signedIn(c, (await services.accounts.activate(ticket, ctx)).session, true);
        case "magic-log-in":
        case "magic-register": {
          const action = kind === "magic-log-in" ? "log-in" : "register";
          return signedIn(c, (await services.accounts.consumeMagicLink(ticket, action, ctx)).session, true);
        }
        case "email-change": {
          await services.accounts.confirmEmailChange(ticket, ctx);
          const s = strings(c);
          return page(c, {
            title: s.emailChangeTitle,
            body: `${notice(s.emailChanged)}<p class="links">${link(c, "/account", s.continue)}</p>`,
          });
        }
      }
    },
    (r) => confirmPage(c, kind, ticket, r),
  );
});
