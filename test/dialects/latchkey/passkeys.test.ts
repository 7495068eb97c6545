/**
 * /v1/passkeys: list my passkeys (names, provider from the AAGUID), rename, delete; never another
 * user's. The Hanko credential routes use the same core and keep their upstream shapes.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type CallOptions, call } from "../../support/app";
import { createCredential } from "../../support/soft-authenticator";
import { activeUser, json } from "../hbp/helpers";
import { expectError } from "./helpers";

const GOOGLE = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4";
const UNKNOWN = "01020304-0506-0708-0102-030405060708";
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Registers a passkey through the Hanko ceremony (any dialect's access token works there). */
async function addPasskey(jwt: string, aaguid: string, backupEligible = false): Promise<string> {
  const init = await call("/webauthn/registration/initialize", { method: "POST", token: jwt });
  expect(init.status).toBe(200);
  const { credential, response } = await createCredential(await json(init), { aaguid, backupEligible });
  const fin = await call("/webauthn/registration/finalize", { token: jwt, json: response });
  expect(fin.status, await fin.clone().text()).toBe(200);
  return credential.id;
}

const list = (jwt: string) => call("/v1/passkeys", { token: jwt });
const patch = (id: string, name: unknown, opts: CallOptions = {}) =>
  call(`/v1/passkeys/${id}`, { method: "PATCH", json: { name }, ...opts });
const del = (id: string, opts: CallOptions = {}) => call(`/v1/passkeys/${id}`, { method: "DELETE", ...opts });

describe("GET /v1/passkeys", () => {
  it("lists my passkeys, named after their provider (else Passkey), with its name and icon", async () => {
    const u = await activeUser();
    const google = await addPasskey(u.jwt, GOOGLE, true);
    const other = await addPasskey(u.jwt, UNKNOWN);
    const res = await list(u.jwt);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const { passkeys } = await json(res);
    expect(passkeys).toEqual([
      {
        id: google,
        name: "Google Password Manager",
        authenticator: {
          aaguid: GOOGLE,
          name: "Google Password Manager",
          icon: expect.stringMatching(/^data:image\/svg\+xml,%3Csvg/),
        },
        created_at: expect.stringMatching(ISO),
        last_used_at: null,
        backup_eligible: true,
        backed_up: true,
        transports: ["internal"],
      },
      {
        id: other,
        name: "Passkey",
        authenticator: { aaguid: UNKNOWN, name: null, icon: null },
        created_at: expect.stringMatching(ISO),
        last_used_at: null,
        backup_eligible: false,
        backed_up: false,
        transports: ["internal"],
      },
    ]);
  });

  it("is empty without passkeys, and needs a live access token", async () => {
    const u = await activeUser();
    expect(await json(await list(u.jwt))).toEqual({ passkeys: [] });
    await expectError(await call("/v1/passkeys"), 401, "UNAUTHENTICATED");
  });
});

describe("PATCH /v1/passkeys/:id", () => {
  it("renames my passkey (trimmed) and answers it", async () => {
    const u = await activeUser();
    const id = await addPasskey(u.jwt, GOOGLE);
    const res = await patch(id, "  Work phone  ", { token: u.jwt });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({
      id,
      name: "Work phone",
      authenticator: { name: "Google Password Manager" },
    });
    expect((await json(await list(u.jwt))).passkeys[0].name).toBe("Work phone");
    // 64 characters, not UTF-16 units.
    expect((await patch(id, "🔑".repeat(64), { token: u.jwt })).status).toBe(200);
  });

  it("adding, renaming and deleting are in the audit log with the credential id", async () => {
    const u = await activeUser();
    const id = await addPasskey(u.jwt, GOOGLE);
    expect((await patch(id, "Work phone", { token: u.jwt })).status).toBe(200);
    expect((await del(id, { token: u.jwt })).status).toBe(204);
    const rows = await env.DB.prepare(
      "SELECT type, data FROM audit_events WHERE user_id = ? AND type LIKE 'passkey.%' ORDER BY at, rowid",
    )
      .bind(u.userId)
      .all<{ type: string; data: string }>();
    expect(rows.results.map((r) => [r.type, JSON.parse(r.data).credentialId])).toEqual([
      ["passkey.added", id],
      ["passkey.renamed", id],
      ["passkey.removed", id],
    ]);
  });

  it.each([
    ["empty", ""],
    ["blank", "   "],
    ["too long", "x".repeat(65)],
    ["not a string", 42],
    ["a control character", "a\u0007b"],
  ])("refuses a name that is %s (400) and keeps the old one", async (_, name) => {
    const u = await activeUser();
    const id = await addPasskey(u.jwt, UNKNOWN);
    await expectError(await patch(id, name, { token: u.jwt }), 400, "INVALID_REQUEST");
    expect((await json(await list(u.jwt))).passkeys[0].name).toBe("Passkey");
  });

  it("refuses another user's passkey as not found, and leaves it alone", async () => {
    const owner = await activeUser();
    const other = await activeUser();
    const id = await addPasskey(owner.jwt, GOOGLE);
    await expectError(await patch(id, "mine now", { token: other.jwt }), 404, "NOT_FOUND");
    await expectError(await patch("bm90LWEtcGFzc2tleQ", "x", { token: other.jwt }), 404, "NOT_FOUND");
    await expectError(await patch(id, "x"), 401, "UNAUTHENTICATED");
    expect((await json(await list(owner.jwt))).passkeys[0].name).toBe("Google Password Manager");
  });
});

describe("DELETE /v1/passkeys/:id", () => {
  it("deletes my passkey; a second delete is 404", async () => {
    const u = await activeUser();
    const id = await addPasskey(u.jwt, GOOGLE);
    const keep = await addPasskey(u.jwt, UNKNOWN);
    expect((await del(id, { token: u.jwt })).status).toBe(204);
    expect((await json(await list(u.jwt))).passkeys.map((p: { id: string }) => p.id)).toEqual([keep]);
    await expectError(await del(id, { token: u.jwt }), 404, "NOT_FOUND");
  });

  it("refuses another user's passkey as not found, and leaves it alone", async () => {
    const owner = await activeUser();
    const other = await activeUser();
    const id = await addPasskey(owner.jwt, GOOGLE);
    await expectError(await del(id, { token: other.jwt }), 404, "NOT_FOUND");
    await expectError(await del(id), 401, "UNAUTHENTICATED");
    await expectError(await del("not/an-id", { token: owner.jwt }), 404, "NOT_FOUND");
    expect((await json(await list(owner.jwt))).passkeys).toHaveLength(1);
  });
});

describe("Hanko's credential routes share the names", () => {
  it("lists the default name, renames within the same rules, in Hanko's shapes", async () => {
    const u = await activeUser();
    const id = await addPasskey(u.jwt, GOOGLE);
    const [cred] = await json(await call("/webauthn/credentials", { token: u.jwt }));
    expect(cred).toMatchObject({ id, name: "Google Password Manager", aaguid: GOOGLE });
    const path = `/webauthn/credentials/${id}`;
    const long = await call(path, { method: "PATCH", token: u.jwt, json: { name: "x".repeat(65) } });
    expect(long.status).toBe(400);
    expect(await json(long)).toEqual({ code: 400, message: expect.any(String) });
    expect((await call(path, { method: "PATCH", token: u.jwt, json: { name: " Laptop " } })).status).toBe(
      200,
    );
    expect((await json(await list(u.jwt))).passkeys[0].name).toBe("Laptop");
  });
});

describe("OpenAPI", () => {
  it("documents the passkey routes", async () => {
    const doc = await json(await call("/v1/openapi.json"));
    expect(Object.keys(doc.paths["/v1/passkeys"])).toEqual(["get"]);
    expect(Object.keys(doc.paths["/v1/passkeys/{id}"]).sort()).toEqual(["delete", "patch"]);
  });
});
