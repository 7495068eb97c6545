/**
 * A streaming multipart/form-data reader that yields the bytes of one field (`file`, as
 * nhost-js-sdk sends it) as they arrive. `Request.formData()` would buffer the whole upload, which
 * a 50 MB file in a 128 MB isolate cannot afford; here at most one network chunk plus a delimiter's
 * length is held at a time.
 */

import { chunkReader } from "../../lib/streams";
import { AuthError } from "../errors";

const MAX_HEADER_BYTES = 8 * 1024;
const MAX_PARTS = 20;

export interface FilePart {
  filename: string | null;
  contentType: string | null;
  /** The part's body, chunk by chunk; ends at the closing delimiter. */
  chunks: AsyncGenerator<Uint8Array>;
}

const bad = (detail: string) => new AuthError("INVALID_REQUEST", { detail });

/** The boundary of a multipart/form-data Content-Type, or null when it is not one. */
export function multipartBoundary(contentType: string | undefined | null): string | null {
  if (!contentType) return null;
  const [type, ...params] = contentType.split(";");
  if (type!.trim().toLowerCase() !== "multipart/form-data") return null;
  for (const p of params) {
    const m = /^\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s";]{1,70}))\s*$/i.exec(p);
    if (m) return m[1] ?? m[2]!;
  }
  return null;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0]!;
  for (
    let i = hay.indexOf(first, from);
    i !== -1 && i <= hay.length - needle.length;
    i = hay.indexOf(first, i + 1)
  ) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function parseHeaders(block: string) {
  let name: string | null = null;
  let filename: string | null = null;
  let contentType: string | null = null;
  for (const line of block.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === "content-disposition") {
      name =
        /(?:^|;)\s*name="([^"]*)"/i.exec(value)?.[1] ?? /(?:^|;)\s*name=([^;\s]+)/i.exec(value)?.[1] ?? null;
      filename = /(?:^|;)\s*filename="([^"]*)"/i.exec(value)?.[1] ?? null;
    } else if (key === "content-type") contentType = value;
  }
  return { name, filename, contentType };
}

/** Bytes per read of a request body (workerd readAtLeast): fewer, larger chunks to scan and copy. */
const READ_BYTES = 64 * 1024;

/**
 * Reads `body` up to the part named `field` and returns it with its body as a stream of chunks.
 * Parts before it are skipped (discarded as they stream); what follows it is never read.
 */
export async function readFilePart(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  field = "file",
): Promise<FilePart> {
  const read = chunkReader(body, READ_BYTES);
  const enc = new TextEncoder();
  // The first delimiter may open the body without a leading CRLF; later ones follow one.
  const delimiter = enc.encode(`\r\n--${boundary}`);
  let buf: Uint8Array = enc.encode("\r\n");
  let done = false;

  const pull = async (): Promise<boolean> => {
    if (done) return false;
    const chunk = await read();
    if (!chunk) {
      done = true;
      return false;
    }
    buf = concat(buf, chunk);
    return true;
  };

  /** Consumes bytes up to and including the next delimiter; `sink` gets them, in pieces. */
  async function* untilDelimiter(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const at = indexOf(buf, delimiter);
      if (at >= 0) {
        if (at > 0) yield buf.subarray(0, at);
        buf = buf.subarray(at + delimiter.length);
        return;
      }
      // Keep a delimiter's length minus one: the delimiter may straddle two chunks.
      const keep = delimiter.length - 1;
      if (buf.length > keep) {
        const out = buf.subarray(0, buf.length - keep);
        buf = buf.slice(buf.length - keep);
        yield out;
      }
      if (!(await pull())) throw bad("The multipart body ended early.");
    }
  }

  // Preamble.
  for await (const _ of untilDelimiter());
  for (let parts = 0; parts < MAX_PARTS; parts++) {
    while (buf.length < 2 && (await pull()));
    if (buf[0] === 0x2d && buf[1] === 0x2d) break; // "--": the closing delimiter
    // Transport padding then CRLF, then the part's headers up to an empty line.
    let end = indexOf(buf, enc.encode("\r\n\r\n"));
    while (end < 0) {
      if (buf.length > MAX_HEADER_BYTES || !(await pull())) throw bad("The multipart headers are malformed.");
      end = indexOf(buf, enc.encode("\r\n\r\n"));
    }
    if (end > MAX_HEADER_BYTES) throw bad("The multipart headers are malformed.");
    const headers = parseHeaders(new TextDecoder().decode(buf.subarray(0, end)));
    buf = buf.subarray(end + 4);
    if (headers.name === field) {
      return { filename: headers.filename, contentType: headers.contentType, chunks: untilDelimiter() };
    }
    for await (const _ of untilDelimiter());
  }
  throw bad(`The multipart body has no "${field}" field.`);
}
