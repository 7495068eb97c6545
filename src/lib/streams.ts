/**
 * Reads `body` in chunks of about `size` bytes when it is a byte stream (workerd's readAtLeast:
 * fewer, larger chunks to scan and copy; local R2 hands out 4 KiB ones), as they come otherwise.
 * Never yields an empty chunk; null at the end.
 */
export function chunkReader(
  body: ReadableStream<Uint8Array>,
  size: number,
): () => Promise<Uint8Array | null> {
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream.
  }
  if (!byob) {
    const reader = body.getReader();
    return async () => {
      const r = await reader.read();
      return r.done ? null : r.value;
    };
  }
  const reader = byob;
  let ended = false;
  return async () => {
    while (!ended) {
      const r = await reader.readAtLeast(size, new Uint8Array(size));
      if (r.done) ended = true;
      if (r.value && r.value.byteLength > 0) return r.value;
    }
    return null;
  };
}
