/**
 * Object keys. R2 keys mirror the HBP paths (`user/<id>/photo.png`). A key comes from a raw,
 * still percent-encoded URL path and is normalised once, before any rule is matched, so that a
 * rule sees exactly the key that will be read or written. Anything that could change meaning on
 * the way (an encoded slash, a dot segment, a backslash, NUL) is refused rather than repaired.
 */
import { AuthError } from "../errors";

/** R2's key limit, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** Longest path segment, in UTF-8 bytes (common file system limit). */
export const MAX_SEGMENT_BYTES = 255;
/** Keys under this first segment hold image variants; clients can never name them. */
export const VARIANTS_PREFIX = "_variants/";

const encoder = new TextEncoder();
const bytes = (s: string) => encoder.encode(s).length;

const invalid = (detail: string) => new AuthError("INVALID_REQUEST", { detail });

/**
 * A file key (no trailing slash) or a directory prefix (empty for the root, else ending in `/`)
 * from a raw path such as `user/abc/photo%20one.png`. Throws INVALID_REQUEST (400).
 */
export function normaliseKey(raw: string, kind: "file" | "dir"): string {
  if (raw.length > MAX_KEY_BYTES * 3) throw invalid("The path is too long.");
  // Encoded slashes, backslashes, dots and NUL are refused before decoding: decoding would turn
  // them into structure (`%2f` -> `/`, `%2e%2e` -> `..`) that a proxy or the URL parser did not
  // see. No client needs them: encodeURIComponent never encodes a dot.
  if (/%(2f|5c|2e|00)/i.test(raw)) {
    throw invalid("The path contains an encoded separator, dot or NUL.");
  }
  let path = raw;
  while (path.startsWith("/")) path = path.slice(1);
  if (kind === "dir") {
    if (path === "") return "";
    if (!path.endsWith("/")) path += "/";
    path = path.slice(0, -1);
  } else if (path === "" || path.endsWith("/")) {
    throw invalid("The path must name a file.");
  }
  const segments = path.split("/").map((seg) => {
    let s: string;
    try {
      s = decodeURIComponent(seg);
    } catch {
      throw invalid("The path is not valid percent-encoded UTF-8.");
    }
    if (s === "") throw invalid("The path contains an empty segment.");
    if (s === "." || s === "..") throw invalid("The path contains a dot segment.");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    if (/[\u0000-\u001f\u007f\\/]/.test(s)) throw invalid("The path contains a forbidden character.");
    s = s.normalize("NFC");
    if (bytes(s) > MAX_SEGMENT_BYTES) throw invalid("A path segment is too long.");
    return s;
  });
  if (segments[0] === VARIANTS_PREFIX.slice(0, -1)) throw invalid("The path is reserved.");
  const key = segments.join("/") + (kind === "dir" ? "/" : "");
  if (bytes(key) > MAX_KEY_BYTES) throw invalid("The path is too long.");
  return key;
}

/** The last segment of a key: the file name given in Content-Disposition. */
export const fileName = (key: string) => key.slice(key.lastIndexOf("/") + 1);
