/**
 * What a read of a stored file must send (RFC 9110): validators, conditional requests and single
 * byte ranges, decided from the request's headers before any byte is read from R2.
 */

export interface ServedFile {
  key: string;
  size: number;
  /** Quoted strong ETag (R2 httpEtag). */
  etag: string;
  uploaded: Date;
  contentType: string;
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
