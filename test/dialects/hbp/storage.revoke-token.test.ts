/**
 * POST /storage/m/<path> {"action": "revoke-token"}: HBP's file-token rotation (upstream
 * routes/storage/upload.ts and storage.test.ts): 200 with the metadata and a new token, 403 without
 * the right, 400 for any other action (checked before the right), 404 for a missing file.
 */
import { describe, expect, it } from "vitest";
import { activeUser, call, expectBoom, json } from "./helpers";
import { fileForm, uploadOk } from "./storage.helpers";

const SECRET = "s3cret-admin-value-for-tests";
const ADMIN = { ADMIN_SECRET: SECRET };

const revoke = (
  path: string,
  opts: {
    token?: string;
    headers?: Record<string, string>;
    vars?: Record<string, string>;
    action?: unknown;
  } = {},
) =>
  call(`/storage/m/${path}`, {
    json: "action" in opts ? { action: opts.action } : { action: "revoke-token" },
    token: opts.token,
    headers: opts.headers,
    vars: opts.vars,
  });

async function ownedFile(vars: Record<string, string> = {}) {
  const u = await activeUser(vars);
  const path = `user/${u.userId}/doc.txt`;
  const meta = await uploadOk(path, "contents", u.jwt);
  return { u, path, meta };
}

describe("POST /storage/m/<path> revoke-token", () => {
  it("the owner gets the metadata with a new token; the old token stops working at once", async () => {
    const { u, path, meta } = await ownedFile();
    const res = await revoke(path, { token: u.jwt });
    const body = await json(res);
    expect(res.status).toBe(200);
    expect(body).toEqual({
      ...meta,
      ETag: body.ETag,
      LastModified: body.LastModified,
      Metadata: body.Metadata,
    });
    expect(body.Metadata.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.Metadata.token).not.toBe(meta.Metadata.token);
    await expectBoom(await call(`/storage/o/${path}?token=${meta.Metadata.token}`), 403, "Forbidden");
    const read = await call(`/storage/o/${path}?token=${body.Metadata.token}`);
    expect(read.status).toBe(200);
    expect(await read.text()).toBe("contents");
    expect(read.headers.get("content-type")).toBe(meta.ContentType);
    // The metadata read by the owner shows the new token too.
    expect((await json(await call(`/storage/m/${path}`, { token: u.jwt }))).Metadata.token).toBe(
      body.Metadata.token,
    );
  });

  it("the admin secret (x-admin-secret) rotates any file without a session", async () => {
    const { path, meta } = await ownedFile(ADMIN);
    const res = await revoke(path, { headers: { "x-admin-secret": SECRET }, vars: ADMIN });
    expect(res.status).toBe(200);
    const { Metadata } = await json(res);
    expect(Metadata.token).not.toBe(meta.Metadata.token);
    expect((await call(`/storage/o/${path}?token=${Metadata.token}`, { vars: ADMIN })).status).toBe(200);
  });

  it("403 for a wrong admin secret, for any secret when none is configured, for others and anonymous", async () => {
    const { path, meta } = await ownedFile(ADMIN);
    const other = await activeUser(ADMIN);
    for (const sent of ["incorrect-admin-secret", `${SECRET}x`, SECRET.slice(0, -1), ""])
      await expectBoom(
        await revoke(path, { headers: { "x-admin-secret": sent }, vars: ADMIN }),
        403,
        "Forbidden",
      );
    await expectBoom(await revoke(path, { headers: { "x-admin-secret": "" } }), 403, "Forbidden");
    await expectBoom(await revoke(path, { token: other.jwt, vars: ADMIN }), 403, "Forbidden");
    await expectBoom(await revoke(path, { vars: ADMIN }), 403, "Forbidden");
    // Nothing changed.
    expect((await call(`/storage/o/${path}?token=${meta.Metadata.token}`, { vars: ADMIN })).status).toBe(200);
  });

  it("a caller holding STORAGE_ADMIN_ROLE rotates another user's file; without that setting the role is nothing", async () => {
    // A role of its own: registration may not give ADMIN_ROLE ("admin"), which the admin API owns.
    const roles = { ALLOWED_USER_ROLES: "user,files-admin", STORAGE_ADMIN_ROLE: "files-admin" };
    const { path } = await ownedFile(roles);
    const reg = await call("/auth/register", {
      json: {
        email: `admin-${crypto.randomUUID().slice(0, 8)}@example.com`,
        password: "correct horse battery",
        cookie: false,
        register_options: { allowed_roles: ["user", "files-admin"] },
      },
      vars: { AUTO_ACTIVATE_NEW_USERS: "true", ...roles },
    });
    const admin = await json(reg);
    expect(reg.status).toBe(200);
    expect((await revoke(path, { token: admin.jwt_token, vars: roles })).status).toBe(200);
    const noRole = { ALLOWED_USER_ROLES: "user,files-admin" };
    await expectBoom(await revoke(path, { token: admin.jwt_token, vars: noRole }), 403, "Forbidden");
  });

  it("400 for another or a missing action, before the right is checked", async () => {
    const { path } = await ownedFile(ADMIN);
    await expectBoom(
      await revoke(path, { headers: { "x-admin-secret": SECRET }, vars: ADMIN, action: "non-existing" }),
      400,
      '"action" must be [revoke-token]',
    );
    await expectBoom(
      await revoke(path, { headers: { "x-admin-secret": "incorrect" }, vars: ADMIN, action: "non-existing" }),
      400,
      '"action" must be [revoke-token]',
    );
    await expectBoom(
      await call(`/storage/m/${path}`, { json: {}, vars: ADMIN }),
      400,
      '"action" is required',
    );
  });

  it("404 for a missing file the caller could write, and for a directory", async () => {
    const u = await activeUser();
    await expectBoom(await revoke(`user/${u.userId}/none.txt`, { token: u.jwt }), 404, "Not Found");
    await expectBoom(await revoke(`user/${u.userId}/`, { token: u.jwt }), 404, "Not Found");
  });

  it("a large file (R2 multipart) keeps its bytes through the rewrite", async () => {
    const u = await activeUser();
    const path = `user/${u.userId}/big.bin`;
    const data = new Uint8Array(6 * 1024 * 1024 + 3).map((_, i) => (i * 7) & 0xff);
    const meta = await uploadOk(path, data, u.jwt);
    const { Metadata, ContentLength } = await json(await revoke(path, { token: u.jwt }));
    expect(ContentLength).toBe(meta.ContentLength);
    const back = new Uint8Array(
      await (await call(`/storage/o/${path}?token=${Metadata.token}`)).arrayBuffer(),
    );
    expect(back.length).toBe(data.length);
    expect(back.every((v, i) => v === data[i])).toBe(true);
  });

  it("parallel rotations and an overwrite: the bytes stay whole and only the current token reads", async () => {
    const { u, path } = await ownedFile();
    const results = await Promise.all([
      ...Array.from({ length: 8 }, () => revoke(path, { token: u.jwt })),
      call(`/storage/o/${path}`, { method: "POST", body: fileForm("replaced"), token: u.jwt }),
    ]);
    const tokens: string[] = [];
    for (const res of results) {
      // A rotation that lost every retry to the others answers 503 and changes nothing.
      expect([200, 503]).toContain(res.status);
      if (res.status === 200) tokens.push((await json(res)).Metadata.token);
    }
    const current = (await json(await call(`/storage/m/${path}`, { token: u.jwt }))).Metadata.token;
    expect(tokens).toContain(current);
    for (const t of tokens) {
      const res = await call(`/storage/o/${path}?token=${t}`);
      expect(res.status).toBe(t === current ? 200 : 403);
      if (t === current) expect(["contents", "replaced"]).toContain(await res.text());
    }
  });
});
