/**
 * api/hbp.txt, Authentication: email change, password change and reset, TOTP MFA. Every route
 * here except the ticket-based ones needs a bearer access token or the session cookie of a live
 * session (session.ts).
 */
import { Hono, type MiddlewareHandler } from "hono";
import { AuthError } from "../../core/errors";
import { sameOrigin } from "../shared/csrf";
import { changeOrigin, sessionContext } from "../shared/http";
import { deferRequest, feature, invalidTicketRedirect, limit, limitHashing } from "../shared/kit";
import { confirmPage } from "../shared/links";
import { op } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import * as o from "./openapi";
import { sessionBody, withParam } from "./present";
import * as s from "./schemas";
import { assertCookieOrigin, requireHbpPrincipal } from "./session";

export const account = new Hono<AppEnv>();

const changeEmail = op({
  summary: "Change the email address at once (VERIFY_EMAILS off)",
  body: s.newEmailBody,
  auth: ["bearer", "cookie"],
  responses: {
    204: "Changed",
    400: "Invalid body, or (with ACCOUNT_EXISTENCE_HINTS) a taken address",
    401: "Not signed in",
    404: "VERIFY_EMAILS is on: use /auth/change-email/request",
  },
});

account.post("/change-email", changeEmail, async (c) => {
  if (c.var.config.features.verifyEmails) throw new AuthError("FEATURE_DISABLED");
  const principal = await requireHbpPrincipal(c);
  const { new_email } = await changeEmail.body(c);
  await c.var.services.accounts.changeEmailDirect(principal.userId, new_email, changeOrigin(c, principal));
  return c.body(null, 204);
});

const changeEmailRequest = op({
  summary: "Ask to change the email address: a confirmation link goes to the new one",
  body: s.newEmailBody,
  auth: ["bearer", "cookie"],
  responses: { 204: "Mailed", 400: "Invalid body", 401: "Not signed in", 404: "VERIFY_EMAILS is off" },
});

account.post("/change-email/request", changeEmailRequest, async (c) => {
  const { config, services } = c.var;
  if (!config.features.verifyEmails) throw new AuthError("FEATURE_DISABLED");
  const principal = await requireHbpPrincipal(c);
  const mail = deferRequest(c, "mail");
  const { new_email } = await changeEmailRequest.body(c);
  await services.accounts.requestEmailChange(
    principal.userId,
    new_email,
    (t) => `${config.publicUrl}/auth/change-email/change?ticket=${encodeURIComponent(t)}`,
    changeOrigin(c, principal),
    mail,
  );
  return c.body(null, 204);
});

const changeEmailChange = op({
  summary: "Confirm an email change with the mailed ticket",
  body: s.ticketBody,
  responses: { 204: "Changed", 401: "Invalid or expired ticket", 404: "VERIFY_EMAILS is off" },
});

account.post(
  "/change-email/change",
  changeEmailChange,
  feature("verifyEmails"),
  limit("verify"),
  async (c) => {
    const { services } = c.var;
    const { ticket } = await changeEmailChange.body(c);
    await services.accounts.confirmEmailChange(ticket, sessionContext(c));
    return c.body(null, 204);
  },
);

/**
 * The link in the confirmation mail. api/hbp.txt only has the POST above, so the link is ours to
 * shape: GET (and HEAD) only shows a page whose button posts the ticket to /change-email/confirm,
 * which confirms and sends the browser to the configured page. A mail scanner spends nothing.
 */
const changeEmailPage = op({
  summary: "The page the email-change link opens: its button posts to /auth/change-email/confirm",
  query: s.ticketQuery,
  responses: { 200: { description: "An HTML page", contentType: "text/html" }, 404: "VERIFY_EMAILS is off" },
});

account.get("/change-email/change", changeEmailPage, async (c) => {
  const { config } = c.var;
  if (!config.features.verifyEmails) throw new AuthError("FEATURE_DISABLED");
  const { ticket } = changeEmailPage.query(c);
  return confirmPage(c, {
    title: "Confirm your new email address",
    text: "Press the button to make this address the one of your account.",
    button: "Confirm",
    action: `${config.publicUrl}/auth/change-email/confirm`,
    field: "ticket",
    secret: ticket,
  });
});

const changeEmailConfirm = op({
  summary: "The email-change page's button: confirms and redirects",
  body: s.ticketBody,
  responses: {
    303: "To REDIRECT_URL_SUCCESS; a spent ticket goes to REDIRECT_URL_ERROR when set",
    401: "Invalid or expired ticket",
    404: "VERIFY_EMAILS is off",
  },
});

account.post(
  "/change-email/confirm",
  changeEmailConfirm,
  feature("verifyEmails"),
  limit("verify"),
  async (c) => {
    const { config, services } = c.var;
    const { ticket } = await changeEmailConfirm.body(c);
    return invalidTicketRedirect(c, 303, async () => {
      await services.accounts.confirmEmailChange(ticket, sessionContext(c));
      return c.redirect(config.redirects.success, 303);
    });
  },
);

const changePassword = op({
  summary: "Change the password (the current one is needed)",
  body: s.changePasswordBody,
  auth: ["bearer", "cookie"],
  responses: {
    204: "Changed; the user's other sessions end",
    400: "Invalid body or weak password",
    401: "Not signed in, or a wrong current password",
  },
});

account.post("/change-password", changePassword, async (c) => {
  const principal = await requireHbpPrincipal(c);
  const body = await changePassword.body(c);
  try {
    await c.var.services.accounts.changePassword({
      userId: principal.userId,
      sessionId: principal.sessionId,
      oldPassword: body.old_password ?? "",
      newPassword: body.new_password,
      ctx: sessionContext(c),
    });
  } catch (e) {
    // compat(hbp): HBP's message for a wrong current password (change-password/change.ts).
    if (e instanceof AuthError && e.code === "INVALID_CREDENTIALS")
      throw new AuthError("INVALID_CREDENTIALS", { detail: "Incorrect current password.", cause: e });
    throw e;
  }
  return c.body(null, 204);
});

// Always 204, so the answer says nothing about which addresses have accounts.
const lostPassword = op({
  summary: "Ask for a password-reset mail (always 204)",
  description: "The mail links to REDIRECT_URL_SUCCESS with `type=passwordReset&ticket=`.",
  body: s.lostPasswordBody,
  responses: {
    204: "Mailed if the account exists",
    404: "LOST_PASSWORD_ENABLED is off",
    429: "Too many mails",
  },
});

account.post("/change-password/request", lostPassword, feature("lostPassword"), async (c) => {
  const { config, services } = c.var;
  // The per-IP mail window: counted in this isolate now, in D1 by the ticket's batch.
  const mail = deferRequest(c, "mail");
  const { email } = await lostPassword.body(c);
  await services.accounts.requestPasswordReset(
    email,
    (t) => withParam(withParam(config.redirects.success, "type", "passwordReset"), "ticket", t),
    mail,
  );
  return c.body(null, 204);
});

const resetPassword = op({
  summary: "Set a new password with the mailed ticket",
  body: s.resetPasswordBody,
  responses: {
    204: "Changed; every session of the user ends",
    400: "Invalid body or weak password",
    401: "Invalid or expired ticket",
    404: "LOST_PASSWORD_ENABLED is off",
  },
});

account.post(
  "/change-password/change",
  resetPassword,
  feature("lostPassword"),
  limitHashing("verify"),
  async (c) => {
    const { services } = c.var;
    const { ticket, new_password } = await resetPassword.body(c);
    await services.accounts.resetPassword(ticket, new_password, sessionContext(c));
    return c.body(null, 204);
  },
);

const mfa = new Hono<AppEnv>();
// MFA_ENABLED gates setting TOTP up; users who already have it can still sign in with it and
// turn it off when the flag is switched off later.
const setupGate: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.var.config.features.mfa) throw new AuthError("FEATURE_DISABLED");
  await next();
};
mfa.use("/generate", setupGate).use("/enable", setupGate);

mfa.post(
  "/generate",
  op({
    summary: "Generate a TOTP secret (QR code and secret) to enable MFA with",
    auth: ["bearer", "cookie"],
    responses: {
      200: { description: "The QR code as a data URL, and the secret", body: o.totpSetupResponse },
      401: "Not signed in",
      404: "MFA_ENABLED is off",
    },
  }),
  async (c) => {
    const principal = await requireHbpPrincipal(c);
    const user = await c.var.services.accounts.currentUser(principal.userId);
    const setup = await c.var.services.totp.generate(principal.userId, user.email ?? principal.userId);
    return c.json({ image_url: setup.qrDataUrl, otp_secret: setup.secret });
  },
);

const enable = op({
  summary: "Enable TOTP with a code from the generated secret",
  body: s.codeBody,
  auth: ["bearer", "cookie"],
  responses: {
    204: "Enabled",
    400: "Invalid body, or MFA already on",
    401: "Not signed in, or a wrong code",
    404: "MFA_ENABLED is off",
  },
});

mfa.post("/enable", enable, async (c) => {
  const principal = await requireHbpPrincipal(c);
  const { code } = await enable.body(c);
  await c.var.services.accounts.enableTotp(principal.userId, code, changeOrigin(c, principal));
  return c.body(null, 204);
});

const disable = op({
  summary: "Disable TOTP with a current code",
  body: s.codeBody,
  auth: ["bearer", "cookie"],
  responses: { 204: "Disabled", 400: "Invalid body, or MFA not on", 401: "Not signed in, or a wrong code" },
});

mfa.post("/disable", disable, async (c) => {
  const principal = await requireHbpPrincipal(c);
  const { code } = await disable.body(c);
  await c.var.services.accounts.disableTotp(principal.userId, code, changeOrigin(c, principal));
  return c.body(null, 204);
});

const totp = op({
  summary: "Second step of a login with MFA: the ticket from /auth/login and a TOTP code",
  body: s.totpBody,
  responses: {
    200: { description: "The session", body: o.sessionResponse },
    400: "Invalid body",
    401: "Invalid ticket or code",
    403: "A cross-site request",
    429: "Too many attempts",
  },
});

mfa.post("/totp", totp, sameOrigin, limit("verify"), async (c) => {
  const { services } = c.var;
  const body = await totp.body(c);
  if (body.cookie ?? true) assertCookieOrigin(c);
  const { user, session } = await services.accounts.completeMfa({
    ticket: body.ticket,
    code: body.code,
    ctx: sessionContext(c),
  });
  return c.json(await sessionBody(c, user, session, body.cookie ?? true));
});

account.route("/mfa", mfa);
