import { describe, expect, it } from "vitest";
import type { AuthError } from "../../src/core/errors";
import { createPasswordHasher } from "../../src/core/passwords/hasher";

const cheap = { logN: 10, r: 8, p: 1 };

describe("password hasher", () => {
  it("stores scrypt PHC strings with a random salt and verifies them", async () => {
    const h = createPasswordHasher(cheap, 8);
    const a = await h.hash("correct horse battery");
    const b = await h.hash("correct horse battery");
    expect(a).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(await h.verify("correct horse battery", a)).toEqual({ ok: true, needsRehash: false });
    expect(await h.verify("correct horse batterY", a)).toEqual({ ok: false, needsRehash: false });
  });

  it("hashes the NFKC form, so composed and decomposed input match", async () => {
    const h = createPasswordHasher(cheap, 8);
    const stored = await h.hash("caf\u00e9-password");
    expect((await h.verify("cafe\u0301-password", stored)).ok).toBe(true);
  });

  it("asks for a rehash when the stored parameters differ from the current ones", async () => {
    const old = await createPasswordHasher({ logN: 10, r: 8, p: 2 }, 8).hash("pw-12345678");
    const now = createPasswordHasher(cheap, 8);
    expect(await now.verify("pw-12345678", old)).toEqual({ ok: true, needsRehash: true });
    expect(await now.verify("wrong-pass", old)).toEqual({ ok: false, needsRehash: false });
  });

  it("never accepts a malformed or foreign hash", async () => {
    const h = createPasswordHasher(cheap, 8);
    for (const phc of ["", "plaintext", "$2b$10$abcdefghijklmnopqrstuv", "$scrypt$ln=40,r=8,p=1$AAAA$AAAA"]) {
      expect((await h.verify("anything", phc)).ok).toBe(false);
    }
  });

  it("refuses new work with BUSY when too many hashes wait in the isolate", async () => {
    const h = createPasswordHasher(cheap, 2);
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => h.hash("pw-12345678")));
    const busy = results.filter((r) => r.status === "rejected");
    expect(results.filter((r) => r.status === "fulfilled").length).toBeGreaterThanOrEqual(2);
    for (const r of busy) expect(((r as PromiseRejectedResult).reason as AuthError).code).toBe("BUSY");
  });

  it("a hash waits while credential requests keep arriving (a flood is answered first), at most ~250 ms", async () => {
    const h = createPasswordHasher(cheap, 100);
    const quiet = Date.now();
    await h.hash("pw-12345678");
    const alone = Date.now() - quiet;
    let stop = false;
    const flood = (async () => {
      while (!stop) {
        h.noteArrival();
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const t = Date.now();
    await h.hash("pw-12345678");
    const waited = Date.now() - t;
    stop = true;
    await flood;
    expect(waited).toBeGreaterThanOrEqual(200);
    expect(waited).toBeLessThan(alone + 1000);
  });
});
