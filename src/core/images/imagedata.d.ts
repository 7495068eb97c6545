// @cloudflare/workers-types has no ImageData; the @jsquash codecs use this shape (and polyfill the
// global once a codec is initialised).
interface ImageData {
  readonly data: Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
}
