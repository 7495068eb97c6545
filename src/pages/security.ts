/**
 * The account page's security sections: the user's sessions (device, when signed in and last
 * active, network, this device; end one or all others) and, with TOTP on, the recovery codes (how
 * many are left; a new set for a current TOTP code, shown once). The routes are in account.ts and
 * call the same core services as /v1 (dialects/latchkey/account.ts).
 */
import { describeClient } from "../core/accounts/notices";
import { fill } from "../core/i18n";
import { RECOVERY_CODE_COUNT } from "../core/recovery/recovery-codes.service";
import { describeDevice } from "../core/sessions/device";
import type { SessionListRow } from "../core/sessions/sessions.store";
import { type Ctx, esc, field, form, locale, type Strings, strings } from "./kit";

/** `?done=` after a session change (POST, redirect, GET): the notice the sessions section shows. */
export function sessionNotice(c: Ctx): string | null {
  const s = strings(c);
  const done = c.req.query("done");
  return done === "ended" ? s.sessionEnded : done === "others-ended" ? s.otherSessionsEnded : null;
}

/** The device of a session in the page's language ("Firefox on Windows"). */
function deviceName(s: Strings, userAgent: string | null) {
  const { browser, os } = describeDevice(userAgent);
  if (browser && os) return fill(s.deviceOn, { browser, os });
  return browser ?? os ?? s.unknownDevice;
}

function sessionItem(c: Ctx, r: SessionListRow, current: boolean): string {
  const s = strings(c);
  const when = new Intl.DateTimeFormat(locale(c), {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: "UTC",
  });
  const device = deviceName(s, r.userAgent);
  const network = describeClient({ ip: r.ip ?? undefined }).network;
  const facts = [
    fill(s.sessionCreated, { date: `${when.format(r.createdAt)} UTC` }),
    fill(s.sessionLastUsed, { date: `${when.format(r.lastSeenAt)} UTC` }),
    network ? fill(s.sessionNetwork, { network }) : "",
  ].filter(Boolean);
  // The current session ends by signing out (the form below the sections), not from the list.
  const end = current
    ? ""
    : form(
        c,
        "/account/sessions/end",
        `<input type="hidden" name="id" value="${esc(r.id)}">` +
          `<button class="secondary" aria-label="${esc(fill(s.endSessionNamed, { device }))}">${esc(s.endSession)}</button>`,
      );
  return (
    `<li data-session${current ? ` data-current aria-current="true"` : ""}><p><strong>${esc(device)}</strong>` +
    (current ? ` <span class="badge">${esc(s.thisDevice)}</span>` : "") +
    `<br><small>${esc(facts.join(" · "))}</small></p>${end}</li>`
  );
}

/** The sessions section: the current one first, then the others newest first. */
export function sessionsSection(c: Ctx, rows: SessionListRow[], currentId: string, flash: string) {
  const s = strings(c);
  const ordered = [...rows.filter((r) => r.id === currentId), ...rows.filter((r) => r.id !== currentId)];
  const others = rows.some((r) => r.id !== currentId);
  return (
    `<section aria-labelledby="h-sessions"><h2 id="h-sessions">${esc(s.sessions)}</h2><p>${esc(s.sessionsText)}</p>${flash}` +
    `<ul class="list">${ordered.map((r) => sessionItem(c, r, r.id === currentId)).join("")}</ul>` +
    (others
      ? form(
          c,
          "/account/sessions/end-others",
          `<button class="secondary">${esc(s.endOtherSessions)}</button>`,
        )
      : "") +
    `</section>`
  );
}

/** The recovery codes section (only for an account with TOTP on). */
export function recoverySection(c: Ctx, remaining: number, flash: string, invalid: boolean) {
  const s = strings(c);
  const left = remaining
    ? fill(s.recoveryLeft, { count: remaining, total: RECOVERY_CODE_COUNT })
    : s.recoveryNone;
  return (
    `<section aria-labelledby="h-recovery"><h2 id="h-recovery">${esc(s.recoveryCodes)}</h2>` +
    `<p>${esc(s.recoveryText)}</p><p id="recovery-left">${esc(left)}</p>` +
    `<p>${esc(s.recoveryNewText)}</p>${flash}` +
    form(
      c,
      "/account/recovery-codes",
      `${field({
        name: "code",
        label: s.totpCode,
        autocomplete: "one-time-code",
        inputmode: "numeric",
        pattern: "[0-9]{6}",
        invalid,
      })}<button>${esc(s.recoveryNew)}</button>`,
    ) +
    `</section>`
  );
}

/** The new codes, shown once (the response is not stored; the TOTP code that made them is spent). */
export function recoveryCodesBody(c: Ctx, codes: string[], back: string) {
  const s = strings(c);
  return (
    `<p class="notice" role="status">${esc(s.recoveryStore)}</p>` +
    `<ol class="codes" aria-label="${esc(s.recoveryList)}">${codes.map((x) => `<li><code>${esc(x)}</code></li>`).join("")}</ol>` +
    `<p class="links">${back}</p>`
  );
}
