/**
 * The WASM codecs (@jsquash: mozjpeg, libwebp, Rust png), used only to decode and encode; every
 * pixel operation is ours (pixels.ts). Each .wasm is imported as a module and handed to init(),
 * because the glue's own fetch of `new URL('x.wasm', import.meta.url)` cannot work in Workers.
 * Codecs initialise lazily, on the first transform of an isolate.
 */

import JPEG_DEC from "@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm";
import JPEG_ENC from "@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm";
import decodeJpeg, { init as initJpegDec } from "@jsquash/jpeg/decode";
import encodeJpeg, { init as initJpegEnc } from "@jsquash/jpeg/encode";
// @ts-expect-error wasm-bindgen ships a .wasm.d.ts describing exports, not a default Module
import PNG_WASM from "@jsquash/png/codec/pkg/squoosh_png_bg.wasm";
import decodePng, { init as initPngDec } from "@jsquash/png/decode";
import encodePng, { init as initPngEnc } from "@jsquash/png/encode";
import WEBP_DEC from "@jsquash/webp/codec/dec/webp_dec.wasm";
// init() picks the SIMD glue when SIMD exists, which it does in workerd.
import WEBP_ENC from "@jsquash/webp/codec/enc/webp_enc_simd.wasm";
import decodeWebp, { init as initWebpDec } from "@jsquash/webp/decode";
import encodeWebp, { init as initWebpEnc } from "@jsquash/webp/encode";

export type Format = "jpeg" | "png" | "webp";

export interface Pixels {
  data: Uint8ClampedArray;
  width: number;
  height: number;
}

const inits: Partial<Record<string, Promise<unknown>>> = {};
const once = (name: string, f: () => Promise<unknown>) => (inits[name] ??= f());

const ready = {
  jpegDec: () => once("jpegDec", () => initJpegDec(JPEG_DEC)),
  jpegEnc: () => once("jpegEnc", () => initJpegEnc(JPEG_ENC)),
  pngDec: () => once("pngDec", () => initPngDec(PNG_WASM)),
  pngEnc: () => once("pngEnc", () => initPngEnc(PNG_WASM)),
  webpDec: () => once("webpDec", () => initWebpDec(WEBP_DEC)),
  webpEnc: () => once("webpEnc", () => initWebpEnc(WEBP_ENC)),
};

/** After a trap (WebAssembly.RuntimeError) a codec's instance may be corrupt: make the next use re-create it. */
export function resetCodecs() {
  for (const k of Object.keys(inits)) delete inits[k];
}

export async function decode(format: Format, bytes: Uint8Array): Promise<Pixels> {
  // The decoders accept a Uint8Array at run time although their types say ArrayBuffer.
  const input = bytes as unknown as ArrayBuffer;
  switch (format) {
    case "jpeg":
      await ready.jpegDec();
      return decodeJpeg(input);
    case "png":
      await ready.pngDec();
      return decodePng(input);
    case "webp":
      await ready.webpDec();
      return decodeWebp(input);
  }
}

export async function encode(format: Format, img: Pixels, quality: number): Promise<Uint8Array> {
  const data = { data: img.data, width: img.width, height: img.height } as ImageData;
  switch (format) {
    case "jpeg":
      await ready.jpegEnc();
      // Non-progressive is ~2.5x faster than progressive+optimize for ~6% more bytes (notes/images.md).
      return new Uint8Array(await encodeJpeg(data, { quality, progressive: false, optimize_coding: true }));
    case "png":
      await ready.pngEnc();
      return new Uint8Array(await encodePng(data));
    case "webp":
      await ready.webpEnc();
      // method 3: most of method 4's size at about half its time (notes/images.md).
      return new Uint8Array(await encodeWebp(data, { quality, method: 3 }));
  }
}
