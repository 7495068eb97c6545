/**
 * Sign-in: passkey first (button and autofill), then one form for the address with a password
 * (when PASSWORDS_ENABLED) or an emailed passcode, the TOTP step, and the handover back to the app.
 * Each step calls one core service; passcodes, MFA tickets and passkey challenges are spent by core
 * exactly once.
 */
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { Hono } from "hono";
import { AuthError } from "../core/errors";
import type { IssuedSession } from "../core/sessions/sessions.service";
import { UnknownCredentialError } from "../core/webauthn/webauthn.service";
import { sameOrigin } from "../dialects/shared/csrf";
import { readBody, sessionContext } from "../dialects/shared/http";
import { deferRequest, limit, limitHashing } from "../dialects/shared/kit";
import type { AppEnv } from "../dialects/shared/types";
import {
  attempt,
  type Ctx,
  errorBox,
  esc,
  field,
  form,
  handoverUrl,
  hidden,
  isAllowedTarget,
  link,
  page,
  pageSession,
  path,
  posted,
  type Refusal,
  redirectTo,
  sentence,
  setSession,
  strings,
  withForm,
} from "./kit";

export const login = new Hono<AppEnv>();

function loginPage(c: Ctx, r?: Refusal, email = "") {
  const s = strings(c);
  const { features } = c.var.config;
  const passwordField = features.passwords
    ? field({
        name: "password",
        label: s.password,
        type: "password",
        autocomplete: "current-password",
        invalid: !!r,
        required: false,
      })
    : "";
  const body =
    `<p id="passkey-error" class="error" role="alert" hidden></p>` +
    `<button type="button" class="secondary" data-passkey-login data-failed="${esc(s.passkeyFailed)}" data-unknown="${esc(s.passkeyUnknown)}" hidden>${esc(s.usePasskey)}</button>` +
    `<div class="or" data-passkey-sep hidden>${esc(s.or)}</div>` +
    errorBox(r) +
    form(
      c,
      "/login",
      field({
        name: "email",
        label: s.email,
        type: "email",
        autocomplete: "username webauthn",
        value: email,
        invalid: !!r,
        autofocus: !email,
      }) +
        passwordField +
        (features.passwords ? `<button name="method" value="password">${esc(s.signIn)}</button>` : "") +
        `<button name="method" value="code" class="${features.passwords ? "secondary" : ""}">${esc(s.sendCode)}</button>`,
    ) +
    `<p class="links">${features.passwords && features.lostPassword ? link(c, "/reset-password", s.forgotPassword) : ""}` +
    (features.signup ? `<span>${esc(s.noAccount)} ${link(c, "/register", s.createAccount)}</span>` : "") +
    `</p>`;
  return page(c, { title: s.signInTitle, body, status: r?.status, script: true });
}

function codePage(c: Ctx, id: string, email: string, r?: Refusal) {
  const s = strings(c);
  const minutes = Math.round(c.var.config.passcodes.ttl / 60);
  const body =
    (r ? errorBox(r) : `<p role="status">${sentence(s.codeSent, email, { minutes })}</p>`) +
    form(
      c,
      "/login/code",
      hidden("id", id) +
        hidden("email", email) +
        field({
          name: "code",
          label: s.code,
          autocomplete: "one-time-code",
          inputmode: "numeric",
          pattern: "[0-9]{6}",
          hint: s.codeHint,
          invalid: !!r,
          autofocus: true,
        }) +
        `<button>${esc(s.confirmCode)}</button>`,
    ) +
    `<p class="links">${link(c, "/login", s.otherAddress)}</p>`;
  return page(c, { title: s.codeSentTitle, body, status: r?.status });
}

function totpPage(c: Ctx, ticket: string, r?: Refusal) {
  const s = strings(c);
  const body =
    `<p>${esc(s.totpText)}</p>` +
    errorBox(r) +
    form(
      c,
      "/login/totp",
      hidden("ticket", ticket) +
        field({
          name: "code",
          label: s.totpCode,
          autocomplete: "one-time-code",
          inputmode: "numeric",
          // A TOTP recovery code (XXXXX-XXXXX) is accepted here too (accounts.completeMfa).
          pattern: "[0-9]{6}|[A-Za-z2-7]{5}-?[A-Za-z2-7]{5}",
          invalid: !!r,
          autofocus: true,
        }) +
        `<button>${esc(s.verify)}</button>`,
    );
  return page(c, { title: s.totpTitle, body, status: r?.status });
}

/**
 * A session started by a page: the cookie, then the handover. After a password or passcode,
 * a user without a passkey is first offered one (`/account/passkey`).
 */
export async function signedIn(c: Ctx, session: IssuedSession, offerPasskey: boolean) {
  setSession(c, session.refreshToken);
  if (offerPasskey && (await c.var.services.webauthn.list(session.userId)).length === 0) {
    const target = redirectTo(c);
    const q = target ? `?redirect_to=${encodeURIComponent(target)}` : "";
    return c.redirect(path(c, `/account/passkey${q}`), 303);
  }
  return c.redirect(await handoverUrl(c, session.userId), 303);
}

login.get("/login", async (c) => {
  // Already signed in here: the account page offers to continue to the app.
  if (await pageSession(c)) {
    const target = redirectTo(c);
    return c.redirect(path(c, `/account${target ? `?redirect_to=${encodeURIComponent(target)}` : ""}`), 303);
  }
  return loginPage(c);
});

login.post("/login", sameOrigin, limitHashing("login"), withForm, async (c) => {
  const { services, config } = c.var;
  const email = posted(c, "email");
  if (posted(c, "method") === "code") {
    return attempt(
      c,
      async () => {
        // The per-IP mail window: counted in this isolate now, in D1 by the passcode's batch.
        const mail = deferRequest(c, "mail");
        const hints = config.features.existenceHints;
        const found = await services.emails.lookup(email, { hints });
        if (!found) throw new AuthError("INVALID_CREDENTIALS");
        const issued = await services.passcodes.initialize({
          userId: found.userId,
          emailId: found.emailId,
          quiet: !hints,
          limit: mail,
        });
        return codePage(c, issued.id, email);
      },
      (r) => loginPage(c, r, email),
    );
  }
  return attempt(
    c,
    async () => {
      const result = await services.accounts.loginWithPassword({
        email,
        password: posted(c, "password"),
        ctx: sessionContext(c),
      });
      if (result.kind === "mfa_required") return totpPage(c, result.ticket);
      return signedIn(c, result.session, true);
    },
    (r) => loginPage(c, r, email),
  );
});

login.post("/login/code", sameOrigin, limit("verify"), withForm, async (c) => {
  const id = posted(c, "id");
  return attempt(
    c,
    async () => {
      const { session } = await c.var.services.passcodes.finalize({
        id,
        code: posted(c, "code").trim(),
        ctx: sessionContext(c),
      });
      return signedIn(c, session, true);
    },
    (r) => codePage(c, id, posted(c, "email"), r),
  );
});

login.post("/login/totp", sameOrigin, limit("verify"), withForm, async (c) => {
  const ticket = posted(c, "ticket");
  return attempt(
    c,
    async () => {
      const { session } = await c.var.services.accounts.completeMfa({
        ticket,
        code: posted(c, "code").trim(),
        ctx: sessionContext(c),
      });
      return signedIn(c, session, true);
    },
    (r) => totpPage(c, ticket, r),
  );
});

/** WebAuthn request options for a discoverable credential (no address asked, none revealed). */
login.post("/login/passkey/options", sameOrigin, limit("login"), async (c) =>
  c.json(await c.var.services.webauthn.authenticationOptions(null, { quiet: true })),
);

/**
 * Verifies the assertion: the page session, and where the browser goes next. A credential the
 * server does not know is answered as UNKNOWN_CREDENTIAL, so the script can tell the authenticator
 * (Signal API) to stop offering it.
 */
login.post("/login/passkey", sameOrigin, limit("verify"), async (c) => {
  const body = await readBody(c);
  const target = typeof body.redirect_to === "string" ? body.redirect_to : "";
  let result: Awaited<ReturnType<typeof c.var.services.webauthn.authenticate>>;
  try {
    result = await c.var.services.webauthn.authenticate(
      body.credential as AuthenticationResponseJSON,
      sessionContext(c),
    );
  } catch (e) {
    if (e instanceof UnknownCredentialError) return c.json({ error: "UNKNOWN_CREDENTIAL" }, 401);
    throw e;
  }
  setSession(c, result.session.refreshToken);
  const url = await handoverUrl(c, result.userId, target && isAllowedTarget(c, target) ? target : undefined);
  return c.json({ redirect: url });
});

/** The handover from a signed-in page (the passkey offer, the account page). */
login.post("/login/continue", sameOrigin, limit("verify"), withForm, async (c) => {
  const me = await pageSession(c);
  if (!me) return c.redirect(path(c, "/login"), 303);
  return c.redirect(await handoverUrl(c, me.userId), 303);
});
