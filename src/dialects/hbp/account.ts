/**
 * api/hbp.txt, Authentication: email change, password change and reset, TOTP MFA. Every route
 * here except the ticket-based ones needs a bearer access token or the session cookie of a live
 * session (session.ts).
 */
import { Hono, type MiddlewareHandler } from "hono";
import { AuthError } from "../../core/errors";
import { sameOrigin } from "../shared/csrf";
import { changeOrigin, readBody, sessionContext, validate } from "../shared/http";
import { countRequest, feature, invalidTicketRedirect, limit, limitHashing } from "../shared/kit";
import { confirmPage } from "../shared/links";
import type { AppEnv } from "../shared/types";
import { sessionBody, withParam } from "./present";
import * as s from "./schemas";
import { assertCookieOrigin, requireHbpPrincipal } from "./session";

export const account = new Hono<AppEnv>();

account.post("/change-email", async (c) => {
  if (c.var.config.features.verifyEmails) throw new AuthError("FEATURE_DISABLED");
  const principal = await requireHbpPrincipal(c);
  const { new_email } = validate(s.newEmailBody, await readBody(c));
  await c.var.services.accounts.changeEmailDirect(principal.userId, new_email, changeOrigin(c, principal));
  return c.body(null, 204);
});

account.post("/change-email/request", async (c) => {
  const { config, services } = c.var;
  if (!config.features.verifyEmails) throw new AuthError("FEATURE_DISABLED");
  const principal = await requireHbpPrincipal(c);
  await countRequest(c, "mail");
  const { new_email } = validate(s.newEmailBody, await readBody(c));
  await services.accounts.requestEmailChange(
    principal.userId,
    new_email,
    (t) => `${config.publicUrl}/auth/change-email/change?ticket=${encodeURIComponent(t)}`,
    changeOrigin(c, principal),
  );
  return c.body(null, 204);
});

account.post("/change-email/change", feature("verifyEmails"), limit("verify"), async (c) => {
  const { services } = c.var;
  const { ticket } = validate(s.ticketBody, await readBody(c));
  await services.accounts.confirmEmailChange(ticket, sessionContext(c));
  return c.body(null, 204);
});

/**
 * The link in the confirmation mail. api/hbp.txt only has the POST above, so the link is ours to
 * shape: GET (and HEAD) only shows a page whose button posts the ticket to /change-email/confirm,
 * which confirms and sends the browser to the configured page. A mail scanner spends nothing.
 */
account.get("/change-email/change", async (c) => {
  const { config } = c.var;
  if (!config.features.verifyEmails) throw new AuthError("FEATURE_DISABLED");
  const { ticket } = validate(s.ticketQuery, c.req.query());
  return confirmPage(c, {
    title: "Confirm your new email address",
    text: "Press the button to make this address the one of your account.",
    button: "Confirm",
    action: `${config.publicUrl}/auth/change-email/confirm`,
    field: "ticket",
    secret: ticket,
  });
});

account.post("/change-email/confirm", feature("verifyEmails"), limit("verify"), async (c) => {
  const { config, services } = c.var;
  const { ticket } = validate(s.ticketBody, await readBody(c));
  return invalidTicketRedirect(c, 303, async () => {
    await services.accounts.confirmEmailChange(ticket, sessionContext(c));
    return c.redirect(config.redirects.success, 303);
  });
});

account.post("/change-password", async (c) => {
  const principal = await requireHbpPrincipal(c);
  const body = validate(s.changePasswordBody, await readBody(c));
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
account.post("/change-password/request", feature("lostPassword"), limit("mail"), async (c) => {
  const { config, services } = c.var;
  const { email } = validate(s.lostPasswordBody, await readBody(c));
  await services.accounts.requestPasswordReset(email, (t) =>
    withParam(withParam(config.redirects.success, "type", "passwordReset"), "ticket", t),
  );
  return c.body(null, 204);
});

account.post("/change-password/change", feature("lostPassword"), limitHashing("verify"), async (c) => {
  const { services } = c.var;
  const { ticket, new_password } = validate(s.resetPasswordBody, await readBody(c));
  await services.accounts.resetPassword(ticket, new_password, sessionContext(c));
  return c.body(null, 204);
});

const mfa = new Hono<AppEnv>();
// MFA_ENABLED gates setting TOTP up; users who already have it can still sign in with it and
// turn it off when the flag is switched off later.
const setupGate: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.var.config.features.mfa) throw new AuthError("FEATURE_DISABLED");
  await next();
};
mfa.use("/generate", setupGate).use("/enable", setupGate);

mfa.post("/generate", async (c) => {
  const principal = await requireHbpPrincipal(c);
  const user = await c.var.services.accounts.currentUser(principal.userId);
  const setup = await c.var.services.totp.generate(principal.userId, user.email ?? principal.userId);
  return c.json({ image_url: setup.qrDataUrl, otp_secret: setup.secret });
});

mfa.post("/enable", async (c) => {
  const principal = await requireHbpPrincipal(c);
  const { code } = validate(s.codeBody, await readBody(c));
  await c.var.services.accounts.enableTotp(principal.userId, code, changeOrigin(c, principal));
  return c.body(null, 204);
});

mfa.post("/disable", async (c) => {
  const principal = await requireHbpPrincipal(c);
  const { code } = validate(s.codeBody, await readBody(c));
  await c.var.services.accounts.disableTotp(principal.userId, code, changeOrigin(c, principal));
  return c.body(null, 204);
});

mfa.post("/totp", sameOrigin, limit("verify"), async (c) => {
  const { services } = c.var;
  const body = validate(s.totpBody, await readBody(c));
  if (body.cookie ?? true) assertCookieOrigin(c);
  const { user, session } = await services.accounts.completeMfa({
    ticket: body.ticket,
    code: body.code,
    ctx: sessionContext(c),
  });
  return c.json(await sessionBody(c, user, session, body.cookie ?? true));
});

account.route("/mfa", mfa);
