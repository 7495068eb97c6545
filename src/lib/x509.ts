/**
 * A minimal DER writer for one thing: a self-signed X.509 v3 certificate over an RSA key held in
 * WebCrypto (RSASSA-PKCS1-v1_5, SHA-256). SAML metadata publishes keys as certificates, and Workers
 * have no API that makes one. RFC 5280 §4.1; DER per X.690.
 */

function length(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const size = content.reduce((n, c) => n + c.length, 0);
  const head = [tag, ...length(size)];
  const out = new Uint8Array(head.length + size);
  out.set(head);
  let at = head.length;
  for (const c of content) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const seq = (...c: Uint8Array[]) => tlv(0x30, ...c);
const set = (...c: Uint8Array[]) => tlv(0x31, ...c);
const utf8String = (s: string) => tlv(0x0c, new TextEncoder().encode(s));
const NULL = new Uint8Array([0x05, 0x00]);

function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split(".").map(Number) as [number, number, ...number[]];
  const bytes = [a * 40 + b];
  for (const n of rest) {
    const chunk: number[] = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, new Uint8Array(bytes));
}

/** A positive INTEGER from big-endian bytes (a leading zero keeps the sign bit clear). */
function integer(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const trimmed = bytes.subarray(i);
  return tlv(0x02, trimmed[0]! & 0x80 ? new Uint8Array([0, ...trimmed]) : trimmed);
}

/** GeneralizedTime (YYYYMMDDHHMMSSZ); RFC 5280 allows it for every date. */
function time(ms: number): Uint8Array {
  const iso = new Date(ms).toISOString();
  return tlv(0x18, new TextEncoder().encode(`${iso.slice(0, 19).replace(/[-:T]/g, "")}Z`));
}

const name = (commonName: string) => seq(set(seq(oid("2.5.4.3"), utf8String(commonName))));
const SHA256_WITH_RSA = seq(oid("1.2.840.113549.1.1.11"), NULL);

export interface CertificateOptions {
  commonName: string;
  notBefore: number;
  notAfter: number;
}

/** DER of a self-signed certificate for an RSASSA-PKCS1-v1_5/SHA-256 key pair. */
export async function selfSignedCertificate(
  keys: CryptoKeyPair,
  opts: CertificateOptions,
): Promise<Uint8Array> {
  const spki = new Uint8Array((await crypto.subtle.exportKey("spki", keys.publicKey)) as ArrayBuffer);
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0]! &= 0x7f;
  const tbs = seq(
    tlv(0xa0, integer(new Uint8Array([2]))),
    integer(serial),
    SHA256_WITH_RSA,
    name(opts.commonName),
    seq(time(opts.notBefore), time(opts.notAfter)),
    name(opts.commonName),
    spki,
  );
  const signature = new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", keys.privateKey, tbs));
  return seq(tbs, SHA256_WITH_RSA, tlv(0x03, new Uint8Array([0]), signature));
}

/** PEM armour (64-character lines). */
export function toPem(label: string, der: Uint8Array): string {
  let b64 = "";
  for (let i = 0; i < der.length; i += 0x8000) b64 += String.fromCharCode(...der.subarray(i, i + 0x8000));
  const lines = btoa(b64).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The base64 body of a PEM block with that label (no armour, no whitespace), or null. */
export function pemBody(pem: string, label: string): string | null {
  const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  return m ? m[1]!.replace(/\s+/g, "") : null;
}

export function fromPem(pem: string, label: string): Uint8Array | null {
  const body = pemBody(pem, label);
  return body ? Uint8Array.from(atob(body), (c) => c.charCodeAt(0)) : null;
}
