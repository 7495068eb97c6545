import { describe, expect, it } from "vitest";
import { sessionAmr } from "../../support/amr";
import { call, uniqueEmail } from "../../support/app";
import { parseXml } from "../../support/saml-idp";
import { APP, expectRefused, FALLBACK, samlSetup } from "./saml-support";
import { json } from "./support";

const s = await samlSetup();

describe("hanko: SAML (Enterprise Features)", () => {
  it("answers 404 on every /saml route when no provider is configured", async () => {
    for (const path of [
      "/saml/provider?domain=a.test",
      "/saml/metadata?domain=a.test",
      "/saml/auth?domain=a.test",
    ])
      expect((await call(path)).status).toBe(404);
    expect((await call("/saml/callback", { form: { SAMLResponse: "x" } })).status).toBe(404);
  });

  it("GET /saml/provider: the provider of a domain, 404 for others, 400 without a domain", async () => {
    const res = await call(`/saml/provider?domain=${s.domain.toUpperCase()}`, { vars: s.vars });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      enabled: true,
      name: "Acme",
      domain: s.domain,
      skip_email_verification: true,
      attribute_map: { email: "mail", name: "displayName" },
    });
    expect((await call("/saml/provider?domain=other.test", { vars: s.vars })).status).toBe(404);
    expect((await call("/saml/provider", { vars: s.vars })).status).toBe(400);
  });

  it("GET /saml/metadata: SP metadata with entity id, ACS, NameID format and certificate; cert_only gives the PEM", async () => {
    const res = await call(`/saml/metadata?domain=${s.domain}`, { vars: s.vars });
    expect(res.status).toBe(200);
    const doc = parseXml(await res.text()).documentElement!;
    expect(doc.localName).toBe("EntityDescriptor");
    expect(doc.getAttribute("entityID")).toBe("http://localhost:8787/saml/metadata");
    const md = "urn:oasis:names:tc:SAML:2.0:metadata";
    const acs = doc.getElementsByTagNameNS(md, "AssertionConsumerService")[0]!;
    expect(acs.getAttribute("Location")).toBe("http://localhost:8787/saml/callback");
    expect(acs.getAttribute("Binding")).toBe("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST");
    expect(doc.getElementsByTagNameNS(md, "NameIDFormat")[0]!.textContent).toBe(
      "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    );
    const cert = doc.getElementsByTagNameNS("http://www.w3.org/2000/09/xmldsig#", "X509Certificate")[0]!
      .textContent;
    const pem = await call(`/saml/metadata?domain=${s.domain}&cert_only=true`, { vars: s.vars });
    expect(pem.status).toBe(200);
    const pemText = await pem.text();
    expect(pemText).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(pemText.replace(/-----[^-]+-----|\s+/g, "")).toBe(cert);
    const { X509Certificate } = await import("node:crypto");
    expect(new X509Certificate(pemText).publicKey.asymmetricKeyType).toBe("rsa");
    expect((await call("/saml/metadata?domain=other.test", { vars: s.vars })).status).toBe(404);
  });

  it("GET /saml/auth: a signed AuthnRequest over HTTP-Redirect, with RelayState", async () => {
    const { res, request } = await s.start();
    expect(res.status).toBe(307);
    expect(request!.acs).toBe("http://localhost:8787/saml/callback");
    expect(request!.issuer).toBe("http://localhost:8787/saml/metadata");
    expect(request!.id).toMatch(/^_[0-9a-f]{40}$/);
    expect(request!.relayState).toMatch(/^[\w-]{43}$/);
    expect(request!.sigAlg).toBe("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
    // The signature verifies with the certificate the metadata publishes.
    const pem = await (
      await call(`/saml/metadata?domain=${s.domain}&cert_only=true`, { vars: s.vars })
    ).text();
    const { createVerify } = await import("node:crypto");
    const query = new URL(res.headers.get("location")!).search.slice(1);
    const signed = query.slice(0, query.indexOf("&Signature="));
    const ok = createVerify("RSA-SHA256").update(signed).verify(pem, request!.signature!, "base64");
    expect(ok).toBe(true);
  });

  it("GET /saml/auth: unsigned when the provider says so", async () => {
    const u = await samlSetup({ sign_requests: false });
    const { request } = await u.start();
    expect(request!.signature).toBeNull();
    expect(request!.sigAlg).toBeNull();
  });

  it("GET /saml/auth: redirect_to must be allow-listed exactly; errors go back with error", async () => {
    const bad = await s.start("http://localhost:5173/app/../evil");
    expect(bad.res.status).toBe(307);
    const loc = new URL(bad.location);
    expect(loc.origin + loc.pathname).toBe(FALLBACK);
    expect(loc.searchParams.get("error")).toBe("invalid_request");
    const unknown = await call(`/saml/auth?domain=nobody.test&redirect_to=${encodeURIComponent(APP)}`, {
      vars: s.vars,
    });
    expect(unknown.status).toBe(307);
    expect(
      new URL(unknown.headers.get("location")!).origin + new URL(unknown.headers.get("location")!).pathname,
    ).toBe(APP);
    // base64url, as the document describes redirect_to, is read too.
    const b64 = btoa(APP).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const ok = await call(`/saml/auth?domain=${s.domain}&redirect_to=${b64}`, { vars: s.vars });
    expect(ok.headers.get("location")!.startsWith(s.idp.ssoUrl)).toBe(true);
  });

  it("the whole flow: callback -> redirect_to with hanko_token -> POST /token -> session; the user is created once", async () => {
    const before = await s.counts();
    const a = await s.answer();
    const cb = await s.post(a.xml, a.relayState);
    expect(cb.res.status).toBe(302);
    expect(cb.location!.origin + cb.location!.pathname).toBe(APP);
    const value = cb.location!.searchParams.get("hanko_token")!;
    expect(value).toMatch(/^[\w-]{43}$/);
    const token = await call("/token", { json: { value }, vars: s.vars });
    expect(token.status).toBe(200);
    const { user_id } = await json(token);
    const jwt = token.headers.get("x-auth-token")!;
    const me = await call("/me", { token: jwt, vars: s.vars });
    expect(await json(me)).toEqual({ id: user_id });
    // The session records a SAML login, not the third-party flow's "oauth".
    expect(await sessionAmr(jwt)).toEqual(["saml"]);
    const profile = await json(await call(`/users/${user_id}`, { token: jwt, vars: s.vars }));
    expect(profile.email).toBe(a.email);
    expect(profile.verified).toBe(true);
    expect((await call("/token", { json: { value }, vars: s.vars })).status).toBe(404);
    const after = await s.counts();
    expect(after.users).toBe(before.users + 1);
    expect(after.sessions).toBe(before.sessions + 1);

    // Signing in again finds the same user.
    const again = await s.answer(a.email.split("@")[0]);
    const cb2 = await s.post(again.xml, again.relayState);
    const t2 = await call("/token", {
      json: { value: cb2.location!.searchParams.get("hanko_token") },
      vars: s.vars,
    });
    expect((await json(t2)).user_id).toBe(user_id);
    expect((await s.counts()).users).toBe(after.users);
  });

  it("binds the request to the browser that started it: missing cookie, another flow's cookie, the right cookie", async () => {
    // /saml/auth sets the browser key: HttpOnly, Secure, SameSite=None (the IdP posts cross-site), on the ACS path.
    const started = await s.start();
    expect(started.cookie).toMatch(/^[\w-]{43}$/);
    expect(started.res.headers.get("set-cookie")).toMatch(
      /^hanko_saml_state=[\w-]{43}; Max-Age=600; Path=\/saml\/callback; HttpOnly; Secure; SameSite=None$/,
    );
    // The cookie is not the RelayState (which passes through the IdP).
    expect(started.cookie).not.toBe(started.request!.relayState);

    const before = await s.counts();
    // The attacker's own valid response, posted from a victim's browser that started no login ...
    const attacker = await s.answer("attacker");
    const none = await s.post(attacker.xml, attacker.relayState, s.vars, null);
    expectRefused(none, FALLBACK);
    expect(none.location!.searchParams.get("error_description")).toBe(
      "The login was not started in this browser.",
    );
    expect(none.res.headers.get("set-cookie")).toBeNull();
    // ... or from a victim's browser in the middle of its own login (the other flow's cookie).
    const victim = await s.start();
    const other = await s.post(attacker.xml, attacker.relayState, s.vars, victim.cookie);
    expectRefused(other, FALLBACK);
    expect(other.location!.searchParams.get("error_description")).toMatch(/not started in this browser/);
    // The callback clears the cookie whatever the outcome.
    expect(other.res.headers.get("set-cookie")).toMatch(
      /^hanko_saml_state=; Max-Age=0; Path=\/saml\/callback;/,
    );
    expect(await s.counts()).toEqual(before);

    // A wrong browser spent nothing: the attacker's own browser still finishes its own login, once.
    const ok = await s.post(attacker.xml, attacker.relayState);
    expect(ok.res.status).toBe(302);
    expect(ok.location!.searchParams.get("hanko_token")).toMatch(/^[\w-]{43}$/);
    expect(ok.res.headers.get("set-cookie")).toMatch(/^hanko_saml_state=; Max-Age=0; Path=\/saml\/callback;/);
    expectRefused(await s.post(attacker.xml, attacker.relayState), FALLBACK);
  });

  it("accepts a response signed only on the Assertion, or only on the Response", async () => {
    for (const o of [{ signResponse: false }, { signAssertion: false }]) {
      const a = await s.answer(undefined, o);
      const cb = await s.post(a.xml, a.relayState);
      expect(cb.res.status, JSON.stringify(o)).toBe(302);
      expect(cb.location!.searchParams.get("hanko_token")).toBeTruthy();
    }
  });

  it("accepts the old and the new IdP certificate during a rotation", async () => {
    const { createKeys } = await import("../../support/saml-idp");
    const next = await createKeys("next");
    const r = await samlSetup();
    const vars = {
      ...r.vars,
      SAML_PROVIDERS: JSON.stringify(
        JSON.parse(r.vars.SAML_PROVIDERS!).map((p: { certificates: string[] }) => ({
          ...p,
          certificates: [r.idp.keys.certPem, next.certPem],
        })),
      ),
    };
    const { request } = await r.start(APP, vars);
    const email = `n@${r.domain}`;
    const xml = r.idp.responseXml({
      requestId: request!.id,
      nameId: email,
      attributes: { mail: email },
      signer: next,
    });
    expect((await r.post(xml, request!.relayState, vars)).res.status).toBe(302);
  });

  it("links an existing account of the domain only when its address is verified", async () => {
    const { signUp, latestPasscode } = await import("./support");
    const vars = { ...s.vars, VERIFY_EMAILS: "false", ACCOUNT_EXISTENCE_HINTS: "true" };
    // An account whose address was never proven: the SAML login does not join it.
    const unproven = await signUp(`p${crypto.randomUUID().slice(0, 6)}@${s.domain}`, vars);
    const before = await s.counts();
    const a = await s.answer(unproven.email.split("@")[0]);
    expectRefused(await s.post(a.xml, a.relayState), APP, "user_conflict");
    expect(await s.counts()).toEqual(before);

    // Once the address is verified (a passcode login), the same SAML login signs into that account.
    const init = await call("/passcode/login/initialize", {
      json: { user_id: unproven.userId, email_id: unproven.emailId },
      vars,
    });
    const { id } = await json(init);
    const fin = await call("/passcode/login/finalize", {
      json: { id, code: await latestPasscode(unproven.email) },
      vars,
    });
    expect(fin.status).toBe(200);
    const b = await s.answer(unproven.email.split("@")[0]);
    const cb = await s.post(b.xml, b.relayState);
    const t = await call("/token", {
      json: { value: cb.location!.searchParams.get("hanko_token") },
      vars: s.vars,
    });
    expect((await json(t)).user_id).toBe(unproven.userId);
    expect((await s.counts()).users).toBe(before.users);
  });

  it("refuses an email outside the provider's domain, and an unverified one when the IdP is not trusted for it", async () => {
    const a = await s.answer(undefined, { attributes: { mail: uniqueEmail("elsewhere") } });
    expectRefused(await s.post(a.xml, a.relayState), APP, "unverified_email");
    const u = await samlSetup({ skip_email_verification: false });
    const before = await u.counts();
    const b = await u.answer();
    expectRefused(await u.post(b.xml, b.relayState), APP, "unverified_email");
    // ... unless the mapped email_verified attribute says the IdP verified it.
    const w = await samlSetup({
      skip_email_verification: false,
      attribute_map: { email: "mail", email_verified: "ev" },
    });
    const c = await w.answer(undefined, {});
    const xml = w.idp.responseXml({
      requestId: c.requestId,
      nameId: c.email,
      attributes: { mail: c.email, ev: "true" },
    });
    expect((await w.post(xml, c.relayState)).res.status).toBe(302);
    expect(await u.counts()).toEqual(before);
  });

  it("decrypts an EncryptedAssertion (RSA-OAEP + AES-GCM or AES-CBC) for the SP key", async () => {
    const { assertionXml, encryptAssertion, randomId, responseXml, signElement } = await import(
      "../../support/saml-idp"
    );
    const spCert = await (
      await call(`/saml/metadata?domain=${s.domain}&cert_only=true`, { vars: s.vars })
    ).text();
    const build = async (mode: "gcm" | "cbc", o: { signAssertion: boolean; signResponse: boolean }) => {
      const { request } = await s.start();
      const email = `enc${crypto.randomUUID().slice(0, 6)}@${s.domain}`;
      const opts = {
        requestId: request!.id,
        nameId: email,
        attributes: { mail: email },
        entityId: s.idp.entityId,
      };
      const assertionId = randomId();
      let assertion = assertionXml({ ...opts, assertionId });
      if (o.signAssertion) assertion = signElement(assertion, assertionId, s.idp.keys);
      const responseId = randomId();
      let xml = responseXml({ ...opts, responseId }, await encryptAssertion(assertion, spCert, mode));
      if (o.signResponse) xml = signElement(xml, responseId, s.idp.keys);
      return { xml, relayState: request!.relayState, email };
    };
    // Signed Response around the ciphertext, either cipher.
    for (const mode of ["gcm", "cbc"] as const) {
      const e = await build(mode, { signAssertion: false, signResponse: true });
      const cb = await s.post(e.xml, e.relayState);
      expect(cb.res.status, mode).toBe(302);
      const t = await call("/token", {
        json: { value: cb.location!.searchParams.get("hanko_token") },
        vars: s.vars,
      });
      const profile = await json(
        await call(`/users/${(await json(t)).user_id}`, {
          token: t.headers.get("x-auth-token")!,
          vars: s.vars,
        }),
      );
      expect(profile.email).toBe(e.email);
    }
    // Unsigned Response: the decrypted assertion must carry its own signature, and CBC is refused (no padding oracle).
    const gcm = await build("gcm", { signAssertion: true, signResponse: false });
    expect((await s.post(gcm.xml, gcm.relayState)).res.status).toBe(302);
    const before = await s.counts();
    const unsigned = await build("gcm", { signAssertion: false, signResponse: false });
    expectRefused(await s.post(unsigned.xml, unsigned.relayState));
    const cbc = await build("cbc", { signAssertion: true, signResponse: false });
    const r = await s.post(cbc.xml, cbc.relayState);
    expectRefused(r);
    expect(r.location!.searchParams.get("error_description")).toMatch(
      /AES-CBC encrypted assertion needs a signed Response/,
    );
    // A ciphertext the SP key cannot open: one generic refusal.
    const other = (await (await import("../../support/saml-idp")).createKeys("other")).certPem;
    const { request } = await s.start();
    const email = `enc@${s.domain}`;
    const opts = { requestId: request!.id, nameId: email, entityId: s.idp.entityId };
    const rid = randomId();
    const foreign = signElement(
      responseXml({ ...opts, responseId: rid }, await encryptAssertion(assertionXml(opts), other)),
      rid,
      s.idp.keys,
    );
    const f = await s.post(foreign, request!.relayState);
    expectRefused(f);
    expect(f.location!.searchParams.get("error_description")).toMatch(/could not be decrypted/);
    expect(await s.counts()).toEqual(before);
  });
});
