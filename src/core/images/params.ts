/**
 * Image parameters of api/hbp.txt (`w h q f r b`), validated strictly, and the output policy: never
 * enlarge, keep the aspect when one side is given, cover-crop from the centre when both are, never
 * JPEG when corners are rounded (transparency must survive), `f=auto` picks WebP when accepted.
 */
import { AuthError } from "../errors";
import type { Format } from "./codecs";

export interface ImageParams {
  /** 0 = not set. */
  w: number;
  h: number;
  q: number | null;
  f: Format | "auto" | null;
  r: number | "full" | null;
  b: number | null;
}

export const IMAGE_PARAM_NAMES = ["w", "h", "q", "f", "r", "b"] as const;
const MAX_SIDE = 8192;

const bad = (detail: string) => new AuthError("INVALID_REQUEST", { detail });

function int(name: string, v: string, min: number, max: number): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) < min || Number(v) > max)
    throw bad(`"${name}" must be an integer between ${min} and ${max}`);
  return Number(v);
}

/**
 * The parameters of a query (`get` gives every value of a name), or null when it has none of them
 * (serve the file as stored). A repeated parameter is refused: `?w=1&w=8192` must not mean one
 * size to a cache or a check and another to the transform.
 */
export function parseImageParams(get: (name: string) => readonly string[] | undefined): ImageParams | null {
  const raw: Record<string, string | undefined> = {};
  for (const n of IMAGE_PARAM_NAMES) {
    const values = get(n) ?? [];
    if (values.length > 1) throw bad(`"${n}" must be given once`);
    raw[n] = values[0];
  }
  if (IMAGE_PARAM_NAMES.every((n) => raw[n] === undefined)) return null;
  const p: ImageParams = { w: 0, h: 0, q: null, f: null, r: null, b: null };
  if (raw.w !== undefined) p.w = int("w", raw.w, 0, MAX_SIDE);
  if (raw.h !== undefined) p.h = int("h", raw.h, 0, MAX_SIDE);
  if (raw.q !== undefined) p.q = int("q", raw.q, 1, 100);
  if (raw.f !== undefined) {
    if (!["webp", "png", "jpeg", "auto"].includes(raw.f))
      throw bad(`"f" must be one of webp, png, jpeg, auto`);
    p.f = raw.f as ImageParams["f"];
  }
  if (raw.r !== undefined) p.r = raw.r === "full" ? "full" : int("r", raw.r, 0, MAX_SIDE);
  if (raw.b !== undefined) {
    const n = Number(raw.b);
    if (!/^\d{1,4}(\.\d{1,3})?$/.test(raw.b) || n < 0.3 || n > 1000)
      throw bad(`"b" must be a number between 0.3 and 1000`);
    p.b = n;
  }
  if (p.r === 0) p.r = null;
  return p;
}

/** The output format: explicit, or auto/unset from Accept and the source; never JPEG with rounding. */
export function resolveFormat(p: ImageParams, source: Format, accept: string | null): Format {
  const webpOk = /image\/webp/i.test(accept ?? "");
  let f: Format = p.f === "auto" ? (webpOk ? "webp" : source) : (p.f ?? source);
  if (p.r !== null && f === "jpeg") f = webpOk ? "webp" : "png";
  return f;
}

/** Whether the chosen format depends on the Accept header (so the response varies by it). */
export const variesByAccept = (p: ImageParams, source: Format) =>
  p.f === "auto" || (p.r !== null && (p.f === "jpeg" || (p.f === null && source === "jpeg")));

export interface Geometry {
  /** Output size. */
  width: number;
  height: number;
  /** Centred crop of the (upright) source, before scaling. */
  crop: { x: number; y: number; width: number; height: number };
}

/**
 * Output size and crop for an upright source of sw x sh. Heights and widths derived from the other
 * side are rounded to the nearest pixel (at least 1). The box is shrunk, keeping its aspect, until
 * it fits in the source: variants are never larger than their source.
 */
export function geometry(p: ImageParams, sw: number, sh: number): Geometry {
  let w = p.w;
  let h = p.h;
  if (w && h) {
    const k = Math.min(1, sw / w, sh / h);
    w = Math.max(1, Math.round(w * k));
    h = Math.max(1, Math.round(h * k));
  } else if (w) {
    w = Math.min(w, sw);
    h = Math.max(1, Math.round((sh * w) / sw));
  } else if (h) {
    h = Math.min(h, sh);
    w = Math.max(1, Math.round((sw * h) / sh));
  } else {
    w = sw;
    h = sh;
  }
  // Cover: the largest centred window of the output's aspect.
  let cw = sw;
  let ch = sh;
  if (sw * h > sh * w) cw = (sh * w) / h;
  else if (sw * h < sh * w) ch = (sw * h) / w;
  return { width: w, height: h, crop: { x: (sw - cw) / 2, y: (sh - ch) / 2, width: cw, height: ch } };
}

/** Canonical text of the parameters, part of a variant's identity. */
export function canonical(p: ImageParams, format: Format, geo: Geometry): string {
  return `f=${format}&w=${geo.width}&h=${geo.height}&q=${p.q ?? ""}&r=${p.r ?? ""}&b=${p.b ?? ""}`;
}
