/**
 * Strict XML reading for SAML: no DTD (so no entities, internal or external), no comments or
 * processing instructions, malformed input refused. One parser (@xmldom/xmldom 0.9) for every
 * document this side reads.
 */
import { DOMParser, type Element, type Node } from "@xmldom/xmldom";

export const NS = {
  samlp: "urn:oasis:names:tc:SAML:2.0:protocol",
  saml: "urn:oasis:names:tc:SAML:2.0:assertion",
  ds: "http://www.w3.org/2000/09/xmldsig#",
  xenc: "http://www.w3.org/2001/04/xmlenc#",
  md: "urn:oasis:names:tc:SAML:2.0:metadata",
} as const;

export class XmlRefused extends Error {}

/**
 * Parses a document, refusing DTDs (entity expansion, XXE), comments and processing instructions
 * (a comment splits a text node: the NameID/DigestValue truncation attacks), and anything the
 * parser reports as an error.
 */
export function parseStrict(xml: string): Element {
  if (/<!DOCTYPE|<!ENTITY|<!ATTLIST|<!ELEMENT/i.test(xml)) throw new XmlRefused("DTDs are not accepted");
  if (xml.includes("<!--")) throw new XmlRefused("comments are not accepted");
  if (/<\?(?!xml\s)/.test(xml.replace(/^\uFEFF?\s*<\?xml\s[^?]*\?>/, "")))
    throw new XmlRefused("processing instructions are not accepted");
  const doc = new DOMParser({
    onError: (level, message) => {
      if (level !== "warning") throw new XmlRefused(`malformed XML: ${message}`);
    },
  }).parseFromString(xml, "text/xml");
  const root = doc.documentElement;
  if (!root) throw new XmlRefused("empty document");
  return root;
}

const ELEMENT_NODE = 1;

/** The element children of `node`. */
export function childElements(node: Node): Element[] {
  const out: Element[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) if (c.nodeType === ELEMENT_NODE) out.push(c as Element);
  return out;
}

/** The element children with that namespace and local name. */
export function children(node: Node, ns: string, local: string): Element[] {
  return childElements(node).filter((e) => e.namespaceURI === ns && e.localName === local);
}

/** The single child with that name; null when absent; refused when there are several. */
export function onlyChild(node: Node, ns: string, local: string): Element | null {
  const found = children(node, ns, local);
  if (found.length > 1) throw new XmlRefused(`more than one ${local}`);
  return found[0] ?? null;
}

/** Every element below (and including) `node` with that name, at any depth. */
export function descendants(node: Element, ns: string, local: string): Element[] {
  const out: Element[] = [];
  if (node.namespaceURI === ns && node.localName === local) out.push(node);
  for (const e of childElements(node)) out.push(...descendants(e, ns, local));
  return out;
}

/** Every element below (and including) `node`. */
export function allElements(node: Element): Element[] {
  const out: Element[] = [node];
  for (const e of childElements(node)) out.push(...allElements(e));
  return out;
}

/** The text of an element: all its text, trimmed. */
export function text(e: Element | null): string | null {
  if (!e) return null;
  return (e.textContent ?? "").trim();
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
