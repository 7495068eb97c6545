/**
 * The published wrapping suite (docs/saml-wrapping.md): every known way to make a SAML service
 * provider read claims the IdP did not sign. Each case starts from a response the test IdP really
 * signed for the attacker's own account at the IdP, turns it into one claiming the victim, posts
 * it, and expects a redirect carrying `error` with nothing created (users, sessions, identities,
 * /token grants of the domain counted before and after).
 */
import type { Document, Element } from "@xmldom/xmldom";
import { describe, expect, it } from "vitest";
import { SignedXml } from "xml-crypto";
import { createKeys, parseXml, randomId, SHA1, SHA256, serialize } from "../../support/saml-idp";
import { APP, expectRefused, FALLBACK, samlSetup } from "./saml-support";

const SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol";
const SAML = "urn:oasis:names:tc:SAML:2.0:assertion";
const DS = "http://www.w3.org/2000/09/xmldsig#";

const s = await samlSetup();
const strict = await samlSetup({ require_signed_response: true });
const victim = `victim@${s.domain}`;

/** Edits a signed document with the DOM, as SAML Raider does. */
function edit(xml: string, fn: (doc: Document, response: Element) => void): string {
  const doc = parseXml(xml);
  fn(doc, doc.documentElement!);
  return serialize(doc);
}
const first = (root: Element | Document, ns: string, name: string) =>
  root.getElementsByTagNameNS(ns, name)[0] as Element;
const assertionOf = (r: Element) => first(r, SAML, "Assertion");
const sigChild = (e: Element) =>
  Array.from(e.childNodes).find(
    (n) => (n as Element).localName === "Signature" && (n as Element).namespaceURI === DS,
  ) as Element | undefined;
/** Makes an assertion claim the victim. */
function toVictim(a: Element) {
  first(a, SAML, "NameID").textContent = victim;
  for (const v of Array.from(a.getElementsByTagNameNS(SAML, "AttributeValue")))
    if (v.textContent?.includes("@")) v.textContent = victim;
}
function evilCopy(a: Element, keepSignature = false): Element {
  const copy = a.cloneNode(true) as Element;
  if (!keepSignature) {
    const sig = sigChild(copy);
    if (sig) copy.removeChild(sig);
  }
  copy.setAttribute("ID", randomId());
  toVictim(copy);
  return copy;
}

/** Which rule refuses each case (matched against error_description). */
const RULES: Record<string, RegExp> = {
  XSW1: /two elements share an ID/,
  XSW2: /two elements share an ID/,
  XSW3: /exactly one assertion/,
  XSW4: /exactly one assertion/,
  XSW5: /exactly one assertion/,
  XSW6: /exactly one assertion/,
  XSW7: /exactly one assertion/,
  XSW8: /exactly one assertion/,
  "CVE-2021-28091": /exactly one assertion/,
  "a signed Assertion in an unsigned Response": /the Response is not signed/,
  "the signed Assertion in Extensions": /two elements share an ID/,
  "a comment injected": /comments are not accepted/,
  "several References": /exactly one reference/,
  "every signature removed": /neither the Response nor the Assertion is signed/,
  "signed by a self-signed certificate": /does not verify with the configured certificate/,
  "RSA-SHA1": /signature algorithm not accepted/,
  "a DTD": /DTDs are not accepted/,
  "wrong Audience": /wrong Audience|wrong Destination|no bearer confirmation/,
  expired: /no bearer confirmation|not yet valid|expired/,
  InResponseTo: /unknown InResponseTo/,
};

type Attack = (a: Awaited<ReturnType<typeof s.answer>>) => Promise<string> | string;

async function refused(
  attack: Attack,
  opts: { setup?: typeof s; answer?: object; error?: string; reason?: RegExp } = {},
) {
  const setup = opts.setup ?? s;
  const before = await setup.counts();
  const a = await setup.answer("attacker", opts.answer ?? {});
  const xml = await attack(a);
  const r = await setup.post(xml, a.relayState);
  expectRefused(r, APP, opts.error);
  // The rule that stopped it (docs/saml-wrapping.md lists which rule answers which attack).
  const title = expect.getState().currentTestName!.replace(/^SAML wrapping suite > /, "");
  const reason = opts.reason ?? Object.entries(RULES).find(([prefix]) => title.startsWith(prefix))?.[1];
  expect(reason, `no rule listed for ${title}`).toBeDefined();
  expect(r.location!.searchParams.get("error_description")).toMatch(reason!);
  expect(await setup.counts()).toEqual(before);
}

describe("SAML wrapping suite", () => {
  it("control: the untouched response is accepted (the cases below fail for their edit alone)", async () => {
    const a = await s.answer("attacker");
    const r = await s.post(a.xml, a.relayState);
    expect(r.res.status).toBe(302);
  });

  // SAML Raider's XSW1-XSW8.
  it("XSW1: a signed copy of the Response inside the Signature, an evil Response outside", () =>
    refused(
      (a) =>
        edit(a.xml, (doc, r) => {
          const copy = r.cloneNode(true) as Element;
          const copySig = sigChild(copy)!;
          copy.removeChild(copySig);
          sigChild(r)!.appendChild(copy);
          r.setAttribute("ID", randomId());
          toVictim(assertionOf(r));
          void doc;
        }),
      { answer: { signAssertion: false } },
    ));

  it("XSW2: the signed copy of the Response before the Signature (detached)", () =>
    refused(
      (a) =>
        edit(a.xml, (_doc, r) => {
          const copy = r.cloneNode(true) as Element;
          copy.removeChild(sigChild(copy)!);
          r.insertBefore(copy, sigChild(r)!);
          r.setAttribute("ID", randomId());
          toVictim(assertionOf(r));
        }),
      { answer: { signAssertion: false } },
    ));

  it("XSW3: an evil Assertion before the signed one", () =>
    refused(
      (a) =>
        edit(a.xml, (_doc, r) => {
          const original = assertionOf(r);
          r.insertBefore(evilCopy(original), original);
        }),
      { answer: { signResponse: false } },
    ));

  it("XSW4: an evil Assertion wrapping the signed one", () =>
    refused(
      (a) =>
        edit(a.xml, (_doc, r) => {
          const original = assertionOf(r);
          const evil = evilCopy(original);
          r.replaceChild(evil, original);
          evil.appendChild(original);
        }),
      { answer: { signResponse: false } },
    ));

  it("XSW5: the evil Assertion keeps the signature, an unsigned copy of the original at the end", () =>
    refused(
      (a) =>
        edit(a.xml, (_doc, r) => {
          const original = assertionOf(r);
          const copy = original.cloneNode(true) as Element;
          copy.removeChild(sigChild(copy)!);
          const evil = evilCopy(original, true);
          r.replaceChild(evil, original);
          r.appendChild(copy);
        }),
      { answer: { signResponse: false } },
    ));

  it("XSW6: the evil Assertion keeps the signature, the original copied into that signature", () =>
    refused(
      (a) =>
        edit(a.xml, (_doc, r) => {
          const original = assertionOf(r);
          const copy = original.cloneNode(true) as Element;
          copy.removeChild(sigChild(copy)!);
          const evil = evilCopy(original, true);
          r.replaceChild(evil, original);
          sigChild(evil)!.appendChild(copy);
        }),
      { answer: { signResponse: false } },
    ));

  it("XSW7: the signed Assertion inside an Extensions element, an unsigned evil one in its place", () =>
    refused(
      (a) =>
        edit(a.xml, (doc, r) => {
          const original = assertionOf(r);
          const ext = doc.createElementNS(SAMLP, "samlp:Extensions");
          r.replaceChild(evilCopy(original), original);
          r.insertBefore(ext, first(r, SAMLP, "Status"));
          ext.appendChild(original);
        }),
      { answer: { signResponse: false } },
    ));

  it("XSW8: the original in a ds:Object of the evil Assertion's signature", () =>
    refused(
      (a) =>
        edit(a.xml, (doc, r) => {
          const original = assertionOf(r);
          const copy = original.cloneNode(true) as Element;
          copy.removeChild(sigChild(copy)!);
          const evil = evilCopy(original, true);
          r.replaceChild(evil, original);
          const object = doc.createElementNS(DS, "ds:Object");
          object.appendChild(copy);
          sigChild(evil)!.appendChild(object);
        }),
      { answer: { signResponse: false } },
    ));

  it("CVE-2021-28091: a forged Assertion after the valid, signed one", async () => {
    for (const answer of [{}, { signResponse: false }])
      await refused(
        (a) =>
          edit(a.xml, (_doc, r) => {
            r.appendChild(evilCopy(assertionOf(r)));
          }),
        { answer },
      );
  });

  it("a signed Assertion in an unsigned Response: refused where the provider requires a signed Response", () =>
    refused((a) => a.xml, { setup: strict, answer: { signResponse: false } }));

  it("a signed Assertion moved into a new unsigned Response for another request", async () => {
    const before = await s.counts();
    const old = await s.answer("attacker", { signResponse: false });
    const now = await s.answer("attacker");
    const xml = edit(old.xml, (_doc, r) => {
      r.setAttribute("InResponseTo", now.requestId);
    });
    expectRefused(await s.post(xml, now.relayState));
    expect(await s.counts()).toEqual(before);
  });

  it("the signed Assertion in Extensions with a same-ID forged copy in its place", () =>
    refused(
      (a) =>
        edit(a.xml, (doc, r) => {
          const original = assertionOf(r);
          const forged = evilCopy(original);
          forged.setAttribute("ID", original.getAttribute("ID")!);
          const ext = doc.createElementNS(SAMLP, "samlp:Extensions");
          r.replaceChild(forged, original);
          r.insertBefore(ext, first(r, SAMLP, "Status"));
          ext.appendChild(original);
        }),
      { answer: { signResponse: false } },
    ));

  it("a comment injected into a DigestValue", () =>
    refused((a) =>
      edit(a.xml, (doc, r) => {
        const dv = first(r, DS, "DigestValue");
        dv.insertBefore(doc.createComment(""), dv.firstChild!.nextSibling);
        dv.appendChild(doc.createTextNode("AAAA"));
      }),
    ));

  it("a comment injected into the NameID (the IdP signed attacker@<domain>.evil.test)", () =>
    refused(
      (a) =>
        edit(a.xml, (doc, r) => {
          const nameId = first(r, SAML, "NameID");
          // The comment does not change the canonical bytes, so the signature still verifies.
          const [local, rest] = nameId.textContent!.split(".evil.test");
          nameId.textContent = "";
          nameId.appendChild(doc.createTextNode(local!));
          nameId.appendChild(doc.createComment(""));
          nameId.appendChild(doc.createTextNode(`.evil.test${rest ?? ""}`));
        }),
      {
        answer: {
          nameId: `victim@${s.domain}.evil.test`,
          attributes: { mail: `victim@${s.domain}.evil.test` },
        },
      },
    ));

  it("several References in SignedInfo", () =>
    refused(
      (a) => {
        const r = parseXml(a.xml).documentElement!;
        const responseId = r.getAttribute("ID")!;
        const assertionId = assertionOf(r).getAttribute("ID")!;
        const sx = new SignedXml({
          privateKey: s.idp.keys.keyPem,
          canonicalizationAlgorithm: "http://www.w3.org/2001/10/xml-exc-c14n#",
          signatureAlgorithm: SHA256.sig,
        });
        const transforms = [
          "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
          "http://www.w3.org/2001/10/xml-exc-c14n#",
        ];
        sx.addReference({ xpath: `//*[@ID='${responseId}']`, digestAlgorithm: SHA256.digest, transforms });
        sx.addReference({ xpath: `//*[@ID='${assertionId}']`, digestAlgorithm: SHA256.digest, transforms });
        sx.computeSignature(a.xml, {
          prefix: "ds",
          location: { reference: `//*[@ID='${responseId}']/*[local-name(.)='Issuer']`, action: "after" },
        });
        return sx.getSignedXml();
      },
      { answer: { signResponse: false, signAssertion: false } },
    ));

  it("every signature removed", () =>
    refused((a) =>
      edit(a.xml, (_doc, r) => {
        for (const sig of Array.from(r.getElementsByTagNameNS(DS, "Signature")))
          sig.parentNode!.removeChild(sig);
      }),
    ));

  it("signed by a self-signed certificate sent in KeyInfo", async () => {
    const attacker = await createKeys("attacker");
    await refused((a) => a.xml, {
      answer: { nameId: victim, attributes: { mail: victim }, signer: attacker, keyInfo: true },
    });
  });

  it("RSA-SHA1 signatures and SHA-1 digests", () => refused((a) => a.xml, { answer: { algorithms: SHA1 } }));

  it("a DTD: external entity (XXE) and entity expansion", async () => {
    await refused((a) =>
      a.xml.replace(
        "<samlp:Response",
        '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><samlp:Response',
      ),
    );
    await refused((a) =>
      a.xml.replace(
        "<samlp:Response",
        `<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">${Array.from({ length: 9 }, (_, i) => `<!ENTITY ${"b".repeat(i + 1)} "&${i ? "b".repeat(i) : "a"};&${i ? "b".repeat(i) : "a"};">`).join("")}]><samlp:Response`,
      ),
    );
  });

  it("a replayed response, and a new response reusing an accepted assertion ID", async () => {
    const a = await s.answer("attacker");
    expect((await s.post(a.xml, a.relayState)).res.status).toBe(302);
    const before = await s.counts();
    // The RelayState is spent: where to return is no longer known, so the default error page.
    expectRefused(await s.post(a.xml, a.relayState), FALLBACK);
    const assertionId = assertionOf(parseXml(a.xml).documentElement!).getAttribute("ID")!;
    const b = await s.answer("attacker", { assertionId });
    expectRefused(await s.post(b.xml, b.relayState));
    expect(await s.counts()).toEqual(before);
  });

  it("an assertion ID is accepted once under parallel posts", async () => {
    const assertionId = randomId();
    const answers = await Promise.all(Array.from({ length: 8 }, () => s.answer("racer", { assertionId })));
    const results = await Promise.all(answers.map((a) => s.post(a.xml, a.relayState)));
    expect(results.filter((r) => r.res.status === 302)).toHaveLength(1);
    expect(results.filter((r) => r.res.status === 303)).toHaveLength(7);
  });

  it("wrong Audience, Destination or Recipient", async () => {
    await refused((a) => a.xml, {
      answer: { audience: "https://other-sp.test/metadata" },
      reason: /wrong Audience/,
    });
    await refused((a) => a.xml, {
      answer: { destination: "https://other-sp.test/acs" },
      reason: /wrong Destination/,
    });
    await refused((a) => a.xml, {
      answer: { recipient: "https://other-sp.test/acs" },
      reason: /no bearer confirmation for this recipient/,
    });
  });

  it("expired, or not yet valid, beyond the clock skew", async () => {
    // Issued 10 minutes ago, valid for 5: past NotOnOrAfter by more than the 60 s skew.
    await refused((a) => a.xml, { answer: { now: Date.now() - 10 * 60_000, notOnOrAfter: 5 * 60_000 } });
    await refused((a) => a.xml, { answer: { notBefore: 5 * 60_000 }, reason: /not yet valid/ });
  });

  it("InResponseTo of a request never made", async () => {
    await refused((a) => a.xml, { answer: { requestId: randomId() } });
    await refused((a) => a.xml, { answer: { responseInResponseTo: randomId() } });
    // Only the signed SubjectConfirmationData names another request (the Response names none).
    await refused((a) => a.xml, {
      answer: { requestId: randomId(), responseInResponseTo: null },
      reason: /no bearer confirmation for this recipient, request/,
    });
  });

  it("an unknown or missing RelayState, and an IdP-initiated response", async () => {
    const before = await s.counts();
    const a = await s.answer("attacker");
    const r = await s.post(a.xml, "unknown-relay-state");
    expect(r.res.status).toBe(303);
    expect(r.location!.searchParams.get("error")).toBe("invalid_request");
    expect(r.location!.origin + r.location!.pathname).toBe("http://localhost:5173/login-error");
    expect(await s.counts()).toEqual(before);
  });
});
