/**
 * The `lean` engine (notes/images.md): WASM decode -> resize (crop window, source orientation) ->
 * EXIF orientation -> blur -> rounded corners -> flatten for JPEG -> WASM encode. One transform runs
 * at a time per isolate: decoders hold ~4 bytes per source pixel in WASM memory that never shrinks,
 * and two overlapping 8 MP decodes would not fit in 128 MB.
 */
import { decode, encode, type Format, resetCodecs } from "./codecs";
import type { ImageParams } from "./params";
import { geometry } from "./params";
import { blur, flatten, orient, resize, roundCorners } from "./pixels";
import type { Probe } from "./probe";

/** Part of every variant's identity: bump it when the output of the same parameters changes. */
export const ENGINE_VERSION = "lean-1";

let chain: Promise<unknown> = Promise.resolve();
/** Runs `f` after every transform queued before it in this isolate. */
export function serialized<T>(f: () => Promise<T>): Promise<T> {
  const run = chain.then(f, f);
  chain = run.catch(() => {});
  return run;
}

export class UndecodableImage extends Error {}

function hasEoi(b: Uint8Array): boolean {
  for (let i = b.length - 2; i >= Math.max(0, b.length - 4096); i--)
    if (b[i] === 0xff && b[i + 1] === 0xd9) return true;
  return false;
}

export interface TransformInput {
  bytes: Uint8Array;
  probe: Probe & { format: Format };
  params: ImageParams;
  format: Format;
}

export async function transform({ bytes, probe, params, format }: TransformInput): Promise<Uint8Array> {
  try {
    // mozjpeg decodes a truncated JPEG "successfully" with a grey bottom; refuse it instead. Entropy-
    // coded data never holds FF D9 (FF is always stuffed), so an EOI near the end means complete.
    if (probe.format === "jpeg" && !hasEoi(bytes)) throw new UndecodableImage("truncated JPEG");
    const src = await decode(probe.format, bytes);
    // The header promised these dimensions; anything else is a malformed (or hostile) file.
    if (src.width !== probe.width || src.height !== probe.height) throw new UndecodableImage("size mismatch");
    const swap = probe.orientation >= 5;
    const geo = geometry(params, swap ? src.height : src.width, swap ? src.width : src.height);
    // Resize before orienting (less to rotate): a centred crop maps to a centred crop under any
    // flip or rotation, with width and height exchanged when the orientation swaps them.
    const c = geo.crop;
    let img = swap
      ? resize(src, { x: c.y, y: c.x, width: c.height, height: c.width }, geo.height, geo.width)
      : resize(src, c, geo.width, geo.height);
    img = orient(img, probe.orientation);
    if (img === src) img = { ...src, data: src.data.slice() };
    if (params.b !== null) img = blur(img, params.b);
    if (params.r !== null) img = roundCorners(img, params.r);
    if (format === "jpeg") img = flatten(img);
    return await encode(format, img, params.q ?? 80);
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) resetCodecs();
    if (e instanceof UndecodableImage) throw e;
    throw new UndecodableImage(e instanceof Error ? e.message : String(e));
  }
}
