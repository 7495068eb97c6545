/**
 * The stored Content-Type is decided here from the first bytes of the upload, never taken from
 * the client: a browser must not be able to run something we serve as an image. Types a browser
 * can execute or render as a document (HTML, SVG, XML, JavaScript) are "risky" and are served as
 * attachments under a sandboxing CSP. Bytes that match nothing known become application/octet-stream.
 */

/** How many leading bytes the sniffer looks at. */
export const SNIFF_BYTES = 512;

export const RISKY_TYPES = new Set(["text/html", "image/svg+xml", "application/xml", "text/javascript"]);

const startsWith = (b: Uint8Array, sig: number[], at = 0) => sig.every((v, i) => b[at + i] === v);
const ascii = (b: Uint8Array, text: string, at = 0) =>
  startsWith(
    b,
    [...text].map((ch) => ch.charCodeAt(0)),
    at,
  );

function binaryType(b: Uint8Array): string | null {
  if (startsWith(b, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (ascii(b, "GIF87a") || ascii(b, "GIF89a")) return "image/gif";
  if (ascii(b, "RIFF") && ascii(b, "WEBP", 8)) return "image/webp";
  if (ascii(b, "RIFF") && ascii(b, "WAVE", 8)) return "audio/wav";
  if (ascii(b, "ftyp", 4)) {
    const brand = String.fromCharCode(...b.slice(8, 12));
    if (brand === "avif" || brand === "avis") return "image/avif";
    if (brand === "heic" || brand === "heix" || brand === "mif1") return "image/heic";
    if (brand.startsWith("M4A")) return "audio/mp4";
    if (brand === "qt  ") return "video/quicktime";
    return "video/mp4";
  }
  if (ascii(b, "%PDF-")) return "application/pdf";
  if (startsWith(b, [0x50, 0x4b, 0x03, 0x04]) || startsWith(b, [0x50, 0x4b, 0x05, 0x06]))
    return "application/zip";
  if (startsWith(b, [0x1f, 0x8b])) return "application/gzip";
  if (startsWith(b, [0x1a, 0x45, 0xdf, 0xa3])) return "video/webm";
  if (ascii(b, "OggS")) return "audio/ogg";
  if (ascii(b, "fLaC")) return "audio/flac";
  if (ascii(b, "ID3") || (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0)) return "audio/mpeg";
  if (ascii(b, "BM")) return "image/bmp";
  if (startsWith(b, [0x00, 0x00, 0x01, 0x00])) return "image/x-icon";
  if (ascii(b, "wOFF")) return "font/woff";
  if (ascii(b, "wOF2")) return "font/woff2";
  return null;
}

/** Text that a browser would treat as markup, by its leading content (after BOM and whitespace). */
function markupType(text: string): string | null {
  const t = text
    .replace(/^\uFEFF/, "")
    .trimStart()
    .slice(0, 256)
    .toLowerCase();
  if (/^<!doctype html|^<html|^<head|^<body|^<script|^<iframe|^<!--/.test(t)) return "text/html";
  if (t.startsWith("<svg") || (t.startsWith("<?xml") && text.toLowerCase().includes("<svg")))
    return "image/svg+xml";
  if (t.startsWith("<?xml") || /^<!doctype/.test(t)) return "application/xml";
  if (t.startsWith("<")) return "text/html";
  return null;
}

function isText(b: Uint8Array): boolean {
  // A partial UTF-8 sequence at the end of the window is not a reason to call it binary.
  let end = b.length;
  for (let i = Math.max(0, b.length - 3); i < b.length; i++) if ((b[i]! & 0xc0) === 0xc0) end = i;
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(b.subarray(0, end));
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control bytes mean binary
    return !/[\u0000-\u0008\u000e-\u001a\u001c-\u001f]/.test(text);
  } catch {
    return false;
  }
}

const JS_NAME = /\.(m?js|cjs)$/i;
const JS_TYPE = /^(application|text)\/(x-)?(javascript|ecmascript)\b/i;

/**
 * The Content-Type to store for a file whose first bytes are `head`. The client's declared type and
 * file name only ever make the result stricter (a `.js` text file is stored as risky JavaScript).
 */
export function sniffContentType(head: Uint8Array, declared: { type?: string; name?: string } = {}): string {
  if (head.length === 0) return "application/octet-stream";
  const bin = binaryType(head);
  if (bin) return bin;
  if (!isText(head)) return "application/octet-stream";
  const text = new TextDecoder().decode(head);
  const markup = markupType(text);
  if (markup) return markup;
  if ((declared.name && JS_NAME.test(declared.name)) || (declared.type && JS_TYPE.test(declared.type)))
    return "text/javascript";
  const t = text.trimStart();
  if ((t.startsWith("{") || t.startsWith("[")) && /json/i.test(declared.type ?? declared.name ?? ""))
    return "application/json";
  if (declared.type?.toLowerCase().startsWith("text/csv") || declared.name?.toLowerCase().endsWith(".csv"))
    return "text/csv; charset=utf-8";
  return "text/plain; charset=utf-8";
}

export const isRisky = (contentType: string) => RISKY_TYPES.has(contentType.split(";")[0]!.trim());
