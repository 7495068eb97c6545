/**
 * Imported password hashes against published test vectors: bcrypt (OpenBSD/jBCrypt suite, PHP
 * manual), argon2id (the reference implementation's test.c), PBKDF2-SHA256 (RFC 7914 §11,
 * passlib's test_handlers_pbkdf2, Django's test_hashers) and Firebase's scrypt (firebase/scrypt
 * README). Each is verified through the password hasher, as a login does.
 */
import { describe, expect, it } from "vitest";
import { FOREIGN_MARKER, ForeignHashError, importHash, pbkdf2Sha256 } from "../../src/core/passwords/foreign";
import { createPasswordHasher } from "../../src/core/passwords/hasher";

const hasher = createPasswordHasher({ logN: 10, r: 8, p: 1 }, 8);
const verify = (password: string, input: Parameters<typeof importHash>[0]) =>
  hasher.verify(password, importHash(input));

async function expectVector(password: string, input: Parameters<typeof importHash>[0]) {
  expect(await verify(password, input)).toEqual({ ok: true, needsRehash: true });
  expect(await verify(`${password}x`, input)).toEqual({ ok: false, needsRehash: false });
}

describe("bcrypt", () => {
  // OpenBSD / jBCrypt test vectors.
  const vectors: [string, string][] = [
    ["", "$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s."],
    ["a", "$2a$06$m0CrhHm10qJ3lXRY.5zDGO3rS2KdeeWLuGmsfGlMfOxih58VYVfxe"],
    ["abc", "$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i"],
    ["abcdefghijklmnopqrstuvwxyz", "$2a$06$.rCVZVOThsIa97pEDOxvGuRRgzG64bvtJ0938xuqzv18d3ZpQhstC"],
    ["~!@#$%^&*()      ~!@#$%^&*()PNBFRD", "$2a$06$fPIsBO8qRqkjj273rfaOI.HtSV9jLDpTbZn782DC6/t7qT67P6FfO"],
    ["a", "$2a$10$k87L/MF28Q673VKh8/cPi.SUl7MU/rWuSiIDDFayrKk/1tBsSQu4u"],
    ["U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"],
  ];
  for (const [password, hash] of vectors) {
    it(`verifies ${hash.slice(0, 7)} "${password}"`, () => expectVector(password, hash));
  }

  it("verifies $2y$ (PHP's password_hash, from the PHP manual) and $2b$", async () => {
    await expectVector("rasmuslerdorf", "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a");
    // $2b$ only differs from $2a$ for passwords of 256 bytes or more.
    await expectVector("abc", "$2b$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i");
  });

  it("ignores what follows the 72nd byte, as every bcrypt does", async () => {
    const long = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const hash = "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui";
    expect((await verify(`${long}chars after 72 are ignored`, hash)).ok).toBe(true);
    expect((await verify(long.slice(0, 71), hash)).ok).toBe(false);
  });
});

describe("argon2id", () => {
  // phc-winner-argon2 src/test.c (password "password", salt "somesalt").
  it("verifies m=256,t=2,p=1", () =>
    expectVector(
      "password",
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
    ));
  it("verifies m=256,t=2,p=2 (two lanes)", () =>
    expectVector(
      "password",
      "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc",
    ));
  it("verifies m=65536,t=2,p=1 (64 MiB, the largest memory accepted)", async () => {
    const hash = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    expect(await verify("password", hash)).toEqual({ ok: true, needsRehash: true });
  });
});

describe("PBKDF2-SHA256", () => {
  it("verifies RFC 7914 §11 (Password / NaCl, 80,000 iterations, 64 bytes) in PHC form", () =>
    expectVector(
      "Password",
      "$pbkdf2-sha256$i=80000,l=64$TmFDbA$TdzY9guYviGDDO5e8icB+WQaRBjQTAQUrv8Ih2s0q1ah1CWhIlgzVJrbhBtRybMXaicr3ruh0HhHj2Kzl/M8jQ",
    ));
  it("verifies passlib's form", async () => {
    await expectVector(
      "password",
      "$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ",
    );
    // UPASS_WAV in passlib's tests: non-ASCII passwords are hashed as UTF-8.
    await expectVector(
      "\u0399\u03c9\u03b1\u03bd\u03bd\u03b7\u03c2",
      "$pbkdf2-sha256$1212$3SABFJGDtyhrQMVt1uABPw$WyaUoqCLgvz97s523nF4iuOqZNbp5Nt8do/cuaa7AiI",
    );
  });
  it("falls back to JavaScript where the runtime refuses the iteration count (Cloudflare: above 100,000)", async () => {
    // Cloudflare's limit enforcer throws NotSupportedError from deriveBits; open-source workerd has no cap.
    const capped = {
      importKey: crypto.subtle.importKey.bind(crypto.subtle),
      deriveBits: async () => {
        throw new DOMException(
          "Pbkdf2 failed: iteration counts above 100000 are not supported",
          "NotSupportedError",
        );
      },
    } as unknown as SubtleCrypto;
    const enc = new TextEncoder();
    const key = await pbkdf2Sha256(enc.encode("Password"), enc.encode("NaCl"), 80_000, 64, capped);
    expect(btoa(String.fromCharCode(...key)).replace(/=+$/, "")).toBe(
      "TdzY9guYviGDDO5e8icB+WQaRBjQTAQUrv8Ih2s0q1ah1CWhIlgzVJrbhBtRybMXaicr3ruh0HhHj2Kzl/M8jQ",
    );
  });
  it("verifies Django's form (salt as text)", () =>
    expectVector("lètmein", "pbkdf2_sha256$390000$seasalt$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c="));
});

describe("Firebase scrypt", () => {
  // firebase/scrypt README: the sample project parameters and exported account.
  const project = {
    algorithm: "firebase_scrypt" as const,
    signerKey: "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
    saltSeparator: "Bw==",
    rounds: 8,
    memCost: 14,
  };
  const user1 = {
    ...project,
    salt: "42xEC+ixf3L2lw==",
    hash: "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
  };
  it("verifies the README's user1password", () => expectVector("user1password", user1));
  it("fails with another project's signer key", async () => {
    const other = { ...user1, signerKey: `A${user1.signerKey.slice(1)}` };
    expect((await verify("user1password", other)).ok).toBe(false);
  });
});

describe("import-time checks", () => {
  const refused = (input: Parameters<typeof importHash>[0]) => {
    try {
      importHash(input);
    } catch (e) {
      expect(e).toBeInstanceOf(ForeignHashError);
      return (e as Error).message;
    }
    throw new Error("accepted");
  };

  it("stores the canonical form behind the marker", () => {
    expect(importHash("pbkdf2_sha256$390000$seasalt$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c=")).toBe(
      `${FOREIGN_MARKER}$pbkdf2-sha256$i=390000$c2Vhc2FsdA$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c`,
    );
    expect(importHash("$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a")).toBe(
      `${FOREIGN_MARKER}$2b$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a`,
    );
  });

  it("refuses parameters over the CPU and memory budget, naming them", () => {
    const bcrypt14 = "$2b$14$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a";
    expect(refused(bcrypt14)).toMatch(/cost 14 is outside 4\.\.13/);
    expect(
      refused("$argon2id$v=19$m=262144,t=2,p=1$c29tZXNhbHQ$eP4eyR+zqlZX1y5xCFTkw9m5GYx0L5YWwvCFvtlbLow"),
    ).toMatch(/m=262144 KiB/);
    expect(
      refused("$argon2id$v=19$m=65536,t=4,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"),
    ).toMatch(/m×t/);
    expect(refused("pbkdf2_sha256$5000000$seasalt$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c=")).toMatch(
      /5000000 iterations/,
    );
    expect(
      refused({
        algorithm: "firebase_scrypt",
        hash: "AAAA",
        salt: "AAAA",
        signerKey: "AAAA",
        saltSeparator: "Bw==",
        rounds: 8,
        memCost: 17,
      }),
    ).toMatch(/mem_cost 17/);
  });

  it("refuses unknown and malformed hashes", () => {
    expect(refused("5f4dcc3b5aa765d61d8327deb882cf99")).toMatch(/unrecognised/);
    expect(
      refused("$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8"),
    ).toMatch(/only argon2id/);
    expect(refused("$2a$06$short")).toMatch(/bcrypt/);
    expect(refused("$argon2id$v=16$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR")).toMatch(/version 19/);
    expect(refused("$pbkdf2-sha256$i=80000$TmFDbA$!!")).toMatch(/base64/);
  });

  it("a stored foreign string that no longer parses never verifies", async () => {
    expect(
      await hasher.verify("password", `${FOREIGN_MARKER}$argon2id$v=19$m=999999999,t=2,p=1$c29tZXNhbHQ$nf65`),
    ).toEqual({
      ok: false,
      needsRehash: false,
    });
    // Without the marker a foreign string is not trusted at all.
    expect(
      (
        await hasher.verify(
          "password",
          "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
        )
      ).ok,
    ).toBe(false);
  });
});
