/** api/hbp.txt, GET /storage/o/<path>?w&h&q&f&r&b: image variants, pixel-checked. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { decode, encode, type Format, type Pixels } from "../../../src/core/images/codecs";
import { probe } from "../../../src/core/images/probe";
import { variantsPrefix } from "../../../src/core/storage/storage.service";
import { activeUser, call, expectBoom, json, type Session } from "./helpers";
import { bytesOf, uploadOk } from "./storage.helpers";

const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];
const WHITE = [255, 255, 255];

/** Four flat quadrants: red | green over blue | white. */
function quadrants(width: number, height: number): Pixels {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const c = y < height / 2 ? (x < width / 2 ? RED : GREEN) : x < width / 2 ? BLUE : WHITE;
      data.set([...c, 255], (y * width + x) * 4);
    }
  return { data, width, height };
}

const image = (format: Format, w = 300, h = 200, q = 90) => encode(format, quadrants(w, h), q);

/** A JPEG with an EXIF APP1 segment carrying `orientation`, right after SOI. */
function withExif(jpeg: Uint8Array, orientation: number): Uint8Array {
  const app1 = Uint8Array.from([
    0xff,
    0xe1,
    0x00,
    0x22,
    ...[..."Exif\0\0"].map((c) => c.charCodeAt(0)),
    0x4d,
    0x4d,
    0x00,
    0x2a,
    0x00,
    0x00,
    0x00,
    0x08,
    0x00,
    0x01,
    0x01,
    0x12,
    0x00,
    0x03,
    0x00,
    0x00,
    0x00,
    0x01,
    0x00,
    orientation,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
  ]);
  const out = new Uint8Array(jpeg.length + app1.length);
  out.set(jpeg.subarray(0, 2));
  out.set(app1, 2);
  out.set(jpeg.subarray(2), 2 + app1.length);
  return out;
}

const px = (img: Pixels, x: number, y: number) =>
  Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));
const near = (a: number[], b: number[], tol = 24) => a.every((v, i) => Math.abs(v - b[i]!) <= tol);

async function put(u: Session, name: string, bytes: Uint8Array) {
  const path = `user/${u.userId}/img/${name}`;
  await uploadOk(path, bytes, u.jwt, name);
  return path;
}

async function variant(u: Session, path: string, query: string, headers: Record<string, string> = {}) {
  const res = await call(`/storage/o/${path}?${query}`, { token: u.jwt, headers });
  const body = await bytesOf(res);
  return { res, body, probe: probe(body) };
}

describe("image variants", () => {
  it("w keeps the aspect ratio (rounded), h likewise; the format stays the source's", async () => {
    const u = await activeUser();
    const path = await put(u, "a.png", await image("png"));
    const a = await variant(u, path, "w=100");
    expect(a.res.status).toBe(200);
    expect(a.res.headers.get("content-type")).toBe("image/png");
    expect(a.probe).toMatchObject({ format: "png", width: 100, height: 67 });
    const b = await variant(u, path, "h=50");
    expect(b.probe).toMatchObject({ width: 75, height: 50 });
    const img = await decode("png", a.body);
    expect(near(px(img, 10, 10), [...RED, 255])).toBe(true);
    expect(near(px(img, 90, 60), [...WHITE, 255])).toBe(true);
  });

  it("w and h together cover-crop from the centre", async () => {
    const u = await activeUser();
    const path = await put(u, "c.png", await image("png"));
    const sq = await variant(u, path, "w=100&h=100");
    expect(sq.probe).toMatchObject({ width: 100, height: 100 });
    const img = await decode("png", sq.body);
    expect(near(px(img, 5, 5), [...RED, 255])).toBe(true);
    expect(near(px(img, 95, 95), [...WHITE, 255])).toBe(true);
    expect((await variant(u, path, "w=300&h=200")).probe).toMatchObject({ width: 300, height: 200 });
    expect((await variant(u, path, "w=0&h=0&f=webp")).probe).toMatchObject({
      format: "webp",
      width: 300,
      height: 200,
    });
  });

  it("f converts between webp, png and jpeg; auto picks webp only when Accept allows it", async () => {
    const u = await activeUser();
    const path = await put(u, "f.jpg", await image("jpeg"));
    for (const f of ["webp", "png", "jpeg"] as const) {
      const v = await variant(u, path, `w=50&f=${f}`);
      expect(v.res.headers.get("content-type")).toBe(`image/${f}`);
      expect(v.probe?.format).toBe(f);
      expect(v.res.headers.get("vary")).toBeNull();
    }
    const auto = await variant(u, path, "w=50&f=auto", { accept: "image/avif,image/webp,*/*" });
    expect(auto.probe?.format).toBe("webp");
    expect(auto.res.headers.get("vary")).toBe("Accept");
    const plain = await variant(u, path, "w=50&f=auto", { accept: "image/png,*/*" });
    expect(plain.probe?.format).toBe("jpeg");
  });

  it("q changes the encoded size (jpeg and webp)", async () => {
    const u = await activeUser();
    const noisy = quadrants(256, 256);
    for (let i = 0; i < noisy.data.length; i += 4) noisy.data[i + 1] = (i * 2654435761) >>> 24;
    const path = await put(u, "q.png", await encode("png", noisy, 100));
    for (const f of ["jpeg", "webp"]) {
      const low = await variant(u, path, `f=${f}&q=10`);
      const high = await variant(u, path, `f=${f}&q=95`);
      expect(low.body.length, f).toBeLessThan(high.body.length * 0.6);
    }
  });

  it("b blurs: a hard edge becomes a gradient, wider with a larger sigma", async () => {
    const u = await activeUser();
    const path = await put(u, "b.png", await image("png", 200, 100));
    const sharp = await decode("png", (await variant(u, path, "w=200")).body);
    const soft = await decode("png", (await variant(u, path, "w=200&b=3")).body);
    const softer = await decode("png", (await variant(u, path, "w=200&b=10")).body);
    // Just left of the red|green edge at x=100 on row 25.
    expect(near(px(sharp, 98, 25), [...RED, 255], 2)).toBe(true);
    const g3 = px(soft, 98, 25)[1]!;
    const g10 = px(softer, 95, 25)[1]!;
    expect(g3).toBeGreaterThan(40);
    expect(g3).toBeLessThan(215);
    expect(g10).toBeGreaterThan(px(soft, 95, 25)[1]!);
    // Far from any edge nothing changes.
    expect(near(px(softer, 50, 25).slice(0, 3), RED, 30)).toBe(true);
  });

  it("r=full makes a transparent ellipse mask and never answers JPEG", async () => {
    const u = await activeUser();
    const path = await put(u, "r.jpg", await image("jpeg", 200, 200));
    const v = await variant(u, path, "w=100&r=full");
    expect(v.probe?.format).toBe("png");
    const img = await decode("png", v.body);
    expect(px(img, 0, 0)[3]).toBe(0);
    expect(px(img, 99, 99)[3]).toBe(0);
    expect(px(img, 50, 50)[3]).toBe(255);
    expect(px(img, 50, 1)[3]).toBeGreaterThan(200);
    const forced = await variant(u, path, "w=100&r=full&f=jpeg", { accept: "image/webp" });
    expect(forced.probe?.format).toBe("webp");
    expect(forced.res.headers.get("vary")).toBe("Accept");
    const webp = await decode("webp", forced.body);
    expect(px(webp, 0, 0)[3]).toBe(0);
  });

  it("r=<px> rounds only the corners", async () => {
    const u = await activeUser();
    const path = await put(u, "r.png", await image("png", 100, 100));
    const img = await decode("png", (await variant(u, path, "r=20")).body);
    expect(px(img, 0, 0)[3]).toBe(0);
    expect(px(img, 3, 3)[3]).toBe(0);
    expect(px(img, 20, 0)[3]).toBe(255);
    expect(px(img, 0, 50)[3]).toBe(255);
    expect(px(img, 99, 99)[3]).toBe(0);
  });

  it("applies EXIF orientation (6: rotate 90° clockwise)", async () => {
    const u = await activeUser();
    const path = await put(u, "exif6.jpg", withExif(await image("jpeg", 200, 150), 6));
    const v = await variant(u, path, "w=150&f=png");
    expect(v.probe).toMatchObject({ width: 150, height: 200 });
    const img = await decode("png", v.body);
    expect(near(px(img, 10, 10), [...BLUE, 255], 40)).toBe(true);
    expect(near(px(img, 140, 10), [...RED, 255], 40)).toBe(true);
    expect(near(px(img, 10, 190), [...WHITE, 255], 40)).toBe(true);
    expect(near(px(img, 140, 190), [...GREEN, 255], 40)).toBe(true);
    const v8 = await variant(
      u,
      await put(u, "exif8.jpg", withExif(await image("jpeg", 200, 150), 8)),
      "f=png",
    );
    const img8 = await decode("png", v8.body);
    expect([img8.width, img8.height]).toEqual([150, 200]);
    expect(near(px(img8, 10, 10), [...GREEN, 255], 40)).toBe(true);
  });

  it("400 with a message for every out-of-range parameter", async () => {
    const u = await activeUser();
    const path = await put(u, "v.png", await image("png", 10, 10));
    const cases: [string, string][] = [
      ["w=8193", '"w" must be an integer between 0 and 8192'],
      ["w=-1", '"w" must be an integer between 0 and 8192'],
      ["w=1.5", '"w" must be an integer between 0 and 8192'],
      ["h=abc", '"h" must be an integer between 0 and 8192'],
      ["q=0", '"q" must be an integer between 1 and 100'],
      ["q=101", '"q" must be an integer between 1 and 100'],
      ["f=gif", '"f" must be one of webp, png, jpeg, auto'],
      ["r=round", '"r" must be an integer between 0 and 8192'],
      ["b=0.2", '"b" must be a number between 0.3 and 1000'],
      ["b=1001", '"b" must be a number between 0.3 and 1000'],
      ["b=1e3", '"b" must be a number between 0.3 and 1000'],
      // A repeated parameter, even with an allowed value first.
      ["w=1&w=8192", '"w" must be given once'],
      ["w=8&h=8&h=8", '"h" must be given once'],
      ["f=png&f=webp", '"f" must be given once'],
    ];
    for (const [q, message] of cases)
      await expectBoom(await call(`/storage/o/${path}?${q}`, { token: u.jwt }), 400, message);
  });

  it("GIF and non-images are served as stored", async () => {
    const u = await activeUser();
    const gif = Uint8Array.from(atob("R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs="), (c) =>
      c.charCodeAt(0),
    );
    const path = await put(u, "g.gif", gif);
    const v = await variant(u, path, "w=10&f=webp");
    expect(v.res.headers.get("content-type")).toBe("image/gif");
    expect(v.body).toEqual(gif);
    const txt = await put(u, "t.txt", new TextEncoder().encode("text"));
    const t = await call(`/storage/o/${txt}?w=10`, { token: u.jwt });
    expect(await t.text()).toBe("text");
  });
});

describe("variant caching", () => {
  it("ETag from source + parameters: 304 without work; stored in R2 _variants/; new after overwrite", async () => {
    const u = await activeUser();
    const path = await put(u, "k.png", await image("png", 120, 80));
    const first = await variant(u, path, "w=60&f=webp");
    const etag = first.res.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(first.res.headers.get("cache-control")).toBe("private, no-store");
    const listed = await env.FILES.list({ prefix: await variantsPrefix(path) });
    expect(listed.objects.map((o) => o.key)).toEqual([`${await variantsPrefix(path)}${etag.slice(1, -1)}`]);
    const again = await variant(u, path, "w=60&f=webp");
    expect(again.res.headers.get("etag")).toBe(etag);
    expect(again.body).toEqual(first.body);
    const nm = await call(`/storage/o/${path}?w=60&f=webp`, {
      token: u.jwt,
      headers: { "if-none-match": etag },
    });
    expect(nm.status).toBe(304);
    expect((await variant(u, path, "w=61&f=webp")).res.headers.get("etag")).not.toBe(etag);
    // A cached variant is served from R2 when the Cache API misses.
    await caches.default.delete(`https://variants.invalid/${etag.slice(1, -1)}`);
    expect((await variant(u, path, "w=60&f=webp")).body).toEqual(first.body);
    // Overwriting the source changes every variant's identity and drops the old ones.
    await uploadOk(path, await image("png", 100, 100), u.jwt);
    const after = await variant(u, path, "w=60&f=webp");
    expect(after.res.headers.get("etag")).not.toBe(etag);
    expect(after.probe).toMatchObject({ width: 60, height: 60 });
    expect(await env.FILES.head(`${await variantsPrefix(path)}${etag.slice(1, -1)}`)).toBeNull();
  });
});

describe("image variants: security", () => {
  it("another user's image cannot be transformed; the file token can", async () => {
    const a = await activeUser();
    const b = await activeUser();
    const path = `user/${a.userId}/img/p.png`;
    const meta = await uploadOk(path, await image("png", 40, 40), a.jwt);
    await expectBoom(await call(`/storage/o/${path}?w=10`, { token: b.jwt }), 403, "Forbidden");
    await expectBoom(await call(`/storage/o/${path}?w=10`), 403, "Forbidden");
    const viaToken = await call(`/storage/o/${path}?w=10&token=${meta.Metadata.token}`);
    expect(viaToken.status).toBe(200);
    expect(probe(await bytesOf(viaToken))).toMatchObject({ width: 10, height: 10 });
    // Knowing a variant's ETag does not bypass the rules either.
    const etag = viaToken.headers.get("etag")!;
    const guess = await call(`/storage/o/${path}?w=10`, { token: b.jwt, headers: { "if-none-match": etag } });
    await expectBoom(guess, 403, "Forbidden");
  });

  it("422 when the requested output is larger than the source", async () => {
    const u = await activeUser();
    const path = await put(u, "small.png", await image("png"));
    for (const q of ["w=301", "h=201", "w=1000", "w=600&h=600", "w=8192&h=8192"]) {
      const res = await call(`/storage/o/${path}?${q}`, { token: u.jwt });
      expect(res.status, q).toBe(422);
      expect(await json(res)).toEqual({
        statusCode: 422,
        error: "Unprocessable Entity",
        message: "The requested size is larger than the source image.",
      });
    }
  });

  it("422 over the pixel cap, measured from the header before decoding", async () => {
    const u = await activeUser();
    const path = await put(u, "big.png", await image("png", 100, 100));
    const res = await call(`/storage/o/${path}?w=10`, { token: u.jwt, vars: { IMAGE_MAX_PIXELS: "9999" } });
    expect(res.status).toBe(422);
    expect(await json(res)).toEqual({
      statusCode: 422,
      error: "Unprocessable Entity",
      message: "The image is too large to transform.",
    });
  });

  it("20000x20000 PNG and JPEG bombs get 422 at once, and the next transform still works", async () => {
    const u = await activeUser();
    const png = await image("png", 16, 16);
    // IHDR width/height patched to 20000 (the CRC is not checked before the size is).
    const pngBomb = png.slice();
    new DataView(pngBomb.buffer).setUint32(16, 20000);
    new DataView(pngBomb.buffer).setUint32(20, 20000);
    const jpg = await image("jpeg", 16, 16);
    const jpgBomb = jpg.slice();
    for (let i = 2; i < jpgBomb.length - 9; i++) {
      if (jpgBomb[i] === 0xff && jpgBomb[i + 1] === 0xc0) {
        new DataView(jpgBomb.buffer).setUint16(i + 5, 20000);
        new DataView(jpgBomb.buffer).setUint16(i + 7, 20000);
        break;
      }
    }
    for (const [name, bytes] of [
      ["bomb.png", pngBomb],
      ["bomb.jpg", jpgBomb],
    ] as const) {
      const path = await put(u, name, bytes);
      const t0 = Date.now();
      const res = await call(`/storage/o/${path}?w=100`, { token: u.jwt });
      expect(res.status, name).toBe(422);
      expect((await json(res)).message).toBe("The image is too large to transform.");
      expect(Date.now() - t0).toBeLessThan(2000);
    }
    const ok = await put(u, "ok.png", png);
    expect((await call(`/storage/o/${ok}?w=8`, { token: u.jwt })).status).toBe(200);
  });

  it("truncated PNG and JPEG get 422, and the next transform still works", async () => {
    const u = await activeUser();
    for (const f of ["png", "jpeg"] as const) {
      const whole = await image(f, 256, 256);
      // Cut inside the pixel data, past every header and table.
      for (const cut of [0.6, 0.9]) {
        const path = await put(u, `trunc${cut}.${f}`, whole.slice(0, Math.floor(whole.length * cut)));
        const res = await call(`/storage/o/${path}?w=32`, { token: u.jwt });
        expect(res.status, `${f} ${cut}`).toBe(422);
        expect((await json(res)).message).toBe("The image cannot be decoded.");
      }
    }
    const ok = await put(u, "fine.jpg", await image("jpeg", 64, 64));
    const res = await call(`/storage/o/${ok}?w=32`, { token: u.jwt });
    expect(res.status).toBe(200);
    expect(probe(await bytesOf(res))).toMatchObject({ format: "jpeg", width: 32, height: 32 });
  });
});
