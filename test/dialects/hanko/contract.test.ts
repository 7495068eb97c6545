/**
 * Contract: every route's status and body against api/hanko-0.12-openapi.txt (see openapi.ts for
 * how the schemas are read). Where the 0.12 SDK needs more than the document says, the extra
 * keys are listed with the reason.
 */
import { describe, expect, it } from "vitest";
import { uniqueEmail } from "../../support/app";
import { createCredential, getAssertion } from "../../support/soft-authenticator";
import { type CheckOptions, check, component, responseSchema, statuses } from "./openapi";
import { at, json, latestPasscode, OPEN } from "./support";

/** Asserts a documented status and a body conforming to that status's schema. */
async function conforms(res: Response, operationId: string, opts: CheckOptions = {}) {
  expect(statuses(operationId)).toContain(res.status);
  const schema = responseSchema(operationId, res.status);
  const text = await res.text();
  if (!schema) return text ? JSON.parse(text) : null;
  const body = JSON.parse(text);
  expect(check(body, schema, opts)).toEqual([]);
  return body;
}

const JSON_TYPE = { "content-type": "application/json" };

describe("hanko contract: the reader itself", () => {
  it("finds the documented schemas and flags what they do not declare", () => {
    const passcode = component("Passcode");
    expect([...passcode.fields.keys()]).toEqual(["id", "ttl", "created_at"]);
    expect(
      check({ id: crypto.randomUUID(), ttl: 300, created_at: new Date().toISOString() }, passcode),
    ).toEqual([]);
    expect(check({ id: "x", ttl: "300", extra: 1 }, passcode)).toEqual([
      'body.id: "x" is not uuid4',
      "body.ttl: string where Passcode says integer",
      "body.extra: not declared in Passcode",
    ]);
    expect(check({}, component("Error"))).toEqual([
      "body.code: required by Error",
      "body.message: required by Error",
    ]);
    expect(statuses("passcodeFinal")).toEqual([200, 400, 401, 403, 408, 410, 500]);
  });
});

// Once at the origin root (the default) and once under HANKO_PREFIX: every route moves with it.
describe.each(["", "/hanko"])("hanko contract: routes at '%s/'", (prefix) => {
  const { call, hcall, signUp } = at(prefix);

  it(".well-known, users, me, logout", async () => {
    await conforms(await call("/.well-known/jwks.json"), "getJwks", {
      // The document describes RSA keys; ES256 (the default) keys carry crv, x and y.
      extra: ["crv", "x", "y"],
    });
    await conforms(await call("/.well-known/config"), "getConfig", {
      // compat(hanko): the 0.12 SDK reads these; the document predates them.
      extra: ["max_num_of_addresses", "providers", "use_enterprise"],
    });
    const email = uniqueEmail("contract");
    // compat(hanko): `id` is Hanko's deprecated duplicate of user_id, which it still sends.
    const created = await conforms(await hcall("/users", { json: { email } }), "createUser", {
      extra: ["id"],
    });
    await conforms(await hcall("/users", { json: { email } }), "createUser");
    await conforms(await hcall("/user", { json: { email } }), "getUserId");
    await conforms(await hcall("/user", { json: { email: uniqueEmail("none") } }), "getUserId");
    const { token, userId } = await signUp();
    await conforms(await hcall("/me", { token }), "IsUserAuthorized");
    await conforms(await hcall("/me"), "IsUserAuthorized");
    // compat(hanko): `verified` is in GetUserResponse and read by <hanko-auth>; /users/{id} documents User.
    await conforms(await hcall(`/users/${userId}`, { token }), "listUser", { extra: ["verified"] });
    await conforms(await hcall(`/users/${created.user_id}`, { token }), "listUser");
    await conforms(await hcall("/logout", { method: "POST", token, headers: JSON_TYPE }), "logout");
    await conforms(await hcall("/logout", { method: "POST", token }), "logout");
    const vars = { ...OPEN, ALLOW_USER_SELF_DELETE: "true" };
    const gone = await signUp(uniqueEmail(), vars);
    await conforms(await call("/user", { method: "DELETE", token: gone.token, vars }), "deleteUser");
    await conforms(await call("/user", { method: "DELETE", token: gone.token, vars }), "deleteUser");
  });

  it("passcode and password", async () => {
    const u = await signUp();
    const init = await conforms(
      await hcall("/passcode/login/initialize", { json: { user_id: u.userId } }),
      "passcodeInit",
    );
    await conforms(await hcall("/passcode/login/initialize", { json: {} }), "passcodeInit");
    const code = await latestPasscode(u.email);
    const wrong = String((Number(code) + 1) % 1e6).padStart(6, "0");
    await conforms(
      await hcall("/passcode/login/finalize", { json: { id: init.id, code: wrong } }),
      "passcodeFinal",
    );
    await conforms(await hcall("/passcode/login/finalize", { json: { id: init.id, code } }), "passcodeFinal");
    await conforms(await hcall("/passcode/login/finalize", { json: { id: "x", code } }), "passcodeFinal");

    const pw = "correct horse battery";
    await conforms(
      await hcall("/password", { method: "PUT", token: u.token, json: { user_id: u.userId, password: pw } }),
      "password",
    );
    await conforms(
      await hcall("/password", { method: "PUT", token: u.token, json: { user_id: u.userId, password: pw } }),
      "password",
    );
    await conforms(
      await hcall("/password", { method: "PUT", token: u.token, json: { user_id: u.userId, password: "x" } }),
      "password",
    );
    const other = await signUp();
    await conforms(
      await hcall("/password", {
        method: "PUT",
        token: u.token,
        json: { user_id: other.userId, password: pw },
      }),
      "password",
    );
    await conforms(
      await hcall("/password/login", { json: { user_id: u.userId, password: pw } }),
      "passwordLogin",
    );
    await conforms(
      await hcall("/password/login", { json: { user_id: u.userId, password: `${pw}x` } }),
      "passwordLogin",
    );
    await conforms(
      await hcall("/password/login", { json: { user_id: crypto.randomUUID(), password: pw } }),
      "passwordLogin",
    );
    await conforms(await hcall("/password/login", { json: {} }), "passwordLogin");
  });

  it("emails", async () => {
    const u = await signUp();
    const other = await signUp();
    await conforms(await hcall("/emails", { token: u.token }), "listEmails");
    await conforms(await hcall("/emails"), "listEmails");
    const added = await hcall("/emails", { token: u.token, json: { address: uniqueEmail() } });
    // compat(hanko): the document gives 201 no body; the 0.12 SDK parses the new Email object.
    expect(added.status).toBe(201);
    const email = await json(added);
    expect(check([email], component("Emails"))).toEqual([]);
    await conforms(await hcall("/emails", { token: u.token, json: { address: other.email } }), "createEmail");
    await conforms(
      await hcall(`/emails/${email.id}/set_primary`, { method: "POST", token: u.token }),
      "setPrimaryEmail",
    );
    await conforms(await hcall(`/emails/${email.id}/set_primary`, { method: "POST" }), "setPrimaryEmail");
    await conforms(await hcall(`/emails/${email.id}`, { method: "DELETE", token: u.token }), "deleteEmail");
    await conforms(await hcall(`/emails/${u.emailId}`, { method: "DELETE", token: u.token }), "deleteEmail");
    await conforms(await hcall(`/emails/${u.emailId}`, { method: "DELETE" }), "deleteEmail");
  });

  it("webauthn", async () => {
    const u = await signUp();
    const regOptions = await conforms(
      await hcall("/webauthn/registration/initialize", {
        method: "POST",
        token: u.token,
        headers: JSON_TYPE,
      }),
      "webauthnRegInit",
      // Fields of WebAuthn Level 3 the document's excerpt of the dictionary leaves out.
      { extra: ["excludeCredentials", "extensions", "credProps", "hints"] },
    );
    const { credential, response } = await createCredential(regOptions);
    await conforms(
      await hcall("/webauthn/registration/finalize", { token: u.token, json: response }),
      "webauthnRegFinal",
    );
    await conforms(
      await hcall("/webauthn/registration/finalize", { token: u.token, json: response }),
      "webauthnRegFinal",
    );
    await conforms(await hcall("/webauthn/credentials", { token: u.token }), "listCredentials", {
      // The document types public_key and aaguid as boolean; Hanko and the SDK use strings.
      types: { public_key: "string", aaguid: "string" },
      // compat(hanko): attestation_type is listed by the SDK's credential type; BE/BS are kept (issue 4).
      extra: ["attestation_type", "backup_eligible", "backup_state"],
    });
    await conforms(await hcall("/webauthn/credentials"), "listCredentials");
    const loginOptions = await conforms(
      await hcall("/webauthn/login/initialize", { json: { user_id: u.userId } }),
      "webauthnLoginInit",
      { extra: ["transports"] },
    );
    await conforms(
      await hcall("/webauthn/login/initialize", { json: { user_id: "x" } }),
      "webauthnLoginInit",
    );
    const assertion = await getAssertion(loginOptions, credential);
    await conforms(await hcall("/webauthn/login/finalize", { json: assertion }), "webauthnLoginFinal");
    await conforms(await hcall("/webauthn/login/finalize", { json: assertion }), "webauthnLoginFinal");
    await conforms(await hcall("/webauthn/login/finalize", { json: {} }), "webauthnLoginFinal");
    const path = `/webauthn/credentials/${credential.id}`;
    await conforms(
      await hcall(path, { method: "PATCH", token: u.token, json: { name: "Key" } }),
      "updateCredential",
    );
    await conforms(await hcall(path, { method: "PATCH", token: u.token, json: {} }), "updateCredential");
    await conforms(await hcall(path, { method: "DELETE", token: u.token }), "deleteCredential");
    await conforms(await hcall(path, { method: "DELETE", token: u.token }), "deleteCredential");
  });

  it("token", async () => {
    await conforms(await hcall("/token", { json: { value: "unknown-value" } }), "token");
    await conforms(await hcall("/token", { json: {} }), "token");
  });
});
