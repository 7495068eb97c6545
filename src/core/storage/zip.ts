/**
 * A zip of many R2 objects, produced while it is sent. Entries are STOREd (no compression: the CPU
 * stays flat and most stored files are compressed already) and each object is read chunk by chunk
 * only when the client has taken the previous output, so memory stays constant whatever the size.
 */
import { Zip, ZipPassThrough } from "fflate";
import { chunkReader } from "../../lib/streams";

export interface ZipEntry {
  name: string;
  mtime: Date;
  /** The body, or null when the object vanished since listing (it is then left out). */
  open: () => Promise<ReadableStream<Uint8Array> | null>;
}

/** Bytes per read from R2: local R2 hands out 4 KiB chunks, and per-chunk work dominated the zip. */
const READ_BYTES = 256 * 1024;

export function zipStream(entries: ZipEntry[]): ReadableStream<Uint8Array> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  let failed = false;
  const zip = new Zip((err, chunk, final) => {
    if (err) {
      failed = true;
      writer.abort(err).catch(() => {});
      return;
    }
    writer.write(chunk).catch(() => {});
    if (final) writer.close().catch(() => {});
  });

  (async () => {
    for (const entry of entries) {
      if (failed) return;
      const body = await entry.open();
      if (!body) continue;
      const file = new ZipPassThrough(entry.name);
      file.mtime = entry.mtime;
      zip.add(file);
      const next = chunkReader(body, READ_BYTES);
      for (;;) {
        // Backpressure: wait until the client has read what is queued.
        await writer.ready;
        const chunk = await next();
        if (!chunk) break;
        file.push(chunk, false);
      }
      file.push(new Uint8Array(0), true);
    }
    zip.end();
  })().catch((e) => {
    failed = true;
    writer.abort(e).catch(() => {});
  });
  return readable;
}
