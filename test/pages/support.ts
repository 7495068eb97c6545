/** Steps for the hosted-page tests: a browser-like cookie jar, form posts from this origin, mail. */
import { expect } from "vitest";
import type { Clock } from "../../src/lib/clock";
import { lastMail } from "../dialects/hbp/helpers";
import { call, type Vars } from "../support/app";
import { getAssertion, type SoftCredential } from "../support/soft-authenticator";

export { lastMail };
export const ORIGIN = "http://localhost:8787";
export const APP = "https://app.example.com/after-login";
/** The app's URL allow-listed for the handover. */
export const ALLOW: Vars = { OAUTH_ALLOWED_REDIRECTS: APP };

const unescapeHtml = (s: string) => s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)));

/** The cookies a browser would keep for this origin. */
export class Jar {
  cookies = new Map<string, string>();
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  take(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const [k, v] = pair!.split("=");
      if (/max-age=0/i.test(line) || v === "") this.cookies.delete(k!);
      else this.cookies.set(k!, v!);
    }
    return res;
  }
}

/** A form post the way a same-origin page makes it (Origin and Sec-Fetch-Site set). */
export async function submit(
  path: string,
  form: Record<string, string>,
  opts: { jar?: Jar; vars?: Vars; headers?: Record<string, string>; ip?: string; clock?: Clock } = {},
) {
  const headers: Record<string, string> = {
    origin: ORIGIN,
    "sec-fetch-site": "same-origin",
    ...opts.headers,
  };
  if (opts.jar?.cookies.size) headers.cookie = opts.jar.header();
  const res = await call(path, { form, headers, vars: opts.vars, ip: opts.ip, clock: opts.clock });
  return opts.jar ? opts.jar.take(res) : res;
}

export async function open(
  path: string,
  opts: { jar?: Jar; vars?: Vars; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.jar?.cookies.size) headers.cookie = opts.jar.header();
  const res = await call(path, { headers, vars: opts.vars });
  return opts.jar ? opts.jar.take(res) : res;
}

export async function postJson(
  path: string,
  json: unknown,
  opts: { jar?: Jar; vars?: Vars; clock?: Clock } = {},
) {
  const headers: Record<string, string> = { origin: ORIGIN, "sec-fetch-site": "same-origin" };
  if (opts.jar?.cookies.size) headers.cookie = opts.jar.header();
  const res = await call(path, { json, headers, vars: opts.vars, clock: opts.clock });
  return opts.jar ? opts.jar.take(res) : res;
}

/** The value of a hidden field of a page. */
export function hiddenValue(html: string, name: string): string {
  const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(html);
  expect(m, `no hidden ${name} in page`).toBeTruthy();
  return unescapeHtml(m![1]!);
}

/** A mailed link's path and query (links are absolute, built from PUBLIC_URL). */
export const local = (link: string) => {
  const u = new URL(link);
  return u.pathname + u.search;
};

/**
 * A passkey sign-in on the login page with `credential` (fresh options, one assertion), asking to
 * go to APP: the response, the page session's jar, and the assertion (to try it again).
 */
export async function passkeySignIn(credential: SoftCredential) {
  const options = (await (await postJson("/login/passkey/options", {})).json()) as Record<string, unknown>;
  const assertion = await getAssertion({ publicKey: options }, credential);
  const jar = new Jar();
  const res = await postJson(
    "/login/passkey",
    { credential: assertion, redirect_to: APP },
    { jar, vars: ALLOW },
  );
  return { res, jar, assertion };
}
