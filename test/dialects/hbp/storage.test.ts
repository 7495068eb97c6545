/** api/hbp.txt, Storage: every route and its headers (contract). Security cases: storage.security.test.ts. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { variantsPrefix } from "../../../src/core/storage/storage.service";
import { activeUser, call, expectBoom, json } from "./helpers";
import { bytesOf, PNG_1PX, text, unzip, upload, uploadOk } from "./storage.helpers";

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe("POST /storage/o/<path>", () => {
  it("stores the multipart field `file` and answers the metadata object", async () => {
    const u = await activeUser();
    const res = await upload(`user/${u.userId}/notes/a.txt`, "hello world", { token: u.jwt, name: "a.txt" });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      key: `user/${u.userId}/notes/a.txt`,
      AcceptRanges: "bytes",
      LastModified: expect.stringMatching(ISO),
      ContentLength: 11,
      ETag: expect.stringMatching(/^"[0-9a-f-]+"$/),
      ContentType: "text/plain; charset=utf-8",
      Metadata: { token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) },
    });
    const obj = await env.FILES.get(`user/${u.userId}/notes/a.txt`);
    expect(await obj!.text()).toBe("hello world");
  });

  it("accepts the documented trailing slash as naming the same file", async () => {
    const u = await activeUser();
    const body = await json(await upload(`user/${u.userId}/b.txt/`, "x", { token: u.jwt }));
    expect(body.key).toBe(`user/${u.userId}/b.txt`);
  });

  it("decides the Content-Type from the bytes, not from the client", async () => {
    const u = await activeUser();
    const png = await uploadOk(`user/${u.userId}/p.html`, PNG_1PX, u.jwt, "p.html", "text/html");
    expect(png.ContentType).toBe("image/png");
    const html = await uploadOk(
      `user/${u.userId}/h.png`,
      "<!DOCTYPE html><script>1</script>",
      u.jwt,
      "h.png",
      "image/png",
    );
    expect(html.ContentType).toBe("text/html");
    const bin = await uploadOk(`user/${u.userId}/b`, new Uint8Array([0, 1, 2, 3, 250]), u.jwt);
    expect(bin.ContentType).toBe("application/octet-stream");
  });

  it("overwrites: new bytes, new ETag and token", async () => {
    const u = await activeUser();
    const path = `user/${u.userId}/over.txt`;
    const first = await uploadOk(path, "one", u.jwt);
    const second = await uploadOk(path, "second", u.jwt);
    expect(second.ETag).not.toBe(first.ETag);
    expect(second.Metadata.token).not.toBe(first.Metadata.token);
    const res = await call(`/storage/o/${path}`, { token: u.jwt });
    expect(await res.text()).toBe("second");
  });

  it("streams files larger than one R2 part through a multipart upload", async () => {
    const u = await activeUser();
    const size = 11 * 1024 * 1024 + 123;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >> 13)) & 0xff;
    const meta = await uploadOk(`user/${u.userId}/big.bin`, data, u.jwt);
    expect(meta.ContentLength).toBe(size);
    expect(meta.ETag).toMatch(/-3"$/); // three parts
    const got = await bytesOf(await call(`/storage/o/user/${u.userId}/big.bin`, { token: u.jwt }));
    expect(got.length).toBe(size);
    expect(got.every((v, i) => v === data[i])).toBe(true);
  });

  // compat(hbp): HBP answered an upload with no file attached 400 (storage.test.ts "without a file attached").
  it("400 for a request with no file attached: no body, or a body that is not multipart/form-data", async () => {
    const u = await activeUser();
    const message = 'Send multipart/form-data with a "file" field.';
    const path = `/storage/o/user/${u.userId}/x.txt`;
    await expectBoom(await call(path, { json: { file: "x" }, token: u.jwt }), 400, message);
    await expectBoom(await call(path, { method: "POST", token: u.jwt }), 400, message);
    await uploadOk(`user/${u.userId}/x.txt`, "x", u.jwt);
    await expectBoom(await call(path, { method: "POST", token: u.jwt }), 400, message);
  });

  it('400 when the multipart body has no "file" field', async () => {
    const u = await activeUser();
    const form = new FormData();
    form.append("other", "value");
    const res = await call(`/storage/o/user/${u.userId}/x.txt`, { method: "POST", body: form, token: u.jwt });
    await expectBoom(res, 400, 'The multipart body has no "file" field.');
  });

  it("skips fields before `file`", async () => {
    const u = await activeUser();
    const form = new FormData();
    form.append("meta", "x".repeat(5000));
    form.append("file", new File(["after"], "f.txt"));
    const res = await call(`/storage/o/user/${u.userId}/after.txt`, {
      method: "POST",
      body: form,
      token: u.jwt,
    });
    expect((await json(res)).ContentLength).toBe(5);
  });

  it("403 without a bearer token, as HBP", async () => {
    const u = await activeUser();
    await expectBoom(await upload(`user/${u.userId}/x.txt`, "x"), 403, "Forbidden");
  });

  it("404 for a directory path without a file name, as HBP had no upload route there", async () => {
    const u = await activeUser();
    await expectBoom(await upload(`user/${u.userId}/`, "x", { token: u.jwt }), 404, "Not Found");
    await expectBoom(await upload(`user/${u.userId}`, "x", { token: u.jwt }), 404, "Not Found");
    await expectBoom(await upload("user/", "x", { token: u.jwt }), 404, "Not Found");
    await expectBoom(await upload("", "x", { token: u.jwt }), 404, "Not Found");
    // Another user's directory: the same 404 (it depends on the rules alone, not on the caller).
    await expectBoom(await upload(`user/${crypto.randomUUID()}/`, "x", { token: u.jwt }), 404, "Not Found");
    // A path no rule knows at all stays a 403.
    await expectBoom(await upload("elsewhere/x.txt", "x", { token: u.jwt }), 403, "Forbidden");
  });

  it("public/** is writable by any signed-in user", async () => {
    const u = await activeUser();
    const meta = await uploadOk(`public/${crypto.randomUUID()}/hello.txt`, "hi", u.jwt);
    expect(meta.ContentLength).toBe(2);
  });
});

describe("GET /storage/o/<path>", () => {
  it("answers the bytes with validators, length and private caching", async () => {
    const u = await activeUser();
    const meta = await uploadOk(`user/${u.userId}/doc.txt`, "0123456789", u.jwt);
    const res = await call(`/storage/o/user/${u.userId}/doc.txt`, { token: u.jwt });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("0123456789");
    expect(Object.fromEntries(res.headers)).toMatchObject({
      "content-type": "text/plain; charset=utf-8",
      "content-length": "10",
      etag: meta.ETag,
      "last-modified": new Date(meta.LastModified).toUTCString(),
      "accept-ranges": "bytes",
      "cache-control": "private, no-store",
      "x-content-type-options": "nosniff",
      "content-disposition": `inline; filename="doc.txt"; filename*=UTF-8''doc.txt`,
    });
    expect(res.headers.get("content-security-policy")).toBeNull();
  });

  it("If-None-Match with the ETag answers 304 without a body", async () => {
    const u = await activeUser();
    const meta = await uploadOk(`user/${u.userId}/c.txt`, "cached", u.jwt);
    const res = await call(`/storage/o/user/${u.userId}/c.txt`, {
      token: u.jwt,
      headers: { "if-none-match": `"other", ${meta.ETag}` },
    });
    expect(res.status).toBe(304);
    expect(res.headers.get("etag")).toBe(meta.ETag);
    expect(await res.text()).toBe("");
    const miss = await call(`/storage/o/user/${u.userId}/c.txt`, {
      token: u.jwt,
      headers: { "if-none-match": '"x"' },
    });
    expect(miss.status).toBe(200);
  });

  it("If-Modified-Since answers 304 when not modified since", async () => {
    const u = await activeUser();
    await uploadOk(`user/${u.userId}/m.txt`, "m", u.jwt);
    const later = new Date(Date.now() + 60_000).toUTCString();
    const res = await call(`/storage/o/user/${u.userId}/m.txt`, {
      token: u.jwt,
      headers: { "if-modified-since": later },
    });
    expect(res.status).toBe(304);
    const earlier = new Date(Date.now() - 3_600_000).toUTCString();
    const res2 = await call(`/storage/o/user/${u.userId}/m.txt`, {
      token: u.jwt,
      headers: { "if-modified-since": earlier },
    });
    expect(res2.status).toBe(200);
  });

  it("Range answers 206 with Content-Range; suffix and open ranges; 416 past the end", async () => {
    const u = await activeUser();
    const meta = await uploadOk(`user/${u.userId}/r.txt`, "0123456789", u.jwt);
    const get = (range: string, extra: Record<string, string> = {}) =>
      call(`/storage/o/user/${u.userId}/r.txt`, { token: u.jwt, headers: { range, ...extra } });
    let res = await get("bytes=2-5");
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe("bytes 2-5/10");
    expect(res.headers.get("content-length")).toBe("4");
    expect(await res.text()).toBe("2345");
    res = await get("bytes=-3");
    expect([res.status, res.headers.get("content-range"), await res.text()]).toEqual([
      206,
      "bytes 7-9/10",
      "789",
    ]);
    res = await get("bytes=8-");
    expect([res.status, await res.text()]).toEqual([206, "89"]);
    res = await get("bytes=5-100");
    expect([res.status, res.headers.get("content-range"), await res.text()]).toEqual([
      206,
      "bytes 5-9/10",
      "56789",
    ]);
    res = await get("bytes=10-");
    expect([res.status, res.headers.get("content-range")]).toEqual([416, "bytes */10"]);
    // If-Range that no longer matches: the whole file.
    res = await get("bytes=0-1", { "if-range": '"stale"' });
    expect([res.status, await res.text()]).toEqual([200, "0123456789"]);
    res = await get("bytes=0-1", { "if-range": meta.ETag });
    expect([res.status, await res.text()]).toEqual([206, "01"]);
    // Several ranges are not supported: the whole file (allowed by RFC 9110).
    res = await get("bytes=0-1,3-4");
    expect(res.status).toBe(200);
  });

  it("?token=<Metadata.token> grants read without a bearer token", async () => {
    const u = await activeUser();
    const meta = await uploadOk(`user/${u.userId}/shared.txt`, "via token", u.jwt);
    const res = await call(`/storage/o/user/${u.userId}/shared.txt?token=${meta.Metadata.token}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("via token");
    expect(res.headers.get("cache-control")).toBe("private, no-store");
  });

  it("public/** files are readable by anyone and cacheable with revalidation", async () => {
    const u = await activeUser();
    const path = `public/${crypto.randomUUID()}/p.png`;
    await uploadOk(path, PNG_1PX, u.jwt);
    const res = await call(`/storage/o/${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("cache-control")).toBe("public, no-cache");
    expect(await bytesOf(res)).toEqual(PNG_1PX);
  });

  it("serves HTML, SVG, XML and JavaScript as sandboxed attachments", async () => {
    const u = await activeUser();
    const cases: [string, string, string][] = [
      ["page.html", "<html><script>alert(1)</script></html>", "text/html"],
      ["pic.svg", '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml"],
      ["data.xml", '<?xml version="1.0"?><a/>', "application/xml"],
      ["app.js", "alert(document.cookie)", "text/javascript"],
    ];
    for (const [name, body, type] of cases) {
      await uploadOk(`user/${u.userId}/${name}`, body, u.jwt, name, "text/plain");
      const res = await call(`/storage/o/user/${u.userId}/${name}`, { token: u.jwt });
      expect(res.headers.get("content-type"), name).toBe(type);
      expect(res.headers.get("content-disposition")).toBe(
        `attachment; filename="${name}"; filename*=UTF-8''${name}`,
      );
      expect(res.headers.get("content-security-policy")).toMatch(/^sandbox; default-src 'none'/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  it("names non-ASCII files with RFC 8187 in Content-Disposition", async () => {
    const u = await activeUser();
    await uploadOk(`user/${u.userId}/${encodeURIComponent("résumé ü.txt")}`, "cv", u.jwt);
    const res = await call(`/storage/o/user/${u.userId}/${encodeURIComponent("résumé ü.txt")}`, {
      token: u.jwt,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toBe(
      `inline; filename="r_sum_ _.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%C3%BC.txt`,
    );
  });

  it("HEAD answers the headers without the body", async () => {
    const u = await activeUser();
    const meta = await uploadOk(`user/${u.userId}/head.txt`, "12345", u.jwt);
    const res = await call(`/storage/o/user/${u.userId}/head.txt`, { method: "HEAD", token: u.jwt });
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(meta.ETag);
    expect(res.headers.get("content-length")).toBe("5");
    expect(await res.text()).toBe("");
  });

  it("404 for a missing file the caller could read", async () => {
    const u = await activeUser();
    await expectBoom(await call(`/storage/o/user/${u.userId}/nope.txt`, { token: u.jwt }), 404, "Not Found");
  });
});

describe("GET /storage/m/<path>", () => {
  it("answers the same metadata object as the upload", async () => {
    const u = await activeUser();
    const meta = await uploadOk(`user/${u.userId}/m.png`, PNG_1PX, u.jwt);
    const res = await call(`/storage/m/user/${u.userId}/m.png`, { token: u.jwt });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual(meta);
    const viaToken = await call(`/storage/m/user/${u.userId}/m.png?token=${meta.Metadata.token}`);
    expect(await json(viaToken)).toEqual(meta);
  });

  it("with a trailing slash lists every file below the directory", async () => {
    const u = await activeUser();
    const a = await uploadOk(`user/${u.userId}/d/a.txt`, "a", u.jwt);
    const b = await uploadOk(`user/${u.userId}/d/sub/b.txt`, "bb", u.jwt);
    await uploadOk(`user/${u.userId}/other.txt`, "o", u.jwt);
    const res = await call(`/storage/m/user/${u.userId}/d/`, { token: u.jwt });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual([a, b]);
    const empty = await call(`/storage/m/user/${u.userId}/none/`, { token: u.jwt });
    expect(await json(empty)).toEqual([]);
  });

  it("404 for a missing file", async () => {
    const u = await activeUser();
    await expectBoom(await call(`/storage/m/user/${u.userId}/x`, { token: u.jwt }), 404, "Not Found");
  });
});

describe("GET /storage/o/<dir>/ (zip)", () => {
  it("streams a zip of every file below the directory, names relative to it", async () => {
    const u = await activeUser();
    await uploadOk(`user/${u.userId}/album/one.txt`, "first", u.jwt);
    await uploadOk(`user/${u.userId}/album/deep/two.txt`, "second", u.jwt);
    await uploadOk(`user/${u.userId}/albumx.txt`, "not below", u.jwt);
    const res = await call(`/storage/o/user/${u.userId}/album/`, { token: u.jwt });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    expect(res.headers.get("content-disposition")).toBe(
      `attachment; filename="album.zip"; filename*=UTF-8''album.zip`,
    );
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(await unzip(res)).toEqual({ "one.txt": "first", "deep/two.txt": "second" });
  });

  it("zips binary content byte for byte", async () => {
    const u = await activeUser();
    const data = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
    await uploadOk(`user/${u.userId}/bin/d.bin`, data, u.jwt);
    const res = await call(`/storage/o/user/${u.userId}/bin/`, { token: u.jwt });
    const { unzipSync } = await import("fflate");
    expect(unzipSync(await bytesOf(res))["d.bin"]).toEqual(data);
  });

  it("keeps UTF-8 names and empty files", async () => {
    const u = await activeUser();
    await uploadOk(`user/${u.userId}/names/${encodeURIComponent("résumé 日本.txt")}`, "cv", u.jwt);
    await uploadOk(`user/${u.userId}/names/empty.txt`, "", u.jwt);
    const res = await call(`/storage/o/user/${u.userId}/names/`, { token: u.jwt });
    expect(await unzip(res)).toEqual({ "empty.txt": "", "résumé 日本.txt": "cv" });
  });

  // compat(hbp): HBP zipped whatever the listing held, an empty directory included.
  it("200 with an empty archive for a directory with no readable file", async () => {
    const u = await activeUser();
    const res = await call(`/storage/o/user/${u.userId}/empty/`, { token: u.jwt });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    const bytes = new Uint8Array(await res.arrayBuffer());
    // Only the end-of-central-directory record: 22 bytes, signature PK\x05\x06.
    expect(bytes.length).toBe(22);
    expect([...bytes.slice(0, 4)]).toEqual([0x50, 0x4b, 0x05, 0x06]);
  });

  it("413 above the entry or byte limits, before any byte is sent", async () => {
    const u = await activeUser();
    for (const n of [1, 2, 3]) await uploadOk(`user/${u.userId}/many/${n}.txt`, "12345", u.jwt);
    const tooMany = await call(`/storage/o/user/${u.userId}/many/`, {
      token: u.jwt,
      vars: { STORAGE_ZIP_MAX_ENTRIES: "2" },
    });
    await expectBoom(tooMany, 413, "The directory has more than 2 files.");
    const tooBig = await call(`/storage/o/user/${u.userId}/many/`, {
      token: u.jwt,
      vars: { STORAGE_ZIP_MAX_BYTES: "14" },
    });
    await expectBoom(tooBig, 413, "The directory holds more than 14 bytes.");
  });
});

describe("DELETE /storage/o/<path>", () => {
  it("answers 204 and removes the file, its metadata and its variants", async () => {
    const u = await activeUser();
    const key = `user/${u.userId}/gone.png`;
    await uploadOk(key, PNG_1PX, u.jwt);
    const variant = `${await variantsPrefix(key)}abc`;
    await env.FILES.put(variant, text("variant"));
    const res = await call(`/storage/o/${key}`, { method: "DELETE", token: u.jwt });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    await expectBoom(await call(`/storage/o/${key}`, { token: u.jwt }), 404, "Not Found");
    await expectBoom(await call(`/storage/m/${key}`, { token: u.jwt }), 404, "Not Found");
    expect(await env.FILES.head(key)).toBeNull();
    expect(await env.FILES.head(variant)).toBeNull();
  });

  it("404 for a missing file", async () => {
    const u = await activeUser();
    await expectBoom(
      await call(`/storage/o/user/${u.userId}/x`, { method: "DELETE", token: u.jwt }),
      404,
      "Not Found",
    );
  });
});

describe("other methods", () => {
  it("404 in Boom form", async () => {
    await expectBoom(await call("/storage/x/y", { method: "GET" }), 404, "Not Found");
    await expectBoom(await call("/storage/o/a", { method: "PUT", body: "x" }), 404, "Not Found");
  });
});
