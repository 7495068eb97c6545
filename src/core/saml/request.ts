/**
 * What this service provider sends: the AuthnRequest over the HTTP-Redirect binding (SAML
 * bindings §3.4.4: DEFLATE, base64, and a signature over the query string), and its metadata.
 */
import { escapeXml, NS } from "./xml";

export const RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
export const NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const HTTP_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

export const toBase64 = (bytes: Uint8Array) => {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
};

async function deflateRaw(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A request ID: an XML NCName (must not start with a digit), 160 random bits. */
export function newRequestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return `_${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export async function authnRequestUrl(opts: {
  ssoUrl: string;
  spEntityId: string;
  acsUrl: string;
  requestId: string;
  now: number;
  relayState: string;
  /** RSASSA-PKCS1-v1_5/SHA-256 key; absent: the request goes unsigned. */
  signingKey?: CryptoKey;
}): Promise<string> {
  const xml =
    `<samlp:AuthnRequest xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${opts.requestId}" Version="2.0"` +
    ` IssueInstant="${new Date(opts.now).toISOString()}" Destination="${escapeXml(opts.ssoUrl)}"` +
    ` AssertionConsumerServiceURL="${escapeXml(opts.acsUrl)}" ProtocolBinding="${HTTP_POST}">` +
    `<saml:Issuer>${escapeXml(opts.spEntityId)}</saml:Issuer>` +
    `<samlp:NameIDPolicy Format="${NAMEID_EMAIL}" AllowCreate="true"/>` +
    `</samlp:AuthnRequest>`;
  let query = `SAMLRequest=${encodeURIComponent(toBase64(await deflateRaw(xml)))}`;
  query += `&RelayState=${encodeURIComponent(opts.relayState)}`;
  if (opts.signingKey) {
    query += `&SigAlg=${encodeURIComponent(RSA_SHA256)}`;
    const signature = await crypto.subtle.sign(
      "RSASSA-PKCS1-v1_5",
      opts.signingKey,
      new TextEncoder().encode(query),
    );
    query += `&Signature=${encodeURIComponent(toBase64(new Uint8Array(signature)))}`;
  }
  return `${opts.ssoUrl}${opts.ssoUrl.includes("?") ? "&" : "?"}${query}`;
}

/** SP metadata (SAML metadata §2.4.4): entity id, ACS (HTTP-POST), NameID format, signing and encryption certificate. */
export function spMetadata(opts: {
  spEntityId: string;
  acsUrl: string;
  certificate: string;
  signsRequests: boolean;
}): string {
  const keyInfo = `<ds:KeyInfo xmlns:ds="${NS.ds}"><ds:X509Data><ds:X509Certificate>${opts.certificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<md:EntityDescriptor xmlns:md="${NS.md}" entityID="${escapeXml(opts.spEntityId)}">` +
    `<md:SPSSODescriptor AuthnRequestsSigned="${opts.signsRequests}" WantAssertionsSigned="true" protocolSupportEnumeration="${NS.samlp}">` +
    `<md:KeyDescriptor use="signing">${keyInfo}</md:KeyDescriptor>` +
    `<md:KeyDescriptor use="encryption">${keyInfo}` +
    `<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/>` +
    `<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes128-gcm"/>` +
    `<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/>` +
    `<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>` +
    `<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>` +
    `</md:KeyDescriptor>` +
    `<md:NameIDFormat>${NAMEID_EMAIL}</md:NameIDFormat>` +
    `<md:AssertionConsumerService Binding="${HTTP_POST}" Location="${escapeXml(opts.acsUrl)}" index="0" isDefault="true"/>` +
    `</md:SPSSODescriptor></md:EntityDescriptor>`
  );
}
