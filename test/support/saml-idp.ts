/**
 * A SAML identity provider for the tests: its own RSA key and self-signed certificate (made as the
 * SP's development keys are, src/core/saml/sp-keys.ts), responses built as an IdP would and signed
 * with xml-crypto. `response()` gives a valid Response for an AuthnRequest; the options break one
 * thing at a time, and the wrapping suite edits the signed XML itself.
 */
import { DOMParser, type Element, XMLSerializer } from "@xmldom/xmldom";
import { SignedXml } from "xml-crypto";
import { selfSignedKeyPair } from "../../src/core/saml/sp-keys";
import { pemBody } from "../../src/lib/x509";

export const SP_ACS = "http://localhost:8787/saml/callback";
export const SP_ENTITY = "http://localhost:8787/saml/metadata";
const SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol";
const SAML = "urn:oasis:names:tc:SAML:2.0:assertion";
export const SHA256 = {
  sig: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
  digest: "http://www.w3.org/2001/04/xmlenc#sha256",
};
export const SHA1 = {
  sig: "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
  digest: "http://www.w3.org/2000/09/xmldsig#sha1",
};
const TRANSFORMS = [
  "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
  "http://www.w3.org/2001/10/xml-exc-c14n#",
];

export interface IdpKeys {
  keyPem: string;
  certPem: string;
  /** Base64 DER, as in KeyInfo. */
  certB64: string;
}

export async function createKeys(commonName = "test-idp"): Promise<IdpKeys> {
  const now = Date.now();
  const { privateKey, certificate } = await selfSignedKeyPair({
    commonName,
    notBefore: now - 3600_000,
    notAfter: now + 86400_000 * 365,
  });
  return { keyPem: privateKey, certPem: certificate, certB64: pemBody(certificate, "CERTIFICATE")! };
}

export interface ResponseOptions {
  requestId: string;
  nameId: string;
  attributes?: Record<string, string>;
  issuer?: string;
  audience?: string;
  destination?: string | null;
  recipient?: string;
  /** Times relative to now, ms. */
  notBefore?: number;
  notOnOrAfter?: number;
  now?: number;
  assertionId?: string;
  responseId?: string;
  responseInResponseTo?: string | null;
  signResponse?: boolean;
  signAssertion?: boolean;
  algorithms?: typeof SHA256;
  /** Sign with these keys instead (an attacker's); their cert goes in KeyInfo. */
  signer?: IdpKeys;
  /** Put the signer's certificate in KeyInfo. */
  keyInfo?: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
export const randomId = () => `_${crypto.randomUUID().replace(/-/g, "")}`;

export function assertionXml(o: ResponseOptions & { entityId: string }): string {
  const now = o.now ?? Date.now();
  const attrs = Object.entries(o.attributes ?? {})
    .map(
      ([k, v]) =>
        `<saml:Attribute Name="${esc(k)}"><saml:AttributeValue>${esc(v)}</saml:AttributeValue></saml:Attribute>`,
    )
    .join("");
  return (
    `<saml:Assertion xmlns:saml="${SAML}" ID="${o.assertionId ?? randomId()}" Version="2.0" IssueInstant="${iso(now)}">` +
    `<saml:Issuer>${esc(o.issuer ?? o.entityId)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${esc(o.nameId)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
    `<saml:SubjectConfirmationData InResponseTo="${esc(o.requestId)}" NotOnOrAfter="${iso(now + (o.notOnOrAfter ?? 300_000))}" Recipient="${esc(o.recipient ?? SP_ACS)}"/>` +
    `</saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${iso(now + (o.notBefore ?? -60_000))}" NotOnOrAfter="${iso(now + (o.notOnOrAfter ?? 300_000))}">` +
    `<saml:AudienceRestriction><saml:Audience>${esc(o.audience ?? SP_ENTITY)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="${randomId()}"><saml:AuthnContext>` +
    `<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>` +
    `</saml:AuthnContext></saml:AuthnStatement>` +
    (attrs ? `<saml:AttributeStatement>${attrs}</saml:AttributeStatement>` : "") +
    `</saml:Assertion>`
  );
}

/** Signs the element with that ID (enveloped, placed after its Issuer as SAML's schema wants). */
export function signElement(
  xml: string,
  id: string,
  keys: IdpKeys,
  o: { algorithms?: typeof SHA256; keyInfo?: boolean } = {},
) {
  const alg = o.algorithms ?? SHA256;
  const sig = new SignedXml({
    privateKey: keys.keyPem,
    publicCert: o.keyInfo ? keys.certPem : undefined,
    canonicalizationAlgorithm: "http://www.w3.org/2001/10/xml-exc-c14n#",
    signatureAlgorithm: alg.sig,
  });
  sig.addReference({ xpath: `//*[@ID='${id}']`, digestAlgorithm: alg.digest, transforms: TRANSFORMS });
  sig.computeSignature(xml, {
    prefix: "ds",
    location: { reference: `//*[@ID='${id}']/*[local-name(.)='Issuer']`, action: "after" },
  });
  return sig.getSignedXml();
}

export function responseXml(o: ResponseOptions & { entityId: string }, assertion: string): string {
  const now = o.now ?? Date.now();
  const dest = o.destination === undefined ? SP_ACS : o.destination;
  const irt = o.responseInResponseTo === undefined ? o.requestId : o.responseInResponseTo;
  return (
    `<samlp:Response xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${o.responseId ?? randomId()}" Version="2.0" IssueInstant="${iso(now)}"` +
    (dest !== null ? ` Destination="${esc(dest)}"` : "") +
    (irt !== null ? ` InResponseTo="${esc(irt)}"` : "") +
    `><saml:Issuer>${esc(o.issuer ?? o.entityId)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    assertion +
    `</samlp:Response>`
  );
}

export async function createSamlIdp(entityId = "https://idp.example.test/metadata") {
  const keys = await createKeys();
  return {
    entityId,
    keys,
    ssoUrl: "https://idp.example.test/sso",
    /** A signed Response XML (by default the Response and the Assertion are both signed). */
    responseXml(o: ResponseOptions): string {
      const opts = { ...o, entityId };
      const assertionId = o.assertionId ?? randomId();
      const responseId = o.responseId ?? randomId();
      const signer = o.signer ?? keys;
      let assertion = assertionXml({ ...opts, assertionId });
      if (o.signAssertion ?? true) assertion = signElement(assertion, assertionId, signer, o);
      let xml = responseXml({ ...opts, responseId }, assertion);
      if (o.signResponse ?? true) xml = signElement(xml, responseId, signer, o);
      return xml;
    },
  };
}

export const encode = (xml: string) => btoa(String.fromCharCode(...new TextEncoder().encode(xml)));

/** Reads the AuthnRequest out of a /saml/auth redirect (HTTP-Redirect binding). */
export async function readAuthnRequest(location: string) {
  const url = new URL(location);
  const raw = Uint8Array.from(atob(url.searchParams.get("SAMLRequest")!), (c) => c.charCodeAt(0));
  const xml = await new Response(
    new Blob([raw]).stream().pipeThrough(new DecompressionStream("deflate-raw")),
  ).text();
  const doc = new DOMParser().parseFromString(xml, "text/xml");
  const root = doc.documentElement as Element;
  return {
    xml,
    id: root.getAttribute("ID")!,
    acs: root.getAttribute("AssertionConsumerServiceURL"),
    issuer: root.getElementsByTagNameNS(SAML, "Issuer")[0]?.textContent ?? null,
    relayState: url.searchParams.get("RelayState")!,
    sigAlg: url.searchParams.get("SigAlg"),
    signature: url.searchParams.get("Signature"),
  };
}

export const parseXml = (xml: string) => new DOMParser().parseFromString(xml, "text/xml");
export const serialize = (node: unknown) => new XMLSerializer().serializeToString(node as never);

const XENC = "http://www.w3.org/2001/04/xmlenc#";

/**
 * Encrypts an assertion for the SP (XML Encryption: RSA-OAEP key transport with SHA-1 as in
 * rsa-oaep-mgf1p, AES-GCM or AES-CBC content) and returns the EncryptedAssertion element.
 */
export async function encryptAssertion(assertion: string, spCertPem: string, mode: "gcm" | "cbc" = "gcm") {
  const { X509Certificate } = await import("node:crypto");
  const spki = new X509Certificate(spCertPem).publicKey.export({ type: "spki", format: "der" });
  const rsa = await crypto.subtle.importKey("spki", spki, { name: "RSA-OAEP", hash: "SHA-1" }, false, [
    "encrypt",
  ]);
  const raw = crypto.getRandomValues(new Uint8Array(32));
  const wrapped = new Uint8Array(await crypto.subtle.encrypt({ name: "RSA-OAEP" }, rsa, raw));
  const plain = new TextEncoder().encode(assertion);
  let cipher: Uint8Array;
  let alg: string;
  if (mode === "gcm") {
    const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt"]);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    cipher = new Uint8Array([
      ...iv,
      ...new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, plain)),
    ]);
    alg = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
  } else {
    const key = await crypto.subtle.importKey("raw", raw, "AES-CBC", false, ["encrypt"]);
    const iv = crypto.getRandomValues(new Uint8Array(16));
    // XML Encryption pads with ISO 10126: random bytes, then the count (WebCrypto's PKCS#7 is one case of it).
    cipher = new Uint8Array([
      ...iv,
      ...new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv }, key, plain)),
    ]);
    alg = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
  }
  const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
  return (
    `<saml:EncryptedAssertion xmlns:saml="${SAML}"><xenc:EncryptedData xmlns:xenc="${XENC}" Type="${XENC}Element">` +
    `<xenc:EncryptionMethod Algorithm="${alg}"/>` +
    `<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey>` +
    `<xenc:EncryptionMethod Algorithm="${XENC}rsa-oaep-mgf1p"/>` +
    `<xenc:CipherData><xenc:CipherValue>${b64(wrapped)}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>` +
    `<xenc:CipherData><xenc:CipherValue>${b64(cipher)}</xenc:CipherValue></xenc:CipherData>` +
    `</xenc:EncryptedData></saml:EncryptedAssertion>`
  );
}
