/**
 * EncryptedAssertion (XML Encryption 1.1): the content key is RSA-OAEP-wrapped for this SP's key
 * (rsa-oaep-mgf1p, or xmlenc11#rsa-oaep with SHA-256 digest and MGF1), the assertion is AES-GCM
 * (128/256) or AES-CBC (128/256). WebCrypto only; nothing else is accepted.
 */
import type { Element } from "@xmldom/xmldom";
import { children, descendants, NS, onlyChild, text } from "./xml";

const XENC11 = "http://www.w3.org/2009/xmlenc11#";
const BLOCK: Record<string, { name: "AES-GCM" | "AES-CBC"; bytes: number }> = {
  "http://www.w3.org/2001/04/xmlenc#aes128-cbc": { name: "AES-CBC", bytes: 16 },
  "http://www.w3.org/2001/04/xmlenc#aes256-cbc": { name: "AES-CBC", bytes: 32 },
  [`${XENC11}aes128-gcm`]: { name: "AES-GCM", bytes: 16 },
  [`${XENC11}aes256-gcm`]: { name: "AES-GCM", bytes: 32 },
};

const b64 = (s: string | null) =>
  Uint8Array.from(atob((s ?? "").replace(/\s+/g, "")), (c) => c.charCodeAt(0));
const algorithm = (e: Element | null) =>
  onlyChild(e!, NS.xenc, "EncryptionMethod")?.getAttribute("Algorithm") ?? "";
const cipherValue = (e: Element) => {
  const data = onlyChild(e, NS.xenc, "CipherData");
  return b64(text(data ? onlyChild(data, NS.xenc, "CipherValue") : null));
};

/** The OAEP hash the EncryptedKey asks for, if it is one WebCrypto can do (one hash for OAEP and MGF1). */
function oaepHash(encryptedKey: Element): "SHA-1" | "SHA-256" {
  const method = onlyChild(encryptedKey, NS.xenc, "EncryptionMethod");
  const alg = method?.getAttribute("Algorithm");
  const digest = method ? onlyChild(method, NS.ds, "DigestMethod")?.getAttribute("Algorithm") : null;
  const mgf = method ? onlyChild(method, XENC11, "MGF")?.getAttribute("Algorithm") : null;
  const sha1 = !digest || digest === "http://www.w3.org/2000/09/xmldsig#sha1";
  if (alg === "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p" && sha1) return "SHA-1";
  if (alg === `${XENC11}rsa-oaep`) {
    if (sha1 && (!mgf || mgf === `${XENC11}mgf1sha1`)) return "SHA-1";
    if (digest === "http://www.w3.org/2001/04/xmlenc#sha256" && mgf === `${XENC11}mgf1sha256`)
      return "SHA-256";
  }
  throw new Error("key transport algorithm not accepted");
}

/** AES-CBC in XML Encryption pads with ISO 10126 (only the last byte counts): add a PKCS#7 block WebCrypto accepts. */
async function cbcDecrypt(raw: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  if (data.length < 32 || data.length % 16 !== 0) throw new Error("bad CBC ciphertext");
  const key = await crypto.subtle.importKey("raw", raw, "AES-CBC", false, ["encrypt", "decrypt"]);
  const iv = data.subarray(0, 16);
  const body = data.subarray(16);
  const last = body.subarray(body.length - 16);
  const pad = new Uint8Array(16).fill(16);
  const extra = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv: last }, key, pad)).subarray(
    0,
    16,
  );
  const joined = new Uint8Array(body.length + 16);
  joined.set(body);
  joined.set(extra, body.length);
  const plain = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-CBC", iv }, key, joined));
  const n = plain[plain.length - 1]!;
  if (n < 1 || n > 16) throw new Error("bad padding");
  return plain.subarray(0, plain.length - n);
}

export async function decryptAssertion(
  encryptedAssertion: Element,
  keys: { "SHA-1": CryptoKey; "SHA-256": CryptoKey },
): Promise<string> {
  const data = onlyChild(encryptedAssertion, NS.xenc, "EncryptedData");
  if (!data) throw new Error("no EncryptedData");
  const block = BLOCK[algorithm(data)];
  if (!block) throw new Error("content encryption algorithm not accepted");
  const keyInfo = onlyChild(data, NS.ds, "KeyInfo");
  const candidates = [
    ...(keyInfo ? children(keyInfo, NS.xenc, "EncryptedKey") : []),
    ...children(encryptedAssertion, NS.xenc, "EncryptedKey"),
  ];
  if (candidates.length !== 1) throw new Error("exactly one EncryptedKey is accepted");
  const encryptedKey = candidates[0]!;
  if (descendants(encryptedKey, NS.xenc, "EncryptedKey").length !== 1) throw new Error("nested keys");
  const hash = oaepHash(encryptedKey);
  const raw = new Uint8Array(
    await crypto.subtle.decrypt({ name: "RSA-OAEP" }, keys[hash], cipherValue(encryptedKey)),
  );
  if (raw.length !== block.bytes) throw new Error("content key of the wrong size");
  const cipher = cipherValue(data);
  let plain: Uint8Array;
  if (block.name === "AES-GCM") {
    if (cipher.length < 12 + 16) throw new Error("bad GCM ciphertext");
    const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["decrypt"]);
    plain = new Uint8Array(
      await crypto.subtle.decrypt({ name: "AES-GCM", iv: cipher.subarray(0, 12) }, key, cipher.subarray(12)),
    );
  } else {
    plain = await cbcDecrypt(raw, cipher);
  }
  return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(plain);
}
