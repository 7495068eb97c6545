/**
 * Step-up on the hosted pages: a change the core refuses with REAUTHENTICATION_REQUIRED (the page
 * session's sign-in is older than STEP_UP_MAX_AGE) shows a confirmation instead of failing: the
 * user confirms with a passkey, or with the password when the account has one, and the change
 * then goes on (its form is posted again). The pending change travels as the form's fields; only
 * the page routes listed in CONTINUABLE can be continued this way.
 */
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { Hono } from "hono";
import { AuthError, isAuthError } from "../core/errors";
import { sameOrigin } from "../dialects/shared/csrf";
import { limit } from "../dialects/shared/kit";
import type { AppEnv } from "../dialects/shared/types";
import {
  type Ctx,
  errorBox,
  esc,
  field,
  form,
  hidden,
  page,
  pageSession,
  posted,
  type Refusal,
  refusal,
  strings,
  withForm,
} from "./kit";

export const stepUp = new Hono<AppEnv>();

/** The page routes a confirmation may continue, with the fields they take. */
const CONTINUABLE: Record<string, readonly string[]> = { "/account/passkeys/delete": ["id"] };

/** True when `e` is the core asking for a recent sign-in. */
export const needsConfirmation = (e: unknown) => isAuthError(e) && e.code === "REAUTHENTICATION_REQUIRED";

/** The confirmation page for the pending change `then` with its `fields` (403: the change did not happen yet). */
export async function confirmPage(
  c: Ctx,
  userId: string,
  then: string,
  fields: Record<string, string>,
  error?: Refusal,
) {
  const s = strings(c);
  const user = await c.var.services.accounts.currentUser(userId);
  const pending =
    hidden("next", then) +
    Object.entries(fields)
      .map(([k, v]) => hidden(k, v))
      .join("");
  const password = user.passwordHash
    ? `${field({
        name: "password",
        label: s.password,
        type: "password",
        autocomplete: "current-password",
        autofocus: true,
        invalid: !!error,
      })}<button>${esc(s.confirm)}</button>`
    : "";
  const passkey =
    `<p id="passkey-error" class="error" role="alert" hidden></p>` +
    `<input type="hidden" name="credential"><button type="button" class="secondary" data-passkey-confirm data-failed="${esc(s.passkeyFailed)}" hidden>${esc(s.usePasskey)}</button>`;
  const body = errorBox(error) + form(c, "/account/confirm", pending + password + passkey);
  return page(c, { title: s.confirmTitle, body, script: true, status: error?.status ?? 403 });
}

/** The change, posted again once confirmed (the script submits it; the button is there without script). */
function goOn(c: Ctx, then: string, fields: Record<string, string>) {
  const inner = `${Object.entries(fields)
    .map(([k, v]) => hidden(k, v))
    .join("")}<button>${esc(strings(c).continue)}</button>`;
  return page(c, { title: strings(c).confirmTitle, body: form(c, then, inner, " data-go"), script: true });
}

stepUp.post("/account/confirm/options", sameOrigin, limit("verify"), async (c) => {
  const session = await pageSession(c);
  if (!session) throw new AuthError("UNAUTHENTICATED");
  return c.json(await c.var.services.reauth.passkeyOptions(session.userId));
});

stepUp.post("/account/confirm", sameOrigin, limit("login"), withForm, async (c) => {
  const session = await pageSession(c);
  if (!session) throw new AuthError("UNAUTHENTICATED");
  const then = posted(c, "next");
  const names = CONTINUABLE[then];
  if (!names) throw new AuthError("INVALID_REQUEST");
  const fields = Object.fromEntries(names.map((n) => [n, posted(c, n)]));
  const raw = posted(c, "credential");
  try {
    let proof: { password: string } | { webauthn: AuthenticationResponseJSON };
    if (raw) {
      try {
        proof = { webauthn: JSON.parse(raw) as AuthenticationResponseJSON };
      } catch {
        throw new AuthError("INVALID_CREDENTIALS");
      }
    } else proof = { password: posted(c, "password") };
    await c.var.services.reauth.reauthenticate(session.userId, session.sessionId, proof);
  } catch (e) {
    return confirmPage(c, session.userId, then, fields, refusal(c, e));
  }
  return goOn(c, then, fields);
});
