/**
 * HTTP semantics of serving a stored file (RFC 9110): validators, conditional requests, single
 * byte ranges and the safe-serving headers. Any dialect that serves files uses these, so the
 * policy (nosniff, attachments for risky types, private caching) is decided once, here.
 */
import { fileName } from "./keys";
import { isRisky } from "./sniff";

export interface ServedFile {
  key: string;
  size: number;
  /** Quoted strong ETag (R2 httpEtag). */
  etag: string;
  uploaded: Date;
  contentType: string;
}

/** Sandboxing CSP for anything served from storage that a browser could render as a document. */
export const SANDBOX_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** RFC 6266 / RFC 8187 Content-Disposition with a UTF-8 file name and an ASCII fallback. */
export function contentDisposition(kind: "inline" | "attachment", name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

export function fileHeaders(file: ServedFile, visibility: "public" | "private"): Headers {
  const h = new Headers();
  h.set("Content-Type", file.contentType);
  h.set("ETag", file.etag);
  h.set("Last-Modified", file.uploaded.toUTCString());
  h.set("Accept-Ranges", "bytes");
  // Public files may be cached but must be revalidated (an overwrite or delete shows at once);
  // private ones are never stored by a shared or browser cache.
  h.set("Cache-Control", visibility === "public" ? "public, no-cache" : "private, no-store");
  h.set("X-Content-Type-Options", "nosniff");
  const risky = isRisky(file.contentType) || file.contentType === "application/octet-stream";
  h.set("Content-Disposition", contentDisposition(risky ? "attachment" : "inline", fileName(file.key)));
  if (risky) h.set("Content-Security-Policy", SANDBOX_CSP);
  return h;
}

/** RFC 9110 §13.1.2 weak comparison against an If-None-Match list. */
export function etagMatches(header: string | null, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  const bare = (t: string) => t.trim().replace(/^W\//, "");
  return header.split(",").some((t) => bare(t) === bare(etag));
}

/** Whether a conditional GET may answer 304 (If-None-Match wins over If-Modified-Since). */
export function notModified(req: Headers, file: ServedFile): boolean {
  const inm = req.get("if-none-match");
  if (inm !== null) return etagMatches(inm, file.etag);
  const ims = req.get("if-modified-since");
  if (ims) {
    const since = Date.parse(ims);
    return !Number.isNaN(since) && Math.floor(file.uploaded.getTime() / 1000) <= Math.floor(since / 1000);
  }
  return false;
}

export type RangeResult = { offset: number; length: number } | "unsatisfiable" | null;

/**
 * A single byte range from the Range header, or null to serve the whole file (no header, a
 * multi-range or malformed request, or an If-Range that no longer matches).
 */
export function parseRange(req: Headers, file: ServedFile): RangeResult {
  const header = req.get("range");
  if (!header) return null;
  const ifRange = req.get("if-range");
  if (ifRange && ifRange.trim() !== file.etag && ifRange.trim() !== file.uploaded.toUTCString()) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  const size = file.size;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return "unsatisfiable";
    const length = Math.min(suffix, size);
    return size === 0 ? "unsatisfiable" : { offset: size - length, length };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return null;
  if (start >= size) return "unsatisfiable";
  return { offset: start, length: end - start + 1 };
}
