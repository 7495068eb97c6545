/**
 * Pixel operations on RGBA8 buffers, in TypeScript so that memory stays predictable (the WASM
 * resizer needs ~28 bytes per source pixel; this one a u8 intermediate of output width x source
 * rows). Colour is averaged with premultiplied alpha so transparent pixels do not bleed.
 */
import type { Pixels } from "./codecs";

interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  n: number;
}

/**
 * Triangle-filter taps mapping `outSize` samples onto the source window [from, from + size) of an
 * axis `total` long; widened by the scale when downscaling, so every source pixel counts (area-aware).
 */
function taps(outSize: number, from: number, size: number, total: number): Taps {
  const scale = size / outSize;
  const support = Math.max(1, scale);
  const n = Math.ceil(support) * 2 + 2;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * n);
  for (let i = 0; i < outSize; i++) {
    const center = from + (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support));
    const hi = Math.min(total - 1, Math.ceil(center + support));
    let sum = 0;
    let c = 0;
    for (let j = lo; j <= hi && c < n; j++, c++) {
      const w = Math.max(0, 1 - Math.abs((j + 0.5 - center) / support));
      weights[i * n + c] = w;
      sum += w;
    }
    if (sum === 0) {
      // Degenerate window (cannot happen for sizes >= 1): take the nearest pixel.
      weights[i * n] = 1;
      sum = 1;
      c = 1;
    }
    for (let k = 0; k < c; k++) weights[i * n + k]! /= sum;
    start[i] = lo;
    count[i] = c;
  }
  return { start, count, weights, n };
}

export interface Crop {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Resizes the `crop` window of `src` to `width` x `height` (separable triangle filter). */
export function resize(src: Pixels, crop: Crop, width: number, height: number): Pixels {
  if (crop.x === 0 && crop.y === 0 && crop.width === src.width && crop.height === src.height) {
    if (width === src.width && height === src.height) return src;
  }
  const tx = taps(width, crop.x, crop.width, src.width);
  const ty = taps(height, crop.y, crop.height, src.height);
  // Only the source rows the vertical pass reads.
  const rowLo = ty.start[0]!;
  const rowHi = ty.start[height - 1]! + ty.count[height - 1]! - 1;
  const rows = rowHi - rowLo + 1;
  const mid = new Uint8ClampedArray(width * rows * 4);
  const s = src.data;
  for (let y = 0; y < rows; y++) {
    const rowOff = (rowLo + y) * src.width * 4;
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      const base = x * tx.n;
      const st = tx.start[x]!;
      for (let k = 0; k < tx.count[x]!; k++) {
        const w = tx.weights[base + k]!;
        const p = rowOff + (st + k) * 4;
        const wa = w * s[p + 3]!;
        r += s[p]! * wa;
        g += s[p + 1]! * wa;
        b += s[p + 2]! * wa;
        a += wa;
      }
      const o = (y * width + x) * 4;
      if (a > 0) {
        mid[o] = r / a;
        mid[o + 1] = g / a;
        mid[o + 2] = b / a;
      }
      mid[o + 3] = a;
    }
  }
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const base = y * ty.n;
    const st = ty.start[y]! - rowLo;
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let k = 0; k < ty.count[y]!; k++) {
        const w = ty.weights[base + k]!;
        const p = ((st + k) * width + x) * 4;
        const wa = w * mid[p + 3]!;
        r += mid[p]! * wa;
        g += mid[p + 1]! * wa;
        b += mid[p + 2]! * wa;
        a += wa;
      }
      const o = (y * width + x) * 4;
      if (a > 0) {
        out[o] = r / a;
        out[o + 1] = g / a;
        out[o + 2] = b / a;
      }
      out[o + 3] = a;
    }
  }
  return { data: out, width, height };
}

/** Applies EXIF orientation 1..8 so the result is upright. */
export function orient(src: Pixels, orientation: number): Pixels {
  if (orientation <= 1 || orientation > 8) return src;
  const { width: W, height: H, data: s } = src;
  const swap = orientation >= 5;
  const width = swap ? H : W;
  const height = swap ? W : H;
  const out = new Uint8ClampedArray(width * height * 4);
  const d32 = new Uint32Array(out.buffer);
  const s32 =
    s.byteOffset % 4 === 0
      ? new Uint32Array(s.buffer, s.byteOffset, W * H)
      : new Uint32Array(s.slice().buffer);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sx: number;
      let sy: number;
      switch (orientation) {
        case 2:
          sx = W - 1 - x;
          sy = y;
          break;
        case 3:
          sx = W - 1 - x;
          sy = H - 1 - y;
          break;
        case 4:
          sx = x;
          sy = H - 1 - y;
          break;
        case 5: // transpose
          sx = y;
          sy = x;
          break;
        case 6: // rotate 90° clockwise
          sx = y;
          sy = H - 1 - x;
          break;
        case 7: // transverse
          sx = W - 1 - y;
          sy = H - 1 - x;
          break;
        default: // 8: rotate 90° counter-clockwise
          sx = W - 1 - y;
          sy = x;
      }
      d32[y * width + x] = s32[sy * W + sx]!;
    }
  }
  return { data: out, width, height };
}

function premultiply(d: Uint8ClampedArray, forward: boolean) {
  for (let i = 0; i < d.length; i += 4) {
    const a = d[i + 3]!;
    if (a === 255) continue;
    if (forward) {
      d[i] = (d[i]! * a) / 255;
      d[i + 1] = (d[i + 1]! * a) / 255;
      d[i + 2] = (d[i + 2]! * a) / 255;
    } else if (a > 0) {
      d[i] = (d[i]! * 255) / a;
      d[i + 1] = (d[i + 1]! * 255) / a;
      d[i + 2] = (d[i + 2]! * 255) / a;
    }
  }
}

/** Box sizes whose three passes approximate a Gaussian of `sigma` (Kuckir / Wells). */
function boxesForGauss(sigma: number, n = 3): number[] {
  const ideal = Math.sqrt((12 * sigma * sigma) / n + 1);
  let wl = Math.floor(ideal);
  if (wl % 2 === 0) wl--;
  const wu = wl + 2;
  const m = Math.round((12 * sigma * sigma - n * wl * wl - 4 * n * wl - 3 * n) / (-4 * wl - 4));
  return Array.from({ length: n }, (_, i) => (i < m ? wl : wu));
}

/** One box pass of radius r along rows (stride 4) or columns (stride 4*width), edges clamped. */
function boxPass(
  src: Uint8ClampedArray,
  dst: Uint8ClampedArray,
  w: number,
  h: number,
  r: number,
  horizontal: boolean,
) {
  const len = horizontal ? w : h;
  const lines = horizontal ? h : w;
  const step = horizontal ? 4 : w * 4;
  const div = 2 * r + 1;
  const acc = new Float64Array(4);
  for (let line = 0; line < lines; line++) {
    const base = horizontal ? line * w * 4 : line * 4;
    const at = (i: number) => base + Math.min(len - 1, Math.max(0, i)) * step;
    for (let c = 0; c < 4; c++) {
      let sum = 0;
      for (let i = -r; i <= r; i++) sum += src[at(i) + c]!;
      acc[c] = sum;
    }
    for (let i = 0; i < len; i++) {
      const o = base + i * step;
      const add = at(i + r + 1);
      const sub = at(i - r);
      for (let c = 0; c < 4; c++) {
        dst[o + c] = acc[c]! / div;
        acc[c] = acc[c]! + src[add + c]! - src[sub + c]!;
      }
    }
  }
}

/** Gaussian blur of standard deviation `sigma` (three box blurs, O(n) whatever sigma). */
export function blur(img: Pixels, sigma: number): Pixels {
  const { width: w, height: h } = img;
  const a = img.data;
  premultiply(a, true);
  const tmp = new Uint8ClampedArray(a.length);
  for (const size of boxesForGauss(sigma)) {
    // The initial sum walks 2r+1 taps per line; beyond the image every tap is an edge pixel anyway.
    const r = Math.min((size - 1) / 2, Math.max(w, h));
    boxPass(a, tmp, w, h, r, true);
    boxPass(tmp, a, w, h, r, false);
  }
  premultiply(a, false);
  return img;
}

/**
 * Rounded corners with anti-aliased edges: radius `r` pixels, or "full" for the inscribed
 * ellipse (a circle when square). Alpha outside the shape becomes 0.
 */
export function roundCorners(img: Pixels, r: number | "full"): Pixels {
  const { width: w, height: h, data: d } = img;
  if (r === "full") {
    const rx = w / 2;
    const ry = h / 2;
    const m = Math.min(rx, ry);
    for (let y = 0; y < h; y++) {
      const dy = (y + 0.5 - ry) / ry;
      for (let x = 0; x < w; x++) {
        const dx = (x + 0.5 - rx) / rx;
        const dist = Math.sqrt(dx * dx + dy * dy);
        // Signed distance to the edge in pixels (exact for a circle), then 1 px of coverage ramp.
        const cover = Math.min(1, Math.max(0, (1 - dist) * m + 0.5));
        if (cover < 1) d[(y * w + x) * 4 + 3] = d[(y * w + x) * 4 + 3]! * cover;
      }
    }
    return img;
  }
  const rad = Math.min(r, w / 2, h / 2);
  if (rad <= 0) return img;
  const span = Math.ceil(rad);
  for (let y = 0; y < h; y++) {
    const inTop = y < span;
    const inBottom = y >= h - span;
    if (!inTop && !inBottom) continue;
    for (let x = 0; x < w; x++) {
      const inLeft = x < span;
      const inRight = x >= w - span;
      if (!inLeft && !inRight) continue;
      const cx = inLeft ? rad : w - rad;
      const cy = inTop ? rad : h - rad;
      const px = x + 0.5;
      const py = y + 0.5;
      // Only the quarter outside the circle's centre lines is rounded.
      if ((inLeft ? px > cx : px < cx) || (inTop ? py > cy : py < cy)) continue;
      const dist = Math.hypot(px - cx, py - cy);
      const cover = Math.min(1, Math.max(0, rad - dist + 0.5));
      if (cover < 1) d[(y * w + x) * 4 + 3] = d[(y * w + x) * 4 + 3]! * cover;
    }
  }
  return img;
}

/** Composites onto white, for formats without alpha (JPEG). */
export function flatten(img: Pixels): Pixels {
  const d = img.data;
  for (let i = 0; i < d.length; i += 4) {
    const a = d[i + 3]!;
    if (a === 255) continue;
    const k = a / 255;
    d[i] = d[i]! * k + 255 * (1 - k);
    d[i + 1] = d[i + 1]! * k + 255 * (1 - k);
    d[i + 2] = d[i + 2]! * k + 255 * (1 - k);
    d[i + 3] = 255;
  }
  return img;
}

/** Whether any pixel is not fully opaque. */
export function hasAlpha(img: Pixels): boolean {
  const d = img.data;
  for (let i = 3; i < d.length; i += 4) if (d[i] !== 255) return true;
  return false;
}
