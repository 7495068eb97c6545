// e2e-vars: CORS_ORIGINS=http://localhost:47615 SAML_ALLOWED_REDIRECT_URLS=http://localhost:47615/ SAML_PROVIDERS=[{"domain":"acme.test","name":"Acme","idp_entity_id":"http://localhost:47616/metadata","sso_url":"http://localhost:47616/sso","certificates":["-----BEGIN\u0020CERTIFICATE-----\nMIIDFzCCAf+gAwIBAgIUP2/VCXp0qrEhB+/r6fdu7z9FbWQwDQYJKoZIhvcNAQEL\nBQAwGzEZMBcGA1UEAwwQbGF0Y2hrZXktZTJlLWlkcDAeFw0yNjEyMDIwNDQxMTRa\nFw00NjExMjcwNDQxMTRaMBsxGTAXBgNVBAMMEGxhdGNoa2V5LWUyZS1pZHAwggEi\nMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCoqQkPLpWzbvKZueXaxLgOjL80\n8e6yCAEiHEpFS45dFi74TBeTUnPd86X/X02Su3g8UFOQD5k1evz0EpFDIF4Ro4Lq\noBom5fdLAdT+OP4eFsP+iGho6E00Qr0PCvodroDeg4eMafCY0vTn6Rk3pzPDIh0M\nTNnt6WdhBFaUNKWuW2fjlk6elyKeqbnaQ0KbhvXm5CnCd4wFW5s7iDnawWo3L143\n4XonFCJ/rXyMACy6bbipCPeWcJugDlVsA1zAlVsNBtTgfBOQRsM/zkDwjwP3+985\nvSfM+AyWc75v3L7DlpxM8BJ8xIeGg0z4KIOlwpCHvcoFFJv7Hyah5u4/HpRLAgMB\nAAGjUzBRMB0GA1UdDgQWBBRiG+3Vc11IZjmzxaq0CF0Ig8+1FjAfBgNVHSMEGDAW\ngBRiG+3Vc11IZjmzxaq0CF0Ig8+1FjAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3\nDQEBCwUAA4IBAQACUOoayHoHZMepGmf+gpBgl5pNwAG/uCP3NGUG6GhGs5dRIaDR\ni8rO9L+nejpH70w/RMVJ9RpaYXSTVLHnafgQNNH8OfIcA0rQyob+Kqkz9+9Q/qex\ny3TBEEhQ27/F476KOe/rTcpLeWVR8IgWWaLQ4MD5HRQhDG+NqHNlQfPjlcUEPz7h\nx/UAdA9ze75XNGnWC3miKQsNmbS+W9OnO1ILsKLDY1RM6uxKjpjWqvIBpzFabd1f\nP3PMF0oDGj+Q9IqpmZedwfZjdtu3hMLrBqpSon7sC1CyVwBuvry9NNbXxBLoZ6bc\n1N1dJkMVEZgaPINZPATwXhkmZbLYvseDKulw\n-----END\u0020CERTIFICATE-----"],"attribute_map":{"email":"mail","name":"displayName"},"skip_email_verification":true}]
// Hanko SAML in Debian's Chromium: @teamhanko/hanko-frontend-sdk@0.12.0 asks enterprise.hasProvider()
// (GET /saml/provider), enterprise.auth() navigates to /saml/auth, a local IdP (a node http server
// with the fixed test key in e2e/fixtures, signing with xml-crypto) reads the AuthnRequest and
// auto-posts the signed response to /saml/callback, and the app page exchanges the hanko_token
// (token.validate(), POST /token). A forged response comes back with ?error. Screenshots go to
// e2e/screenshots/saml/.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";
import { SignedXml } from "xml-crypto";
import { API, launchChromium, step } from "./steps.mjs";

const PAGE_PORT = 47615;
const IDP_PORT = 47616;
const PAGE = `http://localhost:${PAGE_PORT}`;
const IDP = `http://localhost:${IDP_PORT}`;
const here = dirname(fileURLToPath(import.meta.url));
const shots = join(here, "screenshots", "saml");
mkdirSync(shots, { recursive: true });
const sdkFile = join(here, "..", "node_modules", "@teamhanko", "hanko-frontend-sdk", "dist", "sdk.umd.js");
const IDP_KEY = readFileSync(join(here, "fixtures", "saml-idp.key"), "utf8");
const SAML = "urn:oasis:names:tc:SAML:2.0:assertion";
const SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol";

// --- the application's origin: one page with the SDK ---
const pageServer = createServer((req, res) => {
  const path = new URL(req.url, PAGE).pathname;
  if (path === "/sdk.umd.js") {
    res.writeHead(200, { "content-type": "text/javascript" });
    return res.end(readFileSync(sdkFile));
  }
  if (path !== "/") {
    res.writeHead(404);
    return res.end();
  }
  res.writeHead(200, { "content-type": "text/html" });
  res.end(`<!doctype html><meta charset="utf-8"><title>app</title><h1>Acme app</h1><p id="who"></p>
<script src="/sdk.umd.js"></script>`);
});

// --- the identity provider: reads the AuthnRequest, signs a Response, auto-posts it ---
const idp = { user: "", forge: false };
const iso = (ms) => new Date(ms).toISOString();
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
const rid = () => `_${crypto.randomUUID().replace(/-/g, "")}`;

function sign(xml, id) {
  const sig = new SignedXml({
    privateKey: IDP_KEY,
    canonicalizationAlgorithm: "http://www.w3.org/2001/10/xml-exc-c14n#",
    signatureAlgorithm: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
  });
  sig.addReference({
    xpath: `//*[@ID='${id}']`,
    digestAlgorithm: "http://www.w3.org/2001/04/xmlenc#sha256",
    transforms: [
      "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
      "http://www.w3.org/2001/10/xml-exc-c14n#",
    ],
  });
  sig.computeSignature(xml, {
    prefix: "ds",
    location: { reference: `//*[@ID='${id}']/*[local-name(.)='Issuer']`, action: "after" },
  });
  return sig.getSignedXml();
}

function samlResponse(requestId, acs, email) {
  const now = Date.now();
  const aid = rid();
  const id = rid();
  const assertion =
    `<saml:Assertion xmlns:saml="${SAML}" ID="${aid}" Version="2.0" IssueInstant="${iso(now)}"><saml:Issuer>${IDP}/metadata</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${esc(email)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="${esc(requestId)}" NotOnOrAfter="${iso(now + 300_000)}" Recipient="${esc(acs)}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${iso(now - 60_000)}" NotOnOrAfter="${iso(now + 300_000)}"><saml:AudienceRestriction><saml:Audience>${API}/saml/metadata</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${iso(now)}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    `<saml:AttributeStatement><saml:Attribute Name="mail"><saml:AttributeValue>${esc(email)}</saml:AttributeValue></saml:Attribute>` +
    `<saml:Attribute Name="displayName"><saml:AttributeValue>Ada Acme</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>`;
  const xml = sign(
    `<samlp:Response xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${id}" Version="2.0" IssueInstant="${iso(now)}" Destination="${esc(acs)}" InResponseTo="${esc(requestId)}">` +
      `<saml:Issuer>${IDP}/metadata</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>${assertion}</samlp:Response>`,
    id,
  );
  // The forged variant: a second assertion for someone else after the signed one (CVE-2021-28091).
  return idp.forge
    ? xml.replace(
        "</samlp:Response>",
        `${assertion.replace(aid, rid()).replaceAll(email, "ceo@acme.test")}</samlp:Response>`,
      )
    : xml;
}

const idpServer = createServer((req, res) => {
  const url = new URL(req.url, IDP);
  if (url.pathname !== "/sso") {
    res.writeHead(404);
    return res.end();
  }
  const request = inflateRawSync(Buffer.from(url.searchParams.get("SAMLRequest") ?? "", "base64")).toString(
    "utf8",
  );
  const requestId = /\bID="([^"]+)"/.exec(request)?.[1];
  const acs = /AssertionConsumerServiceURL="([^"]+)"/.exec(request)?.[1];
  if (!requestId || acs !== `${API}/saml/callback`) {
    res.writeHead(400);
    return res.end("bad AuthnRequest");
  }
  const response = Buffer.from(samlResponse(requestId, acs, idp.user)).toString("base64");
  res.writeHead(200, { "content-type": "text/html" });
  res.end(`<!doctype html><meta charset="utf-8"><title>Test IdP</title><h1>Test IdP</h1><p>Signing in as ${esc(idp.user)}…</p>
<form method="post" action="${esc(acs)}"><input type="hidden" name="SAMLResponse" value="${response}">
<input type="hidden" name="RelayState" value="${esc(url.searchParams.get("RelayState") ?? "")}"></form>
<script>setTimeout(() => document.forms[0].submit(), 400);</script>`);
});

await new Promise((r) => pageServer.listen(PAGE_PORT, "localhost", r));
await new Promise((r) => idpServer.listen(IDP_PORT, "localhost", r));
const context = await launchChromium("saml");

/** Runs `fn(hanko, arg)` in the page with a fresh Hanko client. */
const inPage = (page, fn, arg) =>
  page.evaluate(
    async ([api, src, a]) => new Function(`return (${src})`)()(new window.hankoFrontendSdk.Hanko(api), a),
    [API, fn.toString(), arg],
  );

/**
 * The SDK's `enterprise.auth(email, redirect)`: it navigates away, so its promise never settles;
 * start it without waiting.
 */
const startEnterpriseAuth = (page, email) =>
  page
    .evaluate(
      ([api, e, to]) => {
        new window.hankoFrontendSdk.Hanko(api).enterprise.auth(e, to);
      },
      [API, email, `${PAGE}/`],
    )
    .catch(() => {});

let exitCode = 0;
try {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`  page error: ${e.message}`));
  await page.goto(`${PAGE}/`);
  const email = `ada-${Math.random().toString(36).slice(2, 8)}@acme.test`;

  await step(
    "enterprise.hasProvider() finds the domain's provider (GET /saml/provider), and 404s others",
    async () => {
      assert.equal(await inPage(page, (h, e) => h.enterprise.hasProvider(e), email), true);
      const other = await inPage(page, (h) =>
        h.enterprise.hasProvider("x@other.test").then(
          () => "found",
          (e) => e.constructor.name,
        ),
      );
      assert.notEqual(other, "found");
    },
  );

  await step(
    "enterprise.auth() -> /saml/auth -> the IdP page auto-posts -> back with hanko_token -> token.validate()",
    async () => {
      idp.user = email;
      await startEnterpriseAuth(page, email);
      await page.waitForURL(/localhost:47616\/sso/, { timeout: 20_000 });
      await page.screenshot({ path: join(shots, "1-idp.png") }).catch(() => {});
      await page.waitForURL(/localhost:47615\/\?hanko_token=/, { timeout: 20_000 });
      await inPage(page, (h) => h.token.validate());
      assert.equal(new URL(page.url()).searchParams.get("hanko_token"), null);
      assert.equal(await inPage(page, (h) => h.session.isValid()), true);
      const me = await inPage(page, (h) => h.user.getCurrent());
      assert.equal(me.email, email);
      await page.evaluate((m) => {
        document.getElementById("who").textContent = `Signed in as ${m}`;
      }, me.email);
      await page.screenshot({ path: join(shots, "2-signed-in.png") });
    },
  );

  await step("a forged second assertion is refused: back on the app with ?error, no session", async () => {
    await inPage(page, (h) => h.user.logout());
    idp.forge = true;
    await startEnterpriseAuth(page, email);
    await page.waitForURL(/localhost:47615\/\?error=/, { timeout: 20_000 });
    const url = new URL(page.url());
    assert.equal(url.searchParams.get("error"), "invalid_request");
    assert.match(url.searchParams.get("error_description") ?? "", /exactly one assertion/);
    assert.equal(url.searchParams.get("hanko_token"), null);
    assert.equal(await inPage(page, (h) => h.session.isValid()), false);
    await page.screenshot({ path: join(shots, "3-forged-refused.png") });
  });
} catch (e) {
  console.error(e);
  exitCode = 1;
} finally {
  await context.close().catch(() => {});
  pageServer.close();
  idpServer.close();
}
process.exit(exitCode);
