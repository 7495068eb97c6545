/** Mail bodies. Plain text first; the HTML part escapes everything it interpolates. */
import type { MailMessage } from "./mailer";

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function linkMail(
  kind: string,
  to: string,
  subject: string,
  intro: string,
  link: string,
  extra: Record<string, string>,
): MailMessage {
  return {
    to,
    subject,
    kind,
    text: `${intro}\n\n${link}\n\nIf you did not ask for this, ignore this message.`,
    html: `<p>${esc(intro)}</p><p><a href="${esc(link)}">${esc(link)}</a></p><p>If you did not ask for this, ignore this message.</p>`,
    data: { link, ...extra },
  };
}

export type SecurityEvent =
  | "password_changed"
  | "password_reset_done"
  | "email_changed"
  | "totp_enabled"
  | "totp_disabled"
  | "passkey_added";

const SECURITY: Record<SecurityEvent, { subject: string; what: string; advice: string }> = {
  password_changed: {
    subject: "Your password was changed",
    what: "The password of your account was changed.",
    advice: "If this was not you, reset your password now: your other sessions have been signed out.",
  },
  password_reset_done: {
    subject: "Your password was reset",
    what: "The password of your account was reset with a link sent to this address.",
    advice: "If this was not you, reset your password again now and secure this mailbox.",
  },
  email_changed: {
    subject: "Your email address was changed",
    what: "The email address of your account was changed.",
    advice:
      "If this was not you, reset your password and contact support: your other sessions have been signed out.",
  },
  totp_enabled: {
    subject: "Two-factor authentication was turned on",
    what: "Two-factor authentication (an authenticator app) was turned on for your account.",
    advice: "If this was not you, reset your password and contact support.",
  },
  totp_disabled: {
    subject: "Two-factor authentication was turned off",
    what: "Two-factor authentication was turned off for your account.",
    advice: "If this was not you, reset your password now and turn it on again.",
  },
  passkey_added: {
    subject: "A passkey was added to your account",
    what: "A new passkey was added to your account.",
    advice: "If this was not you, remove the passkey, reset your password and contact support.",
  },
};

const TAKEN = {
  sign_up: {
    subject: "Someone tried to sign up with your email address",
    what: "Someone tried to create an account with this email address. It already has an account, so no new one was made.",
    advice:
      "If it was you, sign in instead, or reset your password if you forgot it. If not, you can ignore this message.",
  },
  email_change: {
    subject: "Someone tried to use your email address",
    what: "Someone tried to add this email address to another account. It belongs to your account, so nothing changed.",
    advice: "If it was you, sign in with this address instead. If not, you can ignore this message.",
  },
} as const;

export const templates = {
  /** To the holder of an address someone tried to sign up with or move to another account. */
  addressTaken: (
    to: string,
    attempt: keyof typeof TAKEN,
    info: { when: string; client: string },
  ): MailMessage => {
    const t = TAKEN[attempt];
    const lines = [t.what, `When: ${info.when}`, `From: ${info.client}`, t.advice];
    return {
      to,
      subject: t.subject,
      kind: `address_taken_${attempt}`,
      text: lines.join("\n\n"),
      html: lines.map((l) => `<p>${esc(l)}</p>`).join(""),
      data: { when: info.when },
    };
  },
  /** What changed, when, from which client, and what to do if it was not the owner. */
  securityNotice: (
    to: string,
    event: SecurityEvent,
    info: { when: string; client: string; detail?: string; data?: Record<string, string> },
  ): MailMessage => {
    const t = SECURITY[event];
    const what = info.detail ? `${t.what} ${info.detail}` : t.what;
    const lines = [what, `When: ${info.when}`, `From: ${info.client}`, t.advice];
    return {
      to,
      subject: t.subject,
      kind: event,
      text: lines.join("\n\n"),
      html: lines.map((l) => `<p>${esc(l)}</p>`).join(""),
      data: { event, when: info.when, client: info.client, ...info.data },
    };
  },
  activation: (to: string, link: string, ticket: string) =>
    linkMail(
      "activation",
      to,
      "Confirm your email address",
      "Open this link to activate your account:",
      link,
      { ticket },
    ),
  magicLink: (to: string, link: string, token: string) =>
    linkMail(
      "magic_link",
      to,
      "Your sign-in link",
      "Open this link to sign in. It works once, for 10 minutes:",
      link,
      { token },
    ),
  passwordReset: (to: string, link: string, ticket: string) =>
    linkMail(
      "password_reset",
      to,
      "Reset your password",
      "Open this link to choose a new password. It works once, for 30 minutes:",
      link,
      {
        ticket,
      },
    ),
  emailChange: (to: string, link: string, ticket: string) =>
    linkMail(
      "email_change",
      to,
      "Change your email address",
      "Open this link to confirm your new email address:",
      link,
      { ticket },
    ),
};
