/**
 * The signed-in pages: `/account` (the address, the passkeys, adding one, signing out, continuing
 * to the app) and `/account/passkey`, the offer made after a password or passcode sign-in. The
 * page session is a core session whose refresh token is the cookie; opening `/account` rotates it
 * (core's rotation, with its reuse detection).
 */
import type { RegistrationResponseJSON } from "@simplewebauthn/server";
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import { AuthError, isAuthError } from "../core/errors";
import { sameOrigin } from "../dialects/shared/csrf";
import { readBody, sessionContext } from "../dialects/shared/http";
import { limit } from "../dialects/shared/kit";
import type { AppEnv } from "../dialects/shared/types";
import {
  type Ctx,
  clearSession,
  esc,
  form,
  locale,
  notice,
  page,
  pageSession,
  path,
  redirectTo,
  SESSION_COOKIE,
  sentence,
  setSession,
  strings,
  withForm,
} from "./kit";

export const account = new Hono<AppEnv>();

function toLogin(c: Ctx) {
  const target = redirectTo(c);
  return c.redirect(path(c, `/login${target ? `?redirect_to=${encodeURIComponent(target)}` : ""}`), 303);
}

/** The passkey button: the script creates it and reports in the status line. */
function passkeyButton(c: Ctx, opts: { conditional?: boolean; reload?: boolean }) {
  const s = strings(c);
  return (
    `<p id="passkey-status" class="notice" role="status" hidden></p><p id="passkey-error" class="error" role="alert" hidden></p>` +
    `<button type="button" data-passkey-create data-done="${esc(s.passkeyAdded)}" data-failed="${esc(s.passkeyAddFailed)}"` +
    `${opts.conditional ? " data-conditional" : ""}${opts.reload ? " data-reload" : ""} hidden>${esc(s.addPasskey)}</button>`
  );
}

/** The handover button; on the offer page it reads "Not now" until a passkey is saved, then "Continue". */
const continueForm = (c: Ctx, label: string, after?: string) =>
  form(
    c,
    "/login/continue",
    after
      ? `<button class="secondary" data-next data-label="${esc(after)}">${esc(label)}</button>`
      : `<button>${esc(label)}</button>`,
  );

account.get("/account", async (c) => {
  const { services } = c.var;
  const token = getCookie(c, SESSION_COOKIE);
  if (!token || token.length > 512) return toLogin(c);
  let rotated: Awaited<ReturnType<typeof services.sessions.refresh>>;
  try {
    rotated = await services.sessions.refresh(token);
  } catch (e) {
    if (!isAuthError(e)) throw e;
    clearSession(c);
    return toLogin(c);
  }
  setSession(c, rotated.refreshToken);
  const [user, passkeys] = await Promise.all([
    services.accounts.currentUser(rotated.userId),
    services.webauthn.list(rotated.userId),
  ]);
  const s = strings(c);
  const date = new Intl.DateTimeFormat(locale(c), { dateStyle: "medium" });
  const list = passkeys.length
    ? `<ul class="list">${passkeys
        .map(
          (p) =>
            `<li>${esc(p.name || s.passkeys)} <small>${esc(s.passkeyCreated.replace("{date}", date.format(p.createdAt)))}</small></li>`,
        )
        .join("")}</ul>`
    : `<p>${esc(s.noPasskeys)}</p>`;
  const body =
    `<p>${sentence(s.signedInAs, user.email ?? "")}</p>` +
    (redirectTo(c) ? continueForm(c, s.continue) : "") +
    `<h2>${esc(s.passkeys)}</h2>${list}${passkeyButton(c, { reload: true })}` +
    form(c, "/account/logout", `<button class="secondary">${esc(s.signOut)}</button>`);
  return page(c, { title: s.accountTitle, body, script: true });
});

account.get("/account/passkey", async (c) => {
  if (!(await pageSession(c))) return toLogin(c);
  const s = strings(c);
  const body =
    `<p>${esc(s.offerText)}</p>` +
    passkeyButton(c, { conditional: true }) +
    continueForm(c, s.notNow, s.continue);
  return page(c, { title: s.offerTitle, body, script: true });
});

/** The signed-in user of a JSON passkey request (401 without a live page session). */
async function me(c: Ctx) {
  const session = await pageSession(c);
  if (!session) throw new AuthError("UNAUTHENTICATED");
  return session;
}

account.post("/account/passkey/options", sameOrigin, async (c) =>
  c.json(await c.var.services.webauthn.registrationOptions((await me(c)).userId)),
);

account.post("/account/passkey", sameOrigin, limit("verify"), async (c) => {
  const { userId } = await me(c);
  const body = await readBody(c);
  const passkey = await c.var.services.webauthn.register(
    userId,
    body.credential as RegistrationResponseJSON,
    sessionContext(c),
  );
  return c.json({ id: passkey.id });
});

account.post("/account/logout", sameOrigin, withForm, async (c) => {
  const session = await pageSession(c);
  if (session) await c.var.services.sessions.revoke(session.sessionId);
  clearSession(c);
  const s = strings(c);
  return page(c, {
    title: s.signOut,
    body: `${notice(s.signedOut)}<p class="links"><a href="${esc(path(c, "/login"))}">${esc(s.signIn)}</a></p>`,
  });
});
