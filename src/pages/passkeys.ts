/**
 * The account page's passkeys: each with its name, its provider (from the AAGUID), when it was
 * made and last used, a rename field and a delete button (plain forms, so both work without
 * JavaScript), and the data the script signals to the browser's passkey provider (WebAuthn Signal
 * API): the credential ids this account still accepts and the user's current name.
 */
import { fill } from "../core/i18n";
import { authenticatorOf } from "../core/webauthn/authenticators";
import { type Passkey, userHandleOf } from "../core/webauthn/webauthn.service";
import { type Ctx, esc, form, locale, strings } from "./kit";

/** `?done=` after a passkey change (POST, redirect, GET): the notice the account page shows. */
export function passkeyNotice(c: Ctx): string | null {
  const s = strings(c);
  const done = c.req.query("done");
  return done === "renamed" ? s.passkeyRenamed : done === "deleted" ? s.passkeyDeleted : null;
}

function item(c: Ctx, p: Passkey, i: number): string {
  const s = strings(c);
  const date = new Intl.DateTimeFormat(locale(c), { dateStyle: "medium" });
  const provider = authenticatorOf(p.aaguid);
  const name = p.name || provider?.name || s.passkeys;
  const facts = [
    // The provider's name is said once: a passkey not renamed is named after it.
    provider && provider.name !== name ? provider.name : "",
    fill(s.passkeyCreated, { date: date.format(p.createdAt) }),
    p.lastUsedAt === null ? "" : fill(s.passkeyLastUsed, { date: date.format(p.lastUsedAt) }),
  ].filter(Boolean);
  const icon = provider?.icon
    ? `<img class="icon" src="${esc(provider.icon)}" alt="" width="24" height="24">`
    : "";
  const id = `pk-${i}`;
  return (
    `<li data-passkey="${esc(p.id)}"><p class="passkey">${icon}<span><strong>${esc(name)}</strong><br>` +
    `<small>${esc(facts.join(" · "))}</small></span></p>` +
    form(
      c,
      "/account/passkeys/rename",
      `<input type="hidden" name="id" value="${esc(p.id)}"><div class="field"><label for="${id}">${esc(s.passkeyName)}</label>` +
        `<input id="${id}" name="name" type="text" value="${esc(name)}" required maxlength="64" autocomplete="off"></div>` +
        `<button class="secondary">${esc(s.renamePasskey)}</button>`,
      ` class="row"`,
    ) +
    form(
      c,
      "/account/passkeys/delete",
      `<input type="hidden" name="id" value="${esc(p.id)}">` +
        `<button class="secondary" aria-label="${esc(fill(s.deletePasskeyNamed, { name }))}">${esc(s.deletePasskey)}</button>`,
    ) +
    `</li>`
  );
}

/** The list, and the Signal API data for the script (hidden). */
export function passkeySection(c: Ctx, user: { id: string; email: string | null }, passkeys: Passkey[]) {
  const s = strings(c);
  const list = passkeys.length
    ? `<ul class="list">${passkeys.map((p, i) => item(c, p, i)).join("")}</ul>`
    : `<p>${esc(s.noPasskeys)}</p>`;
  // The user's name as the passkeys were created with it (webauthn.service registrationOptions).
  const name = user.email ?? user.id;
  const signal =
    `<div id="passkey-signal" hidden data-rp-id="${esc(c.var.config.webauthn.rpId)}" ` +
    `data-user-id="${esc(userHandleOf(user.id))}" data-name="${esc(name)}" ` +
    `data-ids="${esc(passkeys.map((p) => p.id).join(" "))}"></div>`;
  return list + signal;
}
