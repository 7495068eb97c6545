/**
 * The signed-in pages: `/account` (the address, the passkeys, adding, renaming and deleting one,
 * the sessions and ending them, the TOTP recovery codes, signing out, continuing to the app) and `/account/passkey`, the offer made after a password or
 * passcode sign-in. The
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
  errorBox,
  esc,
  form,
  link,
  notice,
  page,
  pageSession,
  path,
  posted,
  redirectTo,
  refusal,
  SESSION_COOKIE,
  sentence,
  setSession,
  strings,
  withForm,
} from "./kit";
import { passkeyNotice, passkeySection } from "./passkeys";
import { recoveryCodesBody, recoverySection, sessionNotice, sessionsSection } from "./security";
import { confirmPage, needsConfirmation } from "./step-up";

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
  const session = { userId: rotated.userId, sessionId: rotated.sessionId };
  const passkeyDone = passkeyNotice(c);
  if (passkeyDone) return accountPage(c, session, { passkeys: notice(passkeyDone) });
  const sessionDone = sessionNotice(c);
  return accountPage(c, session, sessionDone ? { sessions: notice(sessionDone) } : {});
});

/** A notice or an error shown in one section of the account page. */
interface Flash {
  passkeys?: string;
  sessions?: string;
  recovery?: string;
  /** The recovery code field is the one the error is about. */
  recoveryInvalid?: boolean;
}

/** The account page of a signed-in user (`session`: the page session, marked as this device). */
async function accountPage(c: Ctx, session: PageSession, flash: Flash = {}, status = 200) {
  const { services } = c.var;
  const { userId } = session;
  const [user, passkeys, sessions, remaining] = await Promise.all([
    services.accounts.currentUser(userId),
    services.webauthn.list(userId),
    services.sessions.list(userId),
    services.recoveryCodes.remaining(userId),
  ]);
  const s = strings(c);
  const body =
    `<p>${sentence(s.signedInAs, user.email ?? "")}</p>` +
    (redirectTo(c) ? continueForm(c, s.continue) : "") +
    `<h2>${esc(s.passkeys)}</h2>${flash.passkeys ?? ""}${passkeySection(c, user, passkeys)}${passkeyButton(c, { reload: true })}` +
    sessionsSection(c, sessions, session.sessionId, flash.sessions ?? "") +
    (user.totpEnabled ? recoverySection(c, remaining, flash.recovery ?? "", !!flash.recoveryInvalid) : "") +
    form(c, "/account/logout", `<button class="secondary">${esc(s.signOut)}</button>`);
  return page(c, { title: s.accountTitle, body, script: true, status });
}

type PageSession = { userId: string; sessionId: string };

/** After a change: back to the account page (POST, redirect, GET), keeping `redirect_to`. */
function backToAccount(c: Ctx, done: "renamed" | "deleted" | "ended" | "others-ended") {
  const target = redirectTo(c);
  const q = `?done=${done}${target ? `&redirect_to=${encodeURIComponent(target)}` : ""}`;
  return c.redirect(path(c, `/account${q}`), 303);
}

/** A passkey form's refusal: the account page with the error (a bad name, or not the user's passkey). */
async function passkeyRefused(c: Ctx, session: PageSession, e: unknown) {
  const s = strings(c);
  let r = refusal(c, e);
  const code = isAuthError(e) ? e.code : null;
  if (code === "INVALID_REQUEST") r = { message: s.passkeyNameInvalid, status: 400 };
  if (code === "NOT_FOUND") r = { message: s.passkeyGone, status: 404 };
  return accountPage(c, session, { passkeys: errorBox(r) }, r.status);
}

account.post("/account/passkeys/rename", sameOrigin, limit("verify"), withForm, async (c) => {
  const session = await pageSession(c);
  if (!session) return toLogin(c);
  try {
    await c.var.services.webauthn.rename(session.userId, posted(c, "id"), posted(c, "name"));
  } catch (e) {
    return passkeyRefused(c, session, e);
  }
  return backToAccount(c, "renamed");
});

account.post("/account/passkeys/delete", sameOrigin, limit("verify"), withForm, async (c) => {
  const session = await pageSession(c);
  if (!session) return toLogin(c);
  const id = posted(c, "id");
  try {
    // Through the one core deletion, with whatever rules it holds for every route.
    await c.var.services.webauthn.remove(session.userId, id, session);
  } catch (e) {
    // A page session older than STEP_UP_MAX_AGE confirms first (step-up.ts), then the deletion goes on.
    if (needsConfirmation(e)) return confirmPage(c, session.userId, "/account/passkeys/delete", { id });
    return passkeyRefused(c, session, e);
  }
  return backToAccount(c, "deleted");
});

account.post("/account/sessions/end", sameOrigin, limit("verify"), withForm, async (c) => {
  const session = await pageSession(c);
  if (!session) return toLogin(c);
  const s = strings(c);
  const id = posted(c, "id");
  // This device's session ends by signing out (which also clears the cookie), not from the list.
  if (id === session.sessionId)
    return accountPage(c, session, { sessions: errorBox({ message: s.sessionCurrent, status: 400 }) }, 400);
  try {
    // Any id but a live session of this user's (another user's included) is NOT_FOUND.
    await c.var.services.sessions.revokeOwn(session.userId, id);
  } catch (e) {
    let r = refusal(c, e);
    if (isAuthError(e) && e.code === "NOT_FOUND") r = { message: s.sessionGone, status: 404 };
    return accountPage(c, session, { sessions: errorBox(r) }, r.status);
  }
  return backToAccount(c, "ended");
});

account.post("/account/sessions/end-others", sameOrigin, limit("verify"), withForm, async (c) => {
  const session = await pageSession(c);
  if (!session) return toLogin(c);
  await c.var.services.sessions.revokeAll(session.userId, session.sessionId);
  return backToAccount(c, "others-ended");
});

account.post("/account/recovery-codes", sameOrigin, limit("verify"), withForm, async (c) => {
  const session = await pageSession(c);
  if (!session) return toLogin(c);
  let codes: string[];
  try {
    // The core's rule: a current TOTP code (claimed, so it makes one set only); the old set is void.
    codes = await c.var.services.recoveryCodes.regenerate(session.userId, posted(c, "code").trim());
  } catch (e) {
    const r = refusal(c, e);
    return accountPage(c, session, { recovery: errorBox(r), recoveryInvalid: true }, r.status);
  }
  // Shown once: never stored by the browser or a cache; posting again needs a new TOTP code.
  c.header("Cache-Control", "no-store");
  const s = strings(c);
  return page(c, {
    title: s.recoveryTitle,
    body: recoveryCodesBody(c, codes, link(c, "/account", s.backToAccount)),
  });
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
