/**
 * Mail strings (English, the reference catalog). `{product}`, `{email}`, `{validity}`, `{code}`,
 * `{new_email}` are filled by src/core/mail/templates.ts; every kind has a subject, a heading, an
 * intro (what the mail is for) and `notYou` (what to do if it was not the reader).
 */
export const mail = {
  validity: {
    minute: "1 minute",
    minutes: "{n} minutes",
    hour: "1 hour",
    hours: "{n} hours",
  },
  layout: {
    /** Under the button, for clients that do not show it. */
    linkFallback: "If the button does not work, copy this link into your browser:",
    codeLabel: "Your code",
    when: "When",
    from: "From",
    /** The client named in a notice: its user agent and network. */
    client: "{agent}, network {network}",
    unknownAgent: "an unknown client",
    unknownNetwork: "an unknown address",
    footer: "This message was sent by {product} to {email}. It was sent automatically; replies are not read.",
  },
  activation: {
    subject: "Confirm your email address for {product}",
    heading: "Confirm your email address",
    intro: "Welcome to {product}. Confirm that {email} is your address to activate your account.",
    action: "Confirm email address",
    validity: "The link works once and expires in {validity}.",
    notYou: "If you did not create an account, ignore this message: nothing happens without this link.",
  },
  magic_link: {
    subject: "Your sign-in link for {product}",
    heading: "Sign in to {product}",
    intro: "Use the button below to sign in as {email}. No password needed.",
    action: "Sign in",
    validity: "The link works once and expires in {validity}.",
    notYou: "If you did not ask to sign in, ignore this message: nobody can sign in without this link.",
  },
  passcode: {
    subject: "Your {product} passcode: {code}",
    heading: "Your passcode",
    intro: "Enter this code to continue signing in to {product} as {email}.",
    validity: "The code expires in {validity}. Never share it with anyone.",
    notYou: "If you did not ask for a code, ignore this message: nobody can sign in without it.",
  },
  passcode_sign_up: {
    subject: "Your {product} sign-up code: {code}",
    heading: "Create your account",
    intro: "Enter this code to create your {product} account for {email}.",
    validity: "The code expires in {validity}. Never share it with anyone.",
    notYou: "If you did not ask to sign up, ignore this message: no account is created without this code.",
  },
  password_reset: {
    subject: "Reset your {product} password",
    heading: "Reset your password",
    intro:
      "Someone asked to reset the password of the {product} account for {email}. Use the button below to choose a new one.",
    action: "Choose a new password",
    validity: "The link works once and expires in {validity}.",
    notYou: "If you did not ask for this, ignore this message: your password stays as it is.",
  },
  email_change: {
    subject: "Confirm your new email address for {product}",
    heading: "Confirm your new email address",
    intro: "Confirm that {email} should become the email address of your {product} account.",
    action: "Confirm new address",
    validity: "The link works once and expires in {validity}.",
    notYou: "If you did not ask for this, ignore this message: the account keeps its current address.",
  },
  address_taken_sign_up: {
    subject: "Someone tried to sign up with your email address",
    heading: "Someone tried to sign up with your address",
    intro:
      "Someone tried to create a {product} account with this email address. It already has an account, so no new one was made.",
    notYou:
      "If it was you, sign in instead, or reset your password if you forgot it. If not, you can ignore this message.",
  },
  address_taken_email_change: {
    subject: "Someone tried to use your email address",
    heading: "Someone tried to use your address",
    intro:
      "Someone tried to add this email address to another {product} account. It belongs to your account, so nothing changed.",
    notYou: "If it was you, sign in with this address instead. If not, you can ignore this message.",
  },
  password_changed: {
    subject: "Your {product} password was changed",
    heading: "Your password was changed",
    intro: "The password of your {product} account was changed.",
    notYou: "If this was not you, reset your password now: your other sessions have been signed out.",
  },
  password_reset_done: {
    subject: "Your {product} password was reset",
    heading: "Your password was reset",
    intro: "The password of your {product} account was reset with a link sent to this address.",
    notYou: "If this was not you, reset your password again now and secure this mailbox.",
  },
  email_changed: {
    subject: "Your {product} email address was changed",
    heading: "Your email address was changed",
    intro: "The email address of your {product} account was changed. The new address is {new_email}.",
    notYou:
      "If this was not you, reset your password and contact support: your other sessions have been signed out.",
  },
  totp_enabled: {
    subject: "Two-factor authentication was turned on",
    heading: "Two-factor authentication is on",
    intro: "Two-factor authentication (an authenticator app) was turned on for your {product} account.",
    notYou: "If this was not you, reset your password and contact support.",
  },
  totp_disabled: {
    subject: "Two-factor authentication was turned off",
    heading: "Two-factor authentication is off",
    intro: "Two-factor authentication was turned off for your {product} account.",
    notYou: "If this was not you, reset your password now and turn it on again.",
  },
  passkey_added: {
    subject: "A passkey was added to your account",
    heading: "A new passkey was added",
    intro: "A new passkey was added to your {product} account.",
    notYou: "If this was not you, remove the passkey, reset your password and contact support.",
  },
  recovery_code_used: {
    subject: "A recovery code was used to sign in",
    heading: "A recovery code was used",
    intro:
      "One of your {product} recovery codes was used instead of your authenticator app to sign in. {remaining} unused codes are left.",
    notYou: "If this was not you, reset your password now and create a new set of recovery codes.",
  },
};
