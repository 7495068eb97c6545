/**
 * Format, declared dimensions and EXIF orientation from an image's first bytes, before any
 * decoding: decoders allocate from the declared size, so this one check stops decompression bombs.
 */
export type ProbedFormat = "jpeg" | "png" | "webp" | "gif";

export interface Probe {
  format: ProbedFormat;
  width: number;
  height: number;
  /** EXIF orientation 1..8 (JPEG only; 1 otherwise). */
  orientation: number;
}

const u16be = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;
const u32be = (b: Uint8Array, i: number) =>
  ((b[i]! << 24) >>> 0) + (b[i + 1]! << 16) + (b[i + 2]! << 8) + b[i + 3]!;
const u16le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
const u24le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
const tag = (b: Uint8Array, i: number, s: string) => [...s].every((ch, k) => b[i + k] === ch.charCodeAt(0));

/** Orientation from an APP1 Exif payload (starting at "Exif\0\0"), 1 when absent or malformed. */
function exifOrientation(b: Uint8Array, start: number, end: number): number {
  if (!tag(b, start, "Exif\0\0")) return 1;
  const t = start + 6;
  const little = tag(b, t, "II");
  if (!little && !tag(b, t, "MM")) return 1;
  const r16 = (i: number) => (little ? u16le(b, i) : u16be(b, i));
  const r32 = (i: number) => (little ? (u16le(b, i) | (u16le(b, i + 2) << 16)) >>> 0 : u32be(b, i));
  const ifd = t + r32(t + 4);
  if (ifd + 2 > end) return 1;
  const n = r16(ifd);
  for (let k = 0; k < n; k++) {
    const e = ifd + 2 + k * 12;
    if (e + 12 > end) return 1;
    if (r16(e) === 0x0112) {
      const v = r16(e + 8);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

function probeJpeg(b: Uint8Array): Probe | null {
  let i = 2;
  let orientation = 1;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    const len = u16be(b, i + 2);
    if (len < 2) return null;
    if (marker === 0xe1 && i + 2 + len <= b.length) orientation = exifOrientation(b, i + 4, i + 2 + len);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > b.length) return null;
      return { format: "jpeg", height: u16be(b, i + 5), width: u16be(b, i + 7), orientation };
    }
    if (marker === 0xda || marker === 0xd9) return null; // scan data before any frame header
    i += 2 + len;
  }
  return null;
}

function probeWebp(b: Uint8Array): Probe | null {
  if (b.length < 30) return null;
  if (tag(b, 12, "VP8 ")) {
    if (!(b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a)) return null;
    return { format: "webp", width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff, orientation: 1 };
  }
  if (tag(b, 12, "VP8L")) {
    if (b[20] !== 0x2f) return null;
    const bits = (b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24)) >>> 0;
    return {
      format: "webp",
      width: (bits & 0x3fff) + 1,
      height: ((bits >>> 14) & 0x3fff) + 1,
      orientation: 1,
    };
  }
  if (tag(b, 12, "VP8X")) {
    return { format: "webp", width: u24le(b, 24) + 1, height: u24le(b, 27) + 1, orientation: 1 };
  }
  return null;
}

/** The image's format and declared size, or null when the bytes are not a supported image header. */
export function probe(b: Uint8Array): Probe | null {
  if (b.length >= 24 && b[0] === 0x89 && tag(b, 1, "PNG\r\n\x1a\n") && tag(b, 12, "IHDR")) {
    return { format: "png", width: u32be(b, 16), height: u32be(b, 20), orientation: 1 };
  }
  if (b.length >= 10 && (tag(b, 0, "GIF87a") || tag(b, 0, "GIF89a"))) {
    return { format: "gif", width: u16le(b, 6), height: u16le(b, 8), orientation: 1 };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return probeJpeg(b);
  if (tag(b, 0, "RIFF") && tag(b, 8, "WEBP")) return probeWebp(b);
  return null;
}
