/**
 * The account page's passkeys (names, providers, rename, delete, the Signal API data) and the
 * sign-in's distinct answer for a credential the server does not know.
 */
import { describe, expect, it } from "vitest";
import { activeUser, json, PASSWORD } from "../dialects/hbp/helpers";
import { createCredential, getAssertion, type SoftCredential } from "../support/soft-authenticator";
import { Jar, open, postJson, submit } from "./support";

const GOOGLE = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4";

async function signedIn() {
  const u = await activeUser();
  const jar = new Jar();
  const res = await submit("/login", { email: u.email, password: PASSWORD, method: "password" }, { jar });
  expect(res.status).toBe(303);
  return { u, jar };
}

/** A credential made for the signed-in user; registered with the server unless `register` is false. */
async function makePasskey(jar: Jar, opts: { aaguid?: string; register?: boolean } = {}) {
  const options = await json(await postJson("/account/passkey/options", {}, { jar }));
  const { credential, response } = await createCredential({ publicKey: options }, { aaguid: opts.aaguid });
  if (opts.register !== false)
    expect((await postJson("/account/passkey", { credential: response }, { jar })).status).toBe(200);
  return credential;
}

async function signInWith(credential: SoftCredential) {
  const options = await json(await postJson("/login/passkey/options", {}));
  const assertion = await getAssertion({ publicKey: options }, credential);
  return { assertion, res: await postJson("/login/passkey", { credential: assertion }) };
}

const signalData = (html: string) => {
  const m =
    /<div id="passkey-signal" hidden data-rp-id="([^"]*)" data-user-id="([^"]*)" data-name="([^"]*)" data-ids="([^"]*)"><\/div>/.exec(
      html,
    );
  expect(m, "no #passkey-signal").toBeTruthy();
  return { rpId: m![1], userId: m![2], name: m![3], ids: m![4] ? m![4].split(" ") : [] };
};

/** The user handle of the registration options: base64url of the UUID's 16 bytes. */
const handleOf = (userId: string) =>
  btoa(
    String.fromCharCode(
      ...userId
        .replace(/-/g, "")
        .match(/../g)!
        .map((h) => Number.parseInt(h, 16)),
    ),
  )
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

describe("passkey sign-in with a credential the server does not know", () => {
  it("answers UNKNOWN_CREDENTIAL (for the Signal API) only for a live challenge", async () => {
    const { jar } = await signedIn();
    const stranger = await makePasskey(jar, { register: false });
    const { assertion, res } = await signInWith(stranger);
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ error: "UNKNOWN_CREDENTIAL" });
    // The challenge is spent: the same response again is a plain refusal.
    const again = await postJson("/login/passkey", { credential: assertion });
    expect(await json(again)).toEqual({ error: "INVALID_CREDENTIALS" });
  });

  it("answers a known credential's bad signature as INVALID_CREDENTIALS", async () => {
    const { jar } = await signedIn();
    const known = await makePasskey(jar);
    const options = await json(await postJson("/login/passkey/options", {}));
    const assertion = await getAssertion({ publicKey: options }, known);
    const response = assertion.response as Record<string, string>;
    const forged = {
      ...assertion,
      response: { ...response, signature: response.signature!.replace(/^../, "AA") },
    };
    const res = await postJson("/login/passkey", { credential: forged });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ error: "INVALID_CREDENTIALS" });
  });

  it("says so for a passkey deleted on the account page", async () => {
    const { jar } = await signedIn();
    const gone = await makePasskey(jar);
    expect((await signInWith(gone)).res.status).toBe(200);
    const deleted = await submit("/account/passkeys/delete", { id: gone.id }, { jar });
    expect(deleted.status).toBe(303);
    const { res } = await signInWith(gone);
    expect(await json(res)).toEqual({ error: "UNKNOWN_CREDENTIAL" });
  });

  it("puts the message for it on the login page", async () => {
    const html = await (await open("/login")).text();
    expect(html).toContain(
      'data-unknown="This passkey is not registered here (any more). Sign in another way."',
    );
  });
});

describe("the account page's passkeys", () => {
  it("lists each passkey with its name, provider and icon, and the Signal API data", async () => {
    const { u, jar } = await signedIn();
    const google = await makePasskey(jar, { aaguid: GOOGLE });
    const other = await makePasskey(jar);
    const html = await (await open("/account", { jar })).text();
    expect(html).toContain("<strong>Google Password Manager</strong>");
    expect(html).toContain("<strong>Passkey</strong>");
    expect(html).toMatch(
      /<img class="icon" src="data:image\/svg\+xml,%3Csvg[^"]*" alt="" width="24" height="24">/,
    );
    expect(signalData(html)).toEqual({
      rpId: "localhost",
      userId: handleOf(u.userId),
      name: u.email,
      ids: [google.id, other.id],
    });
  });

  it("renames a passkey (trimmed); the provider is then named beside it", async () => {
    const { jar } = await signedIn();
    const p = await makePasskey(jar, { aaguid: GOOGLE });
    const res = await submit("/account/passkeys/rename", { id: p.id, name: "  My phone " }, { jar });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/account?done=renamed");
    const html = await (await open("/account?done=renamed", { jar })).text();
    expect(html).toContain("The passkey was renamed.");
    expect(html).toContain("<strong>My phone</strong>");
    expect(html).toContain("<small>Google Password Manager · Created ");
  });

  it("refuses a bad name with the page and its error, keeping the old name", async () => {
    const { jar } = await signedIn();
    const p = await makePasskey(jar);
    const res = await submit("/account/passkeys/rename", { id: p.id, name: "x".repeat(65) }, { jar });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain("The name must be 1 to 64 characters long.");
    expect(html).toContain("<strong>Passkey</strong>");
  });

  it("deletes a passkey; the accepted ids signalled then leave it out", async () => {
    const { jar } = await signedIn();
    const a = await makePasskey(jar);
    const b = await makePasskey(jar);
    const res = await submit("/account/passkeys/delete", { id: a.id }, { jar });
    expect(res.headers.get("location")).toBe("/account?done=deleted");
    const html = await (await open("/account?done=deleted", { jar })).text();
    expect(html).toContain("The passkey was deleted.");
    expect(signalData(html).ids).toEqual([b.id]);
    await submit("/account/passkeys/delete", { id: b.id }, { jar });
    expect(signalData(await (await open("/account", { jar })).text()).ids).toEqual([]);
  });

  it("never renames or deletes another user's passkey", async () => {
    const owner = await signedIn();
    const p = await makePasskey(owner.jar, { aaguid: GOOGLE });
    const other = await signedIn();
    const renamed = await submit("/account/passkeys/rename", { id: p.id, name: "mine" }, { jar: other.jar });
    expect(renamed.status).toBe(404);
    const deleted = await submit("/account/passkeys/delete", { id: p.id }, { jar: other.jar });
    expect(deleted.status).toBe(404);
    expect(await deleted.text()).toContain("This passkey does not exist (any more).");
    const html = await (await open("/account", { jar: owner.jar })).text();
    expect(signalData(html).ids).toEqual([p.id]);
    expect(html).toContain("<strong>Google Password Manager</strong>");
  });

  it("needs the page session and a same-origin post", async () => {
    const { jar } = await signedIn();
    const p = await makePasskey(jar);
    const anon = await submit("/account/passkeys/delete", { id: p.id });
    expect(anon.status).toBe(303);
    expect(anon.headers.get("location")).toBe("/login");
    const cross = await submit(
      "/account/passkeys/delete",
      { id: p.id },
      { jar, headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" } },
    );
    expect(cross.status).toBe(403);
    expect(signalData(await (await open("/account", { jar })).text()).ids).toEqual([p.id]);
  });
});
