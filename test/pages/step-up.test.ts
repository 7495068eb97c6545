/**
 * The account page's passkey deletion with a stale page session: a confirmation (password or
 * passkey) first, then the deletion goes on.
 */
import { describe, expect, it } from "vitest";
import { activeUser, call, PASSWORD, type Session } from "../dialects/hbp/helpers";
import { testClock } from "../support/clock";
import { createCredential, getAssertion, type SoftCredential } from "../support/soft-authenticator";
import { hiddenValue, Jar, postJson, submit } from "./support";

const STALE = 301;

async function withPasskey(): Promise<{ s: Session; cred: SoftCredential; jar: Jar }> {
  const s = await activeUser();
  const init = await call("/webauthn/registration/initialize", { method: "POST", token: s.jwt });
  const { credential, response } = await createCredential(await init.json());
  expect((await call("/webauthn/registration/finalize", { token: s.jwt, json: response })).status).toBe(200);
  const jar = new Jar();
  const res = await submit("/login", { email: s.email, password: PASSWORD, method: "password" }, { jar });
  expect(res.status).toBe(303);
  return { s, cred: credential, jar };
}

const passkeys = async (s: Session) =>
  ((await (await call("/webauthn/credentials", { token: s.jwt })).json()) as unknown[]).length;

describe("pages: deleting a passkey needs a recent sign-in", () => {
  it("fresh: deleted at once", async () => {
    const { s, cred, jar } = await withPasskey();
    const res = await submit("/account/passkeys/delete", { id: cred.id }, { jar });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/account?done=deleted");
    expect(await passkeys(s)).toBe(0);
  });

  it("stale: asks to confirm (password field, passkey button); a wrong password asks again; the right one goes on", async () => {
    const clock = testClock();
    const { s, cred, jar } = await withPasskey();
    clock.advance(STALE);
    const asked = await submit("/account/passkeys/delete", { id: cred.id }, { jar, clock });
    expect(asked.status).toBe(403);
    const html = await asked.text();
    expect(hiddenValue(html, "next")).toBe("/account/passkeys/delete");
    expect(hiddenValue(html, "id")).toBe(cred.id);
    expect(html).toContain('name="password"');
    expect(html).toContain("data-passkey-confirm");
    expect(await passkeys(s)).toBe(1);

    const wrong = await submit(
      "/account/confirm",
      { next: "/account/passkeys/delete", id: cred.id, password: "not the password" },
      { jar, clock },
    );
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('id="form-error"');

    const ok = await submit(
      "/account/confirm",
      { next: "/account/passkeys/delete", id: cred.id, password: PASSWORD },
      { jar, clock },
    );
    expect(ok.status).toBe(200);
    const go = await ok.text();
    expect(go).toMatch(/<form method="post" action="\/account\/passkeys\/delete" data-go>/);
    expect(hiddenValue(go, "id")).toBe(cred.id);
    expect(await passkeys(s)).toBe(1);
    const done = await submit("/account/passkeys/delete", { id: cred.id }, { jar, clock });
    expect(done.status).toBe(303);
    expect(await passkeys(s)).toBe(0);
  });

  it("stale: confirming with the passkey works too", async () => {
    const clock = testClock();
    const { s, cred, jar } = await withPasskey();
    clock.advance(STALE);
    const options = await postJson("/account/confirm/options", {}, { jar, clock });
    expect(options.status).toBe(200);
    const assertion = await getAssertion({ publicKey: await options.json() }, cred);
    const ok = await submit(
      "/account/confirm",
      { next: "/account/passkeys/delete", id: cred.id, credential: JSON.stringify(assertion) },
      { jar, clock },
    );
    expect(ok.status).toBe(200);
    expect((await submit("/account/passkeys/delete", { id: cred.id }, { jar, clock })).status).toBe(303);
    expect(await passkeys(s)).toBe(0);
  });

  it("only listed page routes can be continued", async () => {
    const { jar } = await withPasskey();
    const res = await submit("/account/confirm", { next: "/account/logout", password: PASSWORD }, { jar });
    expect(res.status).toBe(400);
  });
});
