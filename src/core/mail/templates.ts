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

export const templates = {
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
  emailChanged: (to: string, newAddress: string): MailMessage => ({
    to,
    subject: "Your email address was changed",
    kind: "email_changed",
    text: `The email address of your account was changed to ${newAddress}. If this was not you, contact support.`,
    html: `<p>The email address of your account was changed to ${esc(newAddress)}. If this was not you, contact support.</p>`,
    data: { new_email: newAddress },
  }),
};
