import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call } from "../../support/app";
import { AAGUID, createCredential, getAssertion } from "../../support/soft-authenticator";
import { lastMail } from "../hbp/helpers";
import { hcall, ISO, json, OPEN, signUp } from "./support";

const JSON_TYPE = { "content-type": "application/json" };

async function register(token: string, opts: Parameters<typeof createCredential>[1] = {}) {
  const init = await hcall("/webauthn/registration/initialize", {
    method: "POST",
    token,
    headers: JSON_TYPE,
  });
  expect(init.status).toBe(200);
  const options = await json(init);
  const { credential, response } = await createCredential(options, opts);
  const fin = await hcall("/webauthn/registration/finalize", { token, json: response });
  return { options, credential, response, fin };
}

async function loginOptions(body: unknown = {}, vars = OPEN) {
  const res = await call("/webauthn/login/initialize", { json: body, vars });
  expect(res.status).toBe(200);
  return json(res);
}

describe("hanko: WebAuthn registration", () => {
  it("wraps creation options in publicKey and stores the credential with its metadata", async () => {
    const u = await signUp();
    const { options, credential, fin } = await register(u.token);
    expect(options).toEqual({
      publicKey: {
        rp: { name: "Latchkey", id: "localhost" },
        user: { id: expect.stringMatching(/^[\w-]{22}$/), name: u.email, displayName: u.email },
        challenge: expect.stringMatching(/^[\w-]{43}$/),
        pubKeyCredParams: [
          { alg: -7, type: "public-key" },
          { alg: -257, type: "public-key" },
        ],
        timeout: 300000,
        attestation: "none",
        excludeCredentials: [],
        authenticatorSelection: {
          authenticatorAttachment: "platform",
          residentKey: "required",
          requireResidentKey: true,
          userVerification: "required",
        },
        extensions: { credProps: true },
        hints: [],
      },
    });
    expect(fin.status).toBe(200);
    expect(await json(fin)).toEqual({ credential_id: credential.id, user_id: u.userId });

    const list = await hcall("/webauthn/credentials", { token: u.token });
    expect(list.status).toBe(200);
    expect(await json(list)).toEqual([
      {
        id: credential.id,
        // A new passkey is named after its provider (an unknown AAGUID here).
        name: "Passkey",
        public_key: expect.stringMatching(/^[\w-]+$/),
        attestation_type: "none",
        aaguid: AAGUID,
        created_at: expect.stringMatching(ISO),
        transports: ["internal"],
        backup_eligible: false,
        backup_state: false,
      },
    ]);
    const me = await json(await hcall(`/users/${u.userId}`, { token: u.token }));
    expect(me.webauthn_credentials).toEqual([{ id: credential.id }]);
    expect(await json(await hcall("/user", { json: { email: u.email } }))).toMatchObject({
      has_webauthn_credential: true,
    });
    const again = await json(
      await hcall("/webauthn/registration/initialize", {
        method: "POST",
        token: u.token,
        headers: JSON_TYPE,
      }),
    );
    expect(again.publicKey.excludeCredentials).toEqual([
      { id: credential.id, type: "public-key", transports: ["internal"] },
    ]);
  });

  it("keeps the backup flags and accepts the document's clientDataJson spelling", async () => {
    const u = await signUp();
    const init = await json(
      await hcall("/webauthn/registration/initialize", {
        method: "POST",
        token: u.token,
        headers: JSON_TYPE,
      }),
    );
    const { credential, response } = await createCredential(init, { backupEligible: true });
    const r = response.response as Record<string, unknown>;
    response.response = { ...r, clientDataJson: r.clientDataJSON, clientDataJSON: undefined };
    const fin = await hcall("/webauthn/registration/finalize", { token: u.token, json: response });
    expect(fin.status).toBe(200);
    const [cred] = await json(await hcall("/webauthn/credentials", { token: u.token }));
    expect(cred).toMatchObject({ id: credential.id, backup_eligible: true, backup_state: true });
  });

  it("needs a session, a fresh challenge of this user, the configured origin and RP id", async () => {
    const u = await signUp();
    const other = await signUp();
    expect((await hcall("/webauthn/registration/initialize", { method: "POST" })).status).toBe(401);

    const { response, fin } = await register(u.token);
    expect(fin.status).toBe(200);
    // Replayed challenge.
    const replay = await hcall("/webauthn/registration/finalize", { token: u.token, json: response });
    expect(replay.status).toBe(400);
    expect((await json(replay)).code).toBe(400);

    const optsFor = async (token: string) =>
      json(await hcall("/webauthn/registration/initialize", { method: "POST", token, headers: JSON_TYPE }));
    // Challenge issued to another user.
    const foreign = await createCredential(await optsFor(other.token));
    expect(
      (await hcall("/webauthn/registration/finalize", { token: u.token, json: foreign.response })).status,
    ).toBe(400);
    // Wrong origin, wrong RP id, no user verification.
    for (const bad of [
      { origin: "http://evil.localhost:8787" },
      { rpId: "evil.test" },
      { userVerified: false },
    ]) {
      const made = await createCredential(await optsFor(u.token), bad);
      expect(
        (await hcall("/webauthn/registration/finalize", { token: u.token, json: made.response })).status,
      ).toBe(400);
    }
    expect(await json(await hcall("/webauthn/credentials", { token: u.token }))).toHaveLength(1);
  });

  it("a failed verification spends the challenge too", async () => {
    const u = await signUp();
    const init = await hcall("/webauthn/registration/initialize", {
      method: "POST",
      token: u.token,
      headers: JSON_TYPE,
    });
    const options = await json(init);
    const bad = await createCredential(options, { origin: "http://evil.localhost:8787" });
    const first = await hcall("/webauthn/registration/finalize", { token: u.token, json: bad.response });
    expect(first.status).toBe(400);
    const good = await createCredential(options);
    const second = await hcall("/webauthn/registration/finalize", { token: u.token, json: good.response });
    expect(second.status).toBe(400);
    expect(await json(await hcall("/webauthn/credentials", { token: u.token }))).toHaveLength(0);
  });
});

describe("hanko: WebAuthn login", () => {
  it("with user_id: allowCredentials, a session, counter and last use recorded", async () => {
    const u = await signUp();
    const { credential } = await register(u.token);
    const options = await loginOptions({ user_id: u.userId });
    expect(options).toEqual({
      publicKey: {
        challenge: expect.stringMatching(/^[\w-]{43}$/),
        timeout: 300000,
        rpId: "localhost",
        allowCredentials: [{ id: credential.id, type: "public-key", transports: ["internal"] }],
        userVerification: "required",
      },
    });
    const assertion = await getAssertion(options, credential);
    const fin = await hcall("/webauthn/login/finalize", { json: assertion });
    expect(fin.status).toBe(200);
    expect(await json(fin)).toEqual({ credential_id: credential.id, user_id: u.userId });
    expect(fin.headers.get("x-session-lifetime")).toBe("3600");
    expect(await json(await hcall("/me", { token: fin.headers.get("x-auth-token")! }))).toEqual({
      id: u.userId,
    });
    const row = await env.DB.prepare("SELECT sign_count, last_used_at FROM webauthn_credentials WHERE id = ?")
      .bind(credential.id)
      .first<{ sign_count: number; last_used_at: number }>();
    expect(row!.sign_count).toBe(credential.counter);
    expect(row!.last_used_at).toBeGreaterThan(0);
  });

  it("discoverable: no user_id, an empty body with a JSON type, userHandle may be null", async () => {
    const u = await signUp();
    const { credential } = await register(u.token);
    const init = await hcall("/webauthn/login/initialize", { method: "POST", headers: JSON_TYPE });
    expect(init.status).toBe(200);
    const options = await json(init);
    expect(options.publicKey.allowCredentials).toBeUndefined();
    const fin = await hcall("/webauthn/login/finalize", { json: await getAssertion(options, credential) });
    expect(await json(fin)).toEqual({ credential_id: credential.id, user_id: u.userId });
    const noHandle = await getAssertion(await loginOptions(), credential, { userHandle: null });
    expect((await hcall("/webauthn/login/finalize", { json: noHandle })).status).toBe(200);
  });

  it("with hints off, a user_id does not change the options (no existence oracle)", async () => {
    const u = await signUp();
    await register(u.token);
    const known = await loginOptions({ user_id: u.userId }, {});
    const unknown = await loginOptions({ user_id: crypto.randomUUID() }, {});
    expect(Object.keys(known.publicKey).sort()).toEqual(Object.keys(unknown.publicKey).sort());
    expect(known.publicKey.allowCredentials).toBeUndefined();
    expect(
      (await call("/webauthn/login/initialize", { json: { user_id: crypto.randomUUID() }, vars: OPEN }))
        .status,
    ).toBe(400);
  });
});

describe("hanko: WebAuthn login security", () => {
  it("a challenge works once (replayed assertion)", async () => {
    const u = await signUp();
    const { credential } = await register(u.token);
    const assertion = await getAssertion(await loginOptions(), credential);
    expect((await hcall("/webauthn/login/finalize", { json: assertion })).status).toBe(200);
    const replay = await hcall("/webauthn/login/finalize", { json: assertion });
    expect(replay.status).toBe(401);
    expect(await json(replay)).toEqual({ code: 401, message: "Unauthorized" });
  });

  it("one challenge, 20 parallel finalizes: one session", async () => {
    const u = await signUp();
    const { credential } = await register(u.token);
    const assertion = await getAssertion(await loginOptions(), credential);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => hcall("/webauthn/login/finalize", { json: assertion })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(19);
  });

  it("refuses a wrong origin, a wrong RP id, a made-up challenge, no user verification", async () => {
    const u = await signUp();
    const { credential } = await register(u.token);
    for (const bad of [
      { origin: "http://localhost:9999" },
      { origin: "https://localhost:8787" },
      { rpId: "example.com" },
      { challenge: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
      { userVerified: false },
    ]) {
      const assertion = await getAssertion(await loginOptions(), credential, bad);
      expect((await hcall("/webauthn/login/finalize", { json: assertion })).status).toBe(401);
    }
    const ok = await getAssertion(await loginOptions(), credential);
    expect((await hcall("/webauthn/login/finalize", { json: ok })).status).toBe(200);
  });

  it("refuses a sign counter that did not increase", async () => {
    const u = await signUp();
    const { credential } = await register(u.token);
    expect(
      (
        await hcall("/webauthn/login/finalize", {
          json: await getAssertion(await loginOptions(), credential, { counter: 5 }),
        })
      ).status,
    ).toBe(200);
    const cloned = await getAssertion(await loginOptions(), credential, { counter: 5 });
    expect((await hcall("/webauthn/login/finalize", { json: cloned })).status).toBe(401);
  });

  it("a challenge for one user does not accept another user's credential or a foreign userHandle", async () => {
    const a = await signUp();
    const b = await signUp();
    const credA = (await register(a.token)).credential;
    const credB = (await register(b.token)).credential;
    const forA = await loginOptions({ user_id: a.userId });
    expect((await hcall("/webauthn/login/finalize", { json: await getAssertion(forA, credB) })).status).toBe(
      401,
    );
    const wrongHandle = await getAssertion(await loginOptions(), credA, { userHandle: credB.userHandle });
    expect((await hcall("/webauthn/login/finalize", { json: wrongHandle })).status).toBe(401);
  });

  it("a failed assertion spends its challenge too", async () => {
    const u = await signUp();
    const { credential } = await register(u.token);
    const options = await loginOptions();
    const bad = await getAssertion(options, credential, { origin: "http://localhost:9999" });
    expect((await hcall("/webauthn/login/finalize", { json: bad })).status).toBe(401);
    const good = await getAssertion(options, credential);
    expect((await hcall("/webauthn/login/finalize", { json: good })).status).toBe(401);
  });

  it("a disabled account: 403 for a valid assertion, no session, the use not recorded, the challenge spent", async () => {
    const u = await signUp();
    const { credential } = await register(u.token);
    await env.DB.prepare("UPDATE users SET disabled = 1 WHERE id = ?").bind(u.userId).run();
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?")
      .bind(u.userId)
      .first<{ n: number }>();
    const assertion = await getAssertion(await loginOptions(), credential);
    expect((await hcall("/webauthn/login/finalize", { json: assertion })).status).toBe(403);
    const after = await env.DB.prepare(
      `SELECT (SELECT COUNT(*) FROM sessions WHERE user_id = ?1) AS n,
              (SELECT last_used_at FROM webauthn_credentials WHERE user_id = ?1) AS used`,
    )
      .bind(u.userId)
      .first<{ n: number; used: number | null }>();
    expect(after).toEqual({ n: before!.n, used: null });
    await env.DB.prepare("UPDATE users SET disabled = 0 WHERE id = ?").bind(u.userId).run();
    expect((await hcall("/webauthn/login/finalize", { json: assertion })).status).toBe(401);
  });

  it("a deleted user's credential and token stop working", async () => {
    const vars = { ...OPEN, ALLOW_USER_SELF_DELETE: "true" };
    const u = await signUp(undefined, vars);
    const { credential } = await register(u.token);
    expect((await call("/user", { method: "DELETE", token: u.token, vars })).status).toBe(204);
    expect((await call("/me", { token: u.token, vars })).status).toBe(401);
    const assertion = await getAssertion(await loginOptions(), credential);
    expect((await hcall("/webauthn/login/finalize", { json: assertion })).status).toBe(401);
  });
});

describe("hanko: WebAuthn credentials", () => {
  it("renames and deletes one's own credentials only (base64url ids)", async () => {
    const a = await signUp();
    const b = await signUp();
    const { credential } = await register(a.token);
    const path = `/webauthn/credentials/${credential.id}`;
    expect((await hcall(path, { method: "PATCH", token: b.token, json: { name: "stolen" } })).status).toBe(
      404,
    );
    expect((await hcall(path, { method: "DELETE", token: b.token })).status).toBe(404);
    expect((await hcall(path, { method: "PATCH", json: { name: "x" } })).status).toBe(401);

    const renamed = await hcall(path, { method: "PATCH", token: a.token, json: { name: "Laptop" } });
    expect(renamed.status).toBe(200);
    expect((await json(await hcall("/webauthn/credentials", { token: a.token })))[0].name).toBe("Laptop");
    expect((await hcall(path, { method: "PATCH", token: a.token, json: { name: "" } })).status).toBe(400);

    expect((await hcall(path, { method: "DELETE", token: a.token })).status).toBe(201);
    expect(await json(await hcall("/webauthn/credentials", { token: a.token }))).toEqual([]);
    expect((await hcall(path, { method: "DELETE", token: a.token })).status).toBe(404);
    expect((await hcall("/webauthn/credentials")).status).toBe(401);
  });
});

describe("hanko: a new passkey is announced", () => {
  it("the user gets a mail naming the change, the time and the client", async () => {
    const u = await signUp();
    const { fin } = await register(u.token);
    expect(fin.status).toBe(200);
    const mail = await lastMail(u.email, "passkey_added");
    expect(mail.subject).toBe("A passkey was added to your account");
    expect(mail.text).toMatch(/new passkey was added/);
    expect(mail.text).toMatch(/If this was not you/);
    expect(mail.data.when).toMatch(/^\d{4}-/);
  });
});
