/**
 * User import end to end: users imported with foreign hashes (known vectors) sign in through the
 * dialects' password logins; the first successful login replaces the foreign hash with Latchkey's
 * scrypt in the write the login makes anyway, a wrong password fails (and counts) and keeps it.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import type { ImportUserInput } from "../../src/core/import/import.service";
import { createServices } from "../../src/services";
import { call, uniqueEmail } from "../support/app";

function imports(vars: Record<string, string> = {}) {
  const config = parseConfig({ ENVIRONMENT: "test", ALLOWED_USER_ROLES: "user,editor", ...vars });
  return createServices(env, config, { clock: { now: () => Date.now() }, waitUntil: () => {} }).imports;
}

const storedHash = async (email: string) =>
  (
    await env.DB.prepare(
      "SELECT u.password_hash AS h, u.password_version AS v FROM users u JOIN emails e ON e.user_id = u.id WHERE e.address = ?",
    )
      .bind(email)
      .first<{ h: string | null; v: number }>()
  )?.h;

const FORMATS: { name: string; password: string; hash: ImportUserInput["passwordHash"] }[] = [
  {
    name: "bcrypt",
    password: "rasmuslerdorf",
    hash: "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
  },
  {
    name: "argon2id",
    password: "password",
    hash: "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
  },
  {
    name: "pbkdf2-sha256 (Django)",
    password: "lètmein",
    hash: "pbkdf2_sha256$390000$seasalt$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c=",
  },
  {
    name: "firebase scrypt",
    password: "user1password",
    hash: {
      algorithm: "firebase_scrypt",
      hash: "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
      salt: "42xEC+ixf3L2lw==",
      signerKey: "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
      saltSeparator: "Bw==",
      rounds: 8,
      memCost: 14,
    },
  },
];

describe("import, then the first login rehashes", () => {
  for (const f of FORMATS) {
    it(`${f.name}: wrong password fails and keeps the foreign hash; the right one signs in and leaves scrypt`, async () => {
      const email = uniqueEmail("import");
      const [result] = await imports().importUsers([
        { email, emailVerified: true, displayName: "Imported", passwordHash: f.hash },
      ]);
      expect(result).toMatchObject({ index: 0, status: "created", email });
      const foreign = await storedHash(email);
      expect(foreign).toMatch(/^import:\$/);

      const wrong = await call("/auth/login", { json: { email, password: `${f.password}!` } });
      expect(wrong.status).toBe(401);
      expect(await storedHash(email)).toBe(foreign);

      const login = await call("/auth/login", { json: { email, password: f.password } });
      expect(login.status).toBe(200);
      expect(await storedHash(email)).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$/);

      // The second login verifies Latchkey's own hash (another dialect, same core check).
      const again = await call("/directus/auth/login", { json: { email, password: f.password } });
      expect(again.status).toBe(200);
      expect(await storedHash(email)).toMatch(/^\$scrypt\$/);
    });
  }

  it("the rehash keeps the password version, so a reset link mailed before the login still works", async () => {
    const email = uniqueEmail("import");
    await imports().importUsers([{ email, emailVerified: true, passwordHash: FORMATS[1]!.hash }]);
    const before = await env.DB.prepare(
      "SELECT password_version AS v FROM users u JOIN emails e ON e.user_id = u.id WHERE e.address = ?",
    )
      .bind(email)
      .first<{ v: number }>();
    expect((await call("/auth/login", { json: { email, password: "password" } })).status).toBe(200);
    const after = await env.DB.prepare(
      "SELECT password_version AS v FROM users u JOIN emails e ON e.user_id = u.id WHERE e.address = ?",
    )
      .bind(email)
      .first<{ v: number }>();
    expect(after?.v).toBe(before?.v);
  });

  it("every dialect's password login verifies an imported hash (hanko by id, vault, formauth)", async () => {
    const svc = imports();
    const bcrypt = FORMATS[0]!;
    const [a, b, c] = await svc.importUsers(
      [0, 1, 2].map(() => ({ email: uniqueEmail("import"), emailVerified: true, passwordHash: bcrypt.hash })),
    );
    if (a?.status !== "created" || b?.status !== "created" || c?.status !== "created")
      throw new Error("not created");
    const hanko = await call("/password/login", {
      json: { user_id: a.id, password: bcrypt.password },
      vars: { VERIFY_EMAILS: "false" },
    });
    expect(hanko.status).toBe(200);
    expect((await call("/api/login", { json: { email: b.email, password: bcrypt.password } })).status).toBe(
      200,
    );
    expect(
      (await call("/api/auth/login", { json: { email: c.email, password: bcrypt.password } })).status,
    ).toBe(200);
    for (const r of [a, b, c]) expect(await storedHash(r.email)).toMatch(/^\$scrypt\$/);
  });

  it("wrong passwords against an imported hash count towards the account lockout", async () => {
    const email = uniqueEmail("import");
    await imports().importUsers([{ email, emailVerified: true, passwordHash: FORMATS[2]!.hash }]);
    const vars = { ACCOUNT_MAX_FAILURES: "2" };
    for (const p of ["wrong 1", "wrong 2"])
      expect((await call("/auth/login", { json: { email, password: p }, vars })).status).toBe(401);
    expect((await call("/auth/login", { json: { email, password: "lètmein" }, vars })).status).toBe(429);
    expect(await storedHash(email)).toMatch(/^import:/);
  });
});

describe("importUsers: one result per row", () => {
  it("creates valid rows, reports taken, repeated and invalid ones, and writes nothing for them", async () => {
    const taken = uniqueEmail("taken");
    const reg = await call("/auth/register", {
      json: { email: taken, password: "correct horse battery", cookie: false },
      vars: { AUTO_ACTIVATE_NEW_USERS: "true" },
    });
    expect(reg.status).toBe(200);
    const fresh = uniqueEmail("fresh");
    const noPassword = uniqueEmail("nopw");
    const results = await imports().importUsers([
      {
        email: fresh.toUpperCase(),
        emailVerified: true,
        allowedRoles: ["user", "editor"],
        defaultRole: "editor",
      },
      { email: taken, passwordHash: FORMATS[0]!.hash },
      { email: fresh, passwordHash: FORMATS[0]!.hash },
      { email: "not an address" },
      {
        email: uniqueEmail("badhash"),
        passwordHash: "$2b$15$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
      },
      { email: uniqueEmail("badrole"), allowedRoles: ["admin"] },
      { email: noPassword, passwordHash: null, emailVerified: false },
    ]);
    expect(results).toEqual([
      { index: 0, status: "created", id: expect.any(String), email: fresh },
      { index: 1, status: "exists", email: taken },
      { index: 2, status: "duplicate", email: fresh },
      { index: 3, status: "invalid", error: "email is not a valid address" },
      {
        index: 4,
        status: "invalid",
        email: expect.stringContaining("badhash"),
        error: "password_hash: bcrypt: cost 15 is outside 4..13",
      },
      {
        index: 5,
        status: "invalid",
        email: expect.stringContaining("badrole"),
        error: 'role "admin" is not in ALLOWED_ROLES',
      },
      { index: 6, status: "created", id: expect.any(String), email: noPassword },
    ]);
    const row = await env.DB.prepare(
      `SELECT u.default_role AS role, u.allowed_roles AS roles, u.display_name AS name, u.active AS active,
              e.verified AS verified, e.is_primary AS primary_, (SELECT count(*) FROM teams t WHERE t.owner_id = u.id) AS teams
       FROM users u JOIN emails e ON e.user_id = u.id WHERE e.address = ?`,
    )
      .bind(fresh)
      .first();
    expect(row).toEqual({
      role: "editor",
      roles: '["user","editor"]',
      name: fresh,
      active: 1,
      verified: 1,
      primary_: 1,
      teams: 1,
    });
    // The taken address still belongs to its owner alone.
    const holders = await env.DB.prepare("SELECT count(*) AS n FROM emails WHERE address = ?")
      .bind(taken)
      .first();
    expect(holders).toEqual({ n: 1 });
    // No password: the imported user signs in by other means; a password login fails like a wrong one.
    expect(
      (await call("/auth/login", { json: { email: noPassword, password: "anything at all" } })).status,
    ).toBe(401);
  });

  it("refuses an empty or oversized batch as a whole", async () => {
    await expect(imports().importUsers([])).rejects.toMatchObject({ code: "INVALID_REQUEST" });
    const many = Array.from({ length: 501 }, () => ({ email: uniqueEmail() }));
    await expect(imports().importUsers(many)).rejects.toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
  });

  it("two parallel imports of one address create one account", async () => {
    const email = uniqueEmail("race");
    const runs = await Promise.all(
      Array.from({ length: 10 }, () => imports().importUsers([{ email, passwordHash: FORMATS[0]!.hash }])),
    );
    const statuses = runs.map((r) => r[0]!.status).sort();
    expect(statuses.filter((s) => s === "created")).toHaveLength(1);
    expect(statuses.filter((s) => s === "exists")).toHaveLength(9);
    const n = await env.DB.prepare("SELECT count(*) AS n FROM emails WHERE address = ?").bind(email).first();
    expect(n).toEqual({ n: 1 });
  });
});
