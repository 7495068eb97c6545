/**
 * Verification of a SAML 2.0 Response (Web Browser SSO profile, HTTP-POST binding) against one
 * configured identity provider. The rules, each one tested in the wrapping suite
 * (docs/saml-wrapping.md):
 *
 * - Only the configured certificates verify (KeyInfo in the message is never read).
 * - The document has no DTD, comments or processing instructions, no two elements share an ID,
 *   exactly one Assertion (or EncryptedAssertion), directly under the Response, and every
 *   ds:Signature sits directly under the Response or that Assertion.
 * - A signature counts only when it has one Reference, whose URI is `#` + the ID of the element
 *   that holds the signature, with the transforms enveloped-signature then exclusive c14n, an
 *   exclusive c14n SignedInfo, RSA-SHA256/512 and a SHA-256/512 digest (SHA-1 refused).
 * - Claims (issuer, subject, attributes, conditions) are read only from the canonical bytes that
 *   xml-crypto returns as signed (getSignedReferences), parsed again, never from the received
 *   document. Unsigned Response fields (Destination, InResponseTo, Status) are only compared with
 *   this SP's own values.
 * - Destination, Recipient, Audience, NotBefore/NotOnOrAfter (with a small skew), the bearer
 *   SubjectConfirmationData and InResponseTo must all match.
 *
 * Replay (each assertion ID once) is the service's business: it needs D1.
 */
import type { Element } from "@xmldom/xmldom";
import { SignedXml } from "xml-crypto";
import { allElements, children, descendants, NS, onlyChild, parseStrict, text, XmlRefused } from "./xml";

const EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const SIGNATURE_ALGORITHMS = [
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
];
const DIGEST_ALGORITHMS = [
  "http://www.w3.org/2001/04/xmlenc#sha256",
  "http://www.w3.org/2001/04/xmlenc#sha512",
];
const BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success";
/** A SAMLResponse larger than this is refused before decoding. */
export const MAX_RESPONSE_CHARS = 256 * 1024;

/** A response that does not pass; the message says which rule, for logs and `error_description`. */
export class SamlRefused extends Error {}

export interface VerifyOptions {
  /** PEM certificates of the IdP: the only keys trusted. */
  certificates: string[];
  idpEntityId: string;
  spEntityId: string;
  acsUrl: string;
  /** The ID of the AuthnRequest this response must answer. */
  requestId: string;
  requireSignedResponse: boolean;
  now: number;
  skewMs: number;
  /** Turns an EncryptedAssertion into the Assertion XML it holds; absent: encrypted assertions are refused. */
  decrypt?: (encryptedAssertion: Element) => Promise<string>;
}

export interface VerifiedAssertion {
  id: string;
  issuer: string;
  nameId: string;
  nameIdFormat: string | null;
  attributes: Record<string, string[]>;
  /** Until when the assertion could be accepted (the replay record lives this long). */
  validUntil: number;
}

const idOf = (e: Element) => e.getAttribute("ID") ?? "";

function time(value: string | null, what: string): number | null {
  if (value === null || value === "") return null;
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(t)) throw new SamlRefused(`${what} is not a time`);
  return t;
}

/** The element a signature sits in must be what its single reference points at, with only the allowed algorithms. */
function checkSignatureShape(signature: Element, owner: Element): void {
  const signedInfo = onlyChild(signature, NS.ds, "SignedInfo");
  if (!signedInfo) throw new SamlRefused("signature without SignedInfo");
  const c14n = onlyChild(signedInfo, NS.ds, "CanonicalizationMethod")?.getAttribute("Algorithm");
  if (c14n !== EXC_C14N) throw new SamlRefused("SignedInfo must use exclusive canonicalisation");
  const method = onlyChild(signedInfo, NS.ds, "SignatureMethod")?.getAttribute("Algorithm") ?? "";
  if (!SIGNATURE_ALGORITHMS.includes(method)) throw new SamlRefused("signature algorithm not accepted");
  const refs = children(signedInfo, NS.ds, "Reference");
  if (refs.length !== 1) throw new SamlRefused("a signature must have exactly one reference");
  const ref = refs[0]!;
  const id = idOf(owner);
  if (!id || ref.getAttribute("URI") !== `#${id}`)
    throw new SamlRefused("the signature does not reference the element that holds it");
  const digest = onlyChild(ref, NS.ds, "DigestMethod")?.getAttribute("Algorithm") ?? "";
  if (!DIGEST_ALGORITHMS.includes(digest)) throw new SamlRefused("digest algorithm not accepted");
  const transforms = onlyChild(ref, NS.ds, "Transforms");
  const list = transforms
    ? children(transforms, NS.ds, "Transform").map((t) => t.getAttribute("Algorithm"))
    : [];
  if (list.length !== 2 || list[0] !== ENVELOPED || list[1] !== EXC_C14N)
    throw new SamlRefused("only the enveloped-signature and exclusive c14n transforms are accepted");
}

/**
 * Verifies the signature held by `owner` over the whole received document with each trusted
 * certificate; returns the canonical XML of the signed element (what xml-crypto verified), or
 * refuses.
 */
function verifiedBytes(xml: string, signature: Element, owner: Element, certificates: string[]): string {
  checkSignatureShape(signature, owner);
  for (const cert of certificates) {
    const sx = new SignedXml({ publicCert: cert });
    // Only what the rules allow, whatever the message names (SHA-1, inclusive c14n, HMAC).
    sx.CanonicalizationAlgorithms = {
      [EXC_C14N]: sx.CanonicalizationAlgorithms[EXC_C14N],
      [ENVELOPED]: sx.CanonicalizationAlgorithms[ENVELOPED],
    } as typeof sx.CanonicalizationAlgorithms;
    sx.HashAlgorithms = Object.fromEntries(
      DIGEST_ALGORITHMS.map((a) => [a, sx.HashAlgorithms[a as keyof typeof sx.HashAlgorithms]]),
    ) as typeof sx.HashAlgorithms;
    sx.SignatureAlgorithms = Object.fromEntries(
      SIGNATURE_ALGORITHMS.map((a) => [a, sx.SignatureAlgorithms[a as keyof typeof sx.SignatureAlgorithms]]),
    ) as typeof sx.SignatureAlgorithms;
    try {
      sx.loadSignature(signature.toString());
      if (sx.checkSignature(xml) !== true) continue;
    } catch {
      continue;
    }
    const refs = sx.getSignedReferences();
    if (refs.length === 1) return refs[0]!;
  }
  throw new SamlRefused("the signature does not verify with the configured certificate");
}

/** The signed element again, from the verified bytes; it must be the element the signature is in. */
function reparse(bytes: string, ns: string, local: string, id: string): Element {
  let root: Element;
  try {
    root = parseStrict(bytes);
  } catch (e) {
    throw new SamlRefused(`signed bytes unreadable: ${(e as Error).message}`);
  }
  if (root.namespaceURI !== ns || root.localName !== local || idOf(root) !== id)
    throw new SamlRefused("the signed element is not the one expected");
  return root;
}

export async function verifySamlResponse(
  samlResponse: string,
  opts: VerifyOptions,
): Promise<VerifiedAssertion> {
  if (samlResponse.length > MAX_RESPONSE_CHARS) throw new SamlRefused("response too large");
  let xml: string;
  try {
    const bytes = Uint8Array.from(atob(samlResponse.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
    xml = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new SamlRefused("SAMLResponse is not base64 UTF-8");
  }
  let response: Element;
  try {
    response = parseStrict(xml);
  } catch (e) {
    if (e instanceof XmlRefused) throw new SamlRefused(e.message);
    throw e;
  }
  if (response.namespaceURI !== NS.samlp || response.localName !== "Response")
    throw new SamlRefused("not a SAML Response");

  // Structure of the received document, before any signature is looked at.
  const ids = new Set<string>();
  for (const e of allElements(response))
    for (const name of ["ID", "Id", "id"]) {
      const v = e.getAttribute(name);
      if (v === null || v === "") continue;
      if (ids.has(v)) throw new SamlRefused("two elements share an ID");
      ids.add(v);
    }
  const assertions = descendants(response, NS.saml, "Assertion");
  const encrypted = descendants(response, NS.saml, "EncryptedAssertion");
  if (assertions.length + encrypted.length !== 1) throw new SamlRefused("exactly one assertion is accepted");
  const topLevel = [
    ...children(response, NS.saml, "Assertion"),
    ...children(response, NS.saml, "EncryptedAssertion"),
  ];
  if (topLevel.length !== 1) throw new SamlRefused("the assertion must sit directly in the Response");
  for (const sig of descendants(response, NS.ds, "Signature")) {
    const parent = sig.parentNode as Element | null;
    if (parent !== response && parent !== assertions[0])
      throw new SamlRefused("a signature in an unexpected place");
  }
  checkEnvelope(response, opts);

  const responseSig = onlyChild(response, NS.ds, "Signature");
  let signedResponse: Element | null = null;
  if (responseSig) {
    const bytes = verifiedBytes(xml, responseSig, response, opts.certificates);
    signedResponse = reparse(bytes, NS.samlp, "Response", idOf(response));
    checkEnvelope(signedResponse, opts);
  } else if (opts.requireSignedResponse) {
    throw new SamlRefused("the Response is not signed");
  }

  let assertion: Element;
  if (encrypted.length === 1) {
    if (!opts.decrypt) throw new SamlRefused("encrypted assertions are not configured");
    const holder = signedResponse
      ? onlyChild(signedResponse, NS.saml, "EncryptedAssertion")
      : (encrypted[0] as Element);
    if (!holder) throw new SamlRefused("exactly one assertion is accepted");
    // Unauthenticated CBC would make this endpoint a padding oracle: CBC only inside a signed Response.
    const method = descendants(holder, NS.xenc, "EncryptionMethod")[0]?.getAttribute("Algorithm") ?? "";
    if (!signedResponse && method.endsWith("-cbc"))
      throw new SamlRefused("an AES-CBC encrypted assertion needs a signed Response");
    let plain: string;
    try {
      plain = await opts.decrypt(holder);
    } catch {
      // One message whatever failed (key, padding, tag): no oracle.
      throw new SamlRefused("the assertion could not be decrypted");
    }
    let decrypted: Element;
    try {
      decrypted = parseStrict(plain);
    } catch (e) {
      throw new SamlRefused((e as Error).message);
    }
    if (decrypted.namespaceURI !== NS.saml || decrypted.localName !== "Assertion")
      throw new SamlRefused("the decrypted content is not an assertion");
    if (descendants(decrypted, NS.saml, "Assertion").length !== 1)
      throw new SamlRefused("exactly one assertion is accepted");
    for (const sig of descendants(decrypted, NS.ds, "Signature"))
      if (sig.parentNode !== decrypted) throw new SamlRefused("a signature in an unexpected place");
    const innerSig = onlyChild(decrypted, NS.ds, "Signature");
    if (signedResponse && !innerSig) {
      // The Response signature covers the ciphertext and so what it decrypts to.
      assertion = decrypted;
    } else {
      if (!innerSig) throw new SamlRefused("neither the Response nor the Assertion is signed");
      for (const e of allElements(decrypted))
        if (e !== decrypted && e.getAttribute("ID")) throw new SamlRefused("two elements share an ID");
      const bytes = verifiedBytes(plain, innerSig, decrypted, opts.certificates);
      assertion = reparse(bytes, NS.saml, "Assertion", idOf(decrypted));
    }
  } else {
    const received = assertions[0]!;
    const assertionSig = onlyChild(received, NS.ds, "Signature");
    let signedAssertion: Element | null = null;
    if (assertionSig) {
      const bytes = verifiedBytes(xml, assertionSig, received, opts.certificates);
      signedAssertion = reparse(bytes, NS.saml, "Assertion", idOf(received));
    }
    if (signedResponse) {
      // The assertion as the Response signature covered it.
      const inside = children(signedResponse, NS.saml, "Assertion");
      if (inside.length !== 1) throw new SamlRefused("exactly one assertion is accepted");
      assertion = inside[0]!;
    } else if (signedAssertion) {
      assertion = signedAssertion;
    } else {
      throw new SamlRefused("neither the Response nor the Assertion is signed");
    }
  }
  return readAssertion(assertion, opts);
}

/** Response-level checks: values compared with this SP's own, so they may come from unsigned bytes. */
function checkEnvelope(response: Element, opts: VerifyOptions): void {
  if (response.getAttribute("Version") !== "2.0") throw new SamlRefused("not SAML 2.0");
  const destination = response.getAttribute("Destination");
  if (destination !== null && destination !== opts.acsUrl) throw new SamlRefused("wrong Destination");
  const inResponseTo = response.getAttribute("InResponseTo");
  if (inResponseTo !== null && inResponseTo !== opts.requestId) throw new SamlRefused("unknown InResponseTo");
  const issuer = onlyChild(response, NS.saml, "Issuer");
  if (issuer && text(issuer) !== opts.idpEntityId) throw new SamlRefused("wrong Issuer");
  const status = onlyChild(response, NS.samlp, "Status");
  const code = status ? onlyChild(status, NS.samlp, "StatusCode")?.getAttribute("Value") : null;
  if (code !== SUCCESS) throw new SamlRefused("the identity provider did not report success");
}

/** Reads and checks a signed assertion. */
function readAssertion(assertion: Element, opts: VerifyOptions): VerifiedAssertion {
  const { now, skewMs } = opts;
  const id = idOf(assertion);
  if (!id || assertion.getAttribute("Version") !== "2.0")
    throw new SamlRefused("assertion without ID or version");
  const issuer = text(onlyChild(assertion, NS.saml, "Issuer"));
  if (issuer !== opts.idpEntityId) throw new SamlRefused("wrong Issuer");

  const subject = onlyChild(assertion, NS.saml, "Subject");
  if (!subject) throw new SamlRefused("assertion without Subject");
  const nameIdEl = onlyChild(subject, NS.saml, "NameID");
  const nameId = text(nameIdEl);
  if (!nameId) throw new SamlRefused("assertion without NameID");

  // Web SSO profile §4.1.4.2: a bearer confirmation for this ACS, answering this request, still valid.
  let confirmedUntil: number | null = null;
  for (const sc of children(subject, NS.saml, "SubjectConfirmation")) {
    if (sc.getAttribute("Method") !== BEARER) continue;
    const data = onlyChild(sc, NS.saml, "SubjectConfirmationData");
    if (!data) continue;
    if (data.getAttribute("Recipient") !== opts.acsUrl) continue;
    if (data.getAttribute("InResponseTo") !== opts.requestId) continue;
    const until = time(data.getAttribute("NotOnOrAfter"), "NotOnOrAfter");
    if (until === null || now >= until + skewMs) continue;
    const notBefore = time(data.getAttribute("NotBefore"), "NotBefore");
    if (notBefore !== null && now + skewMs < notBefore) continue;
    confirmedUntil = until;
    break;
  }
  if (confirmedUntil === null)
    throw new SamlRefused("no bearer confirmation for this recipient, request and time");

  const conditions = onlyChild(assertion, NS.saml, "Conditions");
  if (!conditions) throw new SamlRefused("assertion without Conditions");
  const notBefore = time(conditions.getAttribute("NotBefore"), "NotBefore");
  const notOnOrAfter = time(conditions.getAttribute("NotOnOrAfter"), "NotOnOrAfter");
  if (notBefore !== null && now + skewMs < notBefore) throw new SamlRefused("assertion not yet valid");
  if (notOnOrAfter !== null && now >= notOnOrAfter + skewMs) throw new SamlRefused("assertion expired");
  const restrictions = children(conditions, NS.saml, "AudienceRestriction");
  if (restrictions.length === 0) throw new SamlRefused("assertion without an audience");
  for (const r of restrictions)
    if (!children(r, NS.saml, "Audience").some((a) => text(a) === opts.spEntityId))
      throw new SamlRefused("wrong Audience");
  if (children(assertion, NS.saml, "AuthnStatement").length === 0)
    throw new SamlRefused("assertion without an AuthnStatement");

  const attributes: Record<string, string[]> = {};
  for (const statement of children(assertion, NS.saml, "AttributeStatement"))
    for (const attr of children(statement, NS.saml, "Attribute")) {
      const name = attr.getAttribute("Name");
      if (!name) continue;
      const values = children(attr, NS.saml, "AttributeValue").map((v) => text(v) ?? "");
      attributes[name] = [...(attributes[name] ?? []), ...values];
    }

  const validUntil = Math.min(confirmedUntil, notOnOrAfter ?? confirmedUntil) + skewMs;
  return { id, issuer, nameId, nameIdFormat: nameIdEl!.getAttribute("Format"), attributes, validUntil };
}
