/**
 * What every e2e suite shares: the server under test, numbered TAP-like steps, unique addresses,
 * and Debian's Chromium with a fresh profile.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const API = process.env.LATCHKEY_URL;
if (!API) throw new Error("LATCHKEY_URL is not set (run through `npm run test:e2e`)");

let stepNo = 0;
/** Runs one named step; prints `ok N - name (ms)`, or `not ok N - name` and rethrows. */
export async function step(name, fn) {
  stepNo++;
  const t = Date.now();
  try {
    await fn();
  } catch (e) {
    console.error(`  not ok ${stepNo} - ${name}`);
    throw e;
  }
  console.log(`  ok ${stepNo} - ${name} (${Date.now() - t} ms)`);
}

/** How many steps have passed so far. */
export const stepsPassed = () => stepNo;

/**
 * A JSON client for the server under test: `api(path, {json, token, method, headers})` posts `json`
 * (GET without), never follows redirects, and answers `{status, headers, body}` with the body
 * parsed when it is JSON (else null). `headers` are sent with every request.
 */
export function jsonClient(headers = {}) {
  return async (path, { json, token, method, headers: extra = {} } = {}) => {
    const h = { ...headers, ...extra };
    if (json !== undefined) h["content-type"] = "application/json";
    if (token) h.authorization = `Bearer ${token}`;
    const res = await fetch(`${API}${path}`, {
      method: method ?? (json !== undefined ? "POST" : "GET"),
      headers: h,
      body: json === undefined ? undefined : JSON.stringify(json),
      redirect: "manual",
    });
    const text = await res.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {}
    return { status: res.status, headers: res.headers, body };
  };
}

/**
 * Helpers over a `jsonClient`: `ok(path, opts, want)` asserts the status is one of `want`;
 * `mailFor(to, kind)` is the newest mail of `kind` for `to` in the development outbox, waiting up
 * to 5 s for mail sent after the response (security notices, queued work).
 */
export function clientSteps(api) {
  async function ok(path, opts, want = [200, 204]) {
    const r = await api(path, opts);
    assert.ok(want.includes(r.status), `${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r;
  }
  async function mailFor(to, kind) {
    for (let i = 0; i < 50; i++) {
      const mail = (await api(`/_dev/outbox?to=${encodeURIComponent(to)}`)).body.find((m) => m.kind === kind);
      if (mail) return mail;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no ${kind} mail for ${to}`);
  }
  return { ok, mailFor };
}

export const unique = (tag) => `${tag}-${Math.random().toString(36).slice(2, 10)}@example.com`;

/**
 * Debian's Chromium (never a downloaded browser) in a fresh profile, with the flags this machine's
 * closed network needs (no background connections).
 */
export function launchChromium(name) {
  const profile = mkdtempSync(join(process.env.E2E_TMP ?? tmpdir(), `${name}-`));
  return chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A CDP virtual platform authenticator (resident keys, user verification) on `page`. */
export async function withAuthenticator(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}
