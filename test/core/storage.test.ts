/** Core storage units: key normalisation, rule matching, sniffing, the streaming multipart reader. */
import { describe, expect, it } from "vitest";
import { AuthError } from "../../src/core/errors";
import { normaliseKey } from "../../src/core/storage/keys";
import { readFilePart } from "../../src/core/storage/multipart";
import {
  compileRules,
  DEFAULT_STORAGE_RULES,
  decide,
  ownedPaths,
  ownerOf,
} from "../../src/core/storage/rules";
import { parseRange } from "../../src/core/storage/serve";
import { sniffContentType } from "../../src/core/storage/sniff";

const invalid = (raw: string, kind: "file" | "dir" = "file") => {
  try {
    normaliseKey(raw, kind);
  } catch (e) {
    return e instanceof AuthError && e.code === "INVALID_REQUEST";
  }
  return false;
};

describe("normaliseKey", () => {
  it("decodes, strips leading slashes and NFC-normalises", () => {
    expect(normaliseKey("/user/a/b%20c.txt", "file")).toBe("user/a/b c.txt");
    expect(normaliseKey("user/a/cafe\u0301", "file")).toBe("user/a/caf\u00e9");
    expect(normaliseKey("user/a", "dir")).toBe("user/a/");
    expect(normaliseKey("user/a/", "dir")).toBe("user/a/");
    expect(normaliseKey("", "dir")).toBe("");
  });

  it("refuses traversal and ambiguity in every spelling", () => {
    for (const raw of [
      "user/a/../b/x",
      "user/a/./x",
      "user/a/%2e%2e/b",
      "user/a/.%2E/b",
      "user/a/%2e/b",
      "user/a%2fb",
      "user/a%2Fb",
      "user/a\\..\\b",
      "user/a%5cb",
      "user/a%00b",
      "user/a\u0000b",
      "user/a%0ab",
      "user//a",
      "user/a/",
      "",
      "user/%zz",
      "user/%c3",
      "_variants/x/y",
      `user/${"x".repeat(256)}`,
      Array.from({ length: 6 }, () => "y".repeat(200)).join("/"),
    ]) {
      expect(invalid(raw), JSON.stringify(raw)).toBe(true);
    }
    expect(invalid("user/../", "dir")).toBe(true);
  });
});

describe("rules", () => {
  const rules = compileRules(DEFAULT_STORAGE_RULES);
  const alice = { userId: "alice", roles: ["user"] };

  it("default: owner reads and writes user/{userId}/**, others need the token", () => {
    expect(decide(rules, "read", "user/alice/x", alice)).toBe("allow");
    expect(decide(rules, "write", "user/alice/a/b/c", alice)).toBe("allow");
    expect(decide(rules, "read", "user/bob/x", alice)).toBe("token");
    expect(decide(rules, "write", "user/bob/x", alice)).toBe("deny");
    expect(decide(rules, "read", "user/alice/x", null)).toBe("token");
    // `**` needs at least one segment below the user's directory.
    expect(decide(rules, "write", "user/alice", alice)).toBe("deny");
  });

  it("default: public/** readable by anyone, writable when signed in; anything else closed", () => {
    expect(decide(rules, "read", "public/x", null)).toBe("allow");
    expect(decide(rules, "write", "public/x", null)).toBe("deny");
    expect(decide(rules, "write", "public/x", alice)).toBe("allow");
    expect(decide(rules, "read", "other/x", alice)).toBe("deny");
  });

  it("first match wins; owner:<param>; role:<name>", () => {
    const r = compileRules([
      { path: "a/{owner}/*", read: ["owner:owner"], write: [] },
      { path: "a/**", read: ["role:admin"], write: ["role:admin"] },
    ]);
    expect(decide(r, "read", "a/alice/f", alice)).toBe("allow");
    expect(decide(r, "read", "a/bob/f", alice)).toBe("deny");
    expect(decide(r, "read", "a/bob/f", { userId: "x", roles: ["admin"] })).toBe("deny");
    expect(decide(r, "read", "a/bob/f/g", { userId: "x", roles: ["admin"] })).toBe("allow");
  });

  it("rejects malformed rule lists", () => {
    expect(() => compileRules([{ path: "a/**/b", read: [], write: [] }])).toThrow("** must come last");
    expect(() => compileRules([{ path: "a/*", read: ["owner"], write: [] }])).toThrow("{userId}");
    expect(() => compileRules([{ path: "a/*", read: [], write: ["token"] }])).toThrow("read only");
    expect(() => compileRules([{ path: "a/x*", read: [], write: [] }])).toThrow("literal");
    expect(() => compileRules([{ path: "a", read: ["magic"], write: [] }])).toThrow("unknown condition");
    expect(() => compileRules({})).toThrow();
  });
});

describe("sniffContentType", () => {
  const t = (s: string) => new TextEncoder().encode(s);
  it("recognises binary signatures and ignores the declared type", () => {
    expect(sniffContentType(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0), { type: "text/html" })).toBe("image/jpeg");
    expect(sniffContentType(t("GIF89a...."))).toBe("image/gif");
    expect(sniffContentType(t("RIFF\0\0\0\0WEBPVP8 "))).toBe("image/webp");
    expect(sniffContentType(t("%PDF-1.7"))).toBe("application/pdf");
    expect(sniffContentType(Uint8Array.of(0x50, 0x4b, 3, 4))).toBe("application/zip");
    expect(sniffContentType(new Uint8Array(0))).toBe("application/octet-stream");
  });
  it("marks markup as risky types, whatever it claims to be", () => {
    expect(sniffContentType(t("\uFEFF  <!doctype html><p>"), { type: "image/png" })).toBe("text/html");
    expect(sniffContentType(t('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBe(
      "image/svg+xml",
    );
    expect(sniffContentType(t("<svg onload=alert(1)>"))).toBe("image/svg+xml");
    expect(sniffContentType(t('<?xml version="1.0"?><feed/>'))).toBe("application/xml");
    expect(sniffContentType(t("<div>hi</div>"))).toBe("text/html");
  });
  it("text is plain unless the name or type says JavaScript, CSV or JSON", () => {
    expect(sniffContentType(t("hello"))).toBe("text/plain; charset=utf-8");
    expect(sniffContentType(t("alert(1)"), { name: "a.mjs" })).toBe("text/javascript");
    expect(sniffContentType(t("alert(1)"), { type: "application/javascript" })).toBe("text/javascript");
    expect(sniffContentType(t('{"a":1}'), { type: "application/json" })).toBe("application/json");
    expect(sniffContentType(t("a,b\n1,2"), { name: "x.csv" })).toBe("text/csv; charset=utf-8");
    // A multi-byte character cut by the sniff window is still text.
    expect(sniffContentType(t("ab\u00e9").subarray(0, 3))).toBe("text/plain; charset=utf-8");
  });
});

describe("readFilePart", () => {
  const enc = new TextEncoder();
  const body = (s: string, chunk: number) => {
    const bytes = enc.encode(s);
    return new ReadableStream<Uint8Array>({
      start(ctl) {
        for (let i = 0; i < bytes.length; i += chunk) ctl.enqueue(bytes.slice(i, i + chunk));
        ctl.close();
      },
    });
  };
  const payload = "line1\r\n--notquite\r\n-- boundar\r\nend";
  const form = [
    "preamble\r\n--XyZ\r\n",
    'Content-Disposition: form-data; name="other"\r\n\r\nskip me\r\n--XyZ\r\n',
    'Content-Disposition: form-data; name="file"; filename="f.txt"\r\nContent-Type: text/plain\r\n\r\n',
    payload,
    "\r\n--XyZ--\r\n",
  ].join("");

  it("yields exactly the file's bytes whatever the chunking", async () => {
    for (const size of [1, 2, 3, 5, 7, 13, 64, 4096]) {
      const part = await readFilePart(body(form, size), "XyZ");
      expect(part.filename).toBe("f.txt");
      expect(part.contentType).toBe("text/plain");
      let out = "";
      const dec = new TextDecoder();
      for await (const c of part.chunks) out += dec.decode(c, { stream: true });
      expect(out, `chunk ${size}`).toBe(payload);
    }
  });

  it("refuses a body that ends early or lacks the field", async () => {
    const truncated = await readFilePart(body(form.slice(0, -12), 8), "XyZ");
    await expect(async () => {
      for await (const _ of truncated.chunks);
    }).rejects.toThrow("ended early");
    await expect(readFilePart(body("--XyZ--\r\n", 4), "XyZ")).rejects.toThrow('no "file" field');
  });
});

describe("parseRange", () => {
  const file = { key: "k", size: 10, etag: '"e"', uploaded: new Date(0), contentType: "x" };
  const r = (range: string) => parseRange(new Headers({ range }), file);
  it("parses single ranges and falls back to the whole file otherwise", () => {
    expect(r("bytes=0-0")).toEqual({ offset: 0, length: 1 });
    expect(r("bytes=-20")).toEqual({ offset: 0, length: 10 });
    expect(r("bytes=-0")).toBe("unsatisfiable");
    expect(r("bytes=5-2")).toBeNull();
    expect(r("items=0-1")).toBeNull();
    expect(r("bytes=-")).toBeNull();
  });
});

describe("the files of a user under the rules", () => {
  const rules = compileRules([
    { path: "user/{userId}/**", read: ["owner", "token"], write: ["owner"] },
    { path: "avatars/{uid}", read: ["public"], write: ["owner:uid"] },
    { path: "teams/*/{userId}/**", read: ["owner"], write: ["owner"] },
    { path: "public/**", read: ["public"], write: ["authenticated"] },
  ]);
  it("ownedPaths: the owner's directories and exact keys; patterns with * before the owner are skipped", () => {
    expect(ownedPaths(rules, "u1")).toEqual({ prefixes: ["user/u1/"], keys: ["avatars/u1"] });
  });
  it("ownerOf: the owner parameter of the deciding rule", () => {
    expect(ownerOf(rules, "user/u1/a/b.txt")).toBe("u1");
    expect(ownerOf(rules, "avatars/u2")).toBe("u2");
    expect(ownerOf(rules, "public/x.txt")).toBeNull();
    expect(ownerOf(rules, "other/x.txt")).toBeNull();
  });
});
