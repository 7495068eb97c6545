import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import { createServices } from "../../src/services";
import { uniqueEmail } from "../support/app";

function services(vars: Record<string, string> = {}) {
  const config = parseConfig({
    ENVIRONMENT: "test",
    SCRYPT_LOG_N: "10",
    SCRYPT_P: "1",
    AUTO_ACTIVATE_NEW_USERS: "true",
    ...vars,
  });
  return createServices(env, config, { clock: { now: () => Date.now() }, waitUntil: () => {} });
}

async function signedIn() {
  const s = services();
  const r = await s.accounts.register({
    email: uniqueEmail(),
    password: "pw-12345678",
    activationLink: (t) => t,
  });
  if (r.kind !== "session") throw new Error("expected a session");
  return { s, ...r };
}

describe("session liveness for reads", () => {
  it("a read right after logout in this isolate is refused at once", async () => {
    const { s, session } = await signedIn();
    expect((await s.sessions.authenticate(session.accessToken, { read: true })).sessionId).toBe(
      session.sessionId,
    );
    await s.sessions.revoke(session.sessionId);
    await expect(s.sessions.authenticate(session.accessToken, { read: true })).rejects.toMatchObject({
      code: "INVALID_TOKEN",
    });
    await expect(s.sessions.authenticate(session.accessToken)).rejects.toMatchObject({
      code: "INVALID_TOKEN",
    });
  });

  it("revoke-all and user deletion end cached sessions too", async () => {
    const a = await signedIn();
    await a.s.sessions.authenticate(a.session.accessToken, { read: true });
    await a.s.sessions.revokeAll(a.user.id);
    await expect(a.s.sessions.authenticate(a.session.accessToken, { read: true })).rejects.toMatchObject({
      code: "INVALID_TOKEN",
    });

    const b = await signedIn();
    await b.s.sessions.authenticate(b.session.accessToken, { read: true });
    await b.s.accounts.deleteSelf(b.user.id, b.session);
    await expect(b.s.sessions.authenticate(b.session.accessToken, { read: true })).rejects.toMatchObject({
      code: "INVALID_TOKEN",
    });
  });

  it("writes always ask D1, even while a read is remembered", async () => {
    const { s, session } = await signedIn();
    await s.sessions.authenticate(session.accessToken, { read: true });
    // A revocation made elsewhere (another isolate): straight to D1, bypassing this isolate's service.
    await env.DB.prepare("UPDATE sessions SET revoked_at = ? WHERE id = ?")
      .bind(Date.now(), session.sessionId)
      .run();
    await expect(s.sessions.authenticate(session.accessToken)).rejects.toMatchObject({
      code: "INVALID_TOKEN",
    });
  });

  it("a session ended by the per-user cap is refused at once, even for reads", async () => {
    const s = services({ MAX_SESSIONS_PER_USER: "1" });
    const email = uniqueEmail();
    const r = await s.accounts.register({ email, password: "pw-12345678", activationLink: (t) => t });
    if (r.kind !== "session") throw new Error("expected a session");
    await s.sessions.authenticate(r.session.accessToken, { read: true });
    const again = await s.accounts.loginWithPassword({ email, password: "pw-12345678" });
    if (again.kind !== "session") throw new Error("expected a session");
    await expect(s.sessions.authenticate(r.session.accessToken, { read: true })).rejects.toMatchObject({
      code: "INVALID_TOKEN",
    });
    expect((await s.sessions.authenticate(again.session.accessToken, { read: true })).sessionId).toBe(
      again.session.sessionId,
    );
  });
});
