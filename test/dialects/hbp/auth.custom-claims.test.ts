/**
 * JWT_CUSTOM_FIELDS: user fields and registration user_data copied into the Hasura claims as
 * `x-hasura-<kebab-case field>`, with HBP's value encoding (upstream shared/jwt.ts
 * generatePermissionVariables), so Hasura permissions that use them keep working.
 */
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { CUSTOM_CLAIM_MAX } from "../../../src/core/tokens/tokens.service";
import { call, uniqueEmail, type Vars } from "../../support/app";
import { AUTO, json, PASSWORD } from "./helpers";

const NS = "https://hasura.io/jwt/claims";
const FIELDS: Vars = { ...AUTO, JWT_CUSTOM_FIELDS: "name,display_name,companyId,tags,profile,missing,email" };

const claimsOf = (jwt: string) => decodeJwt(jwt)[NS] as Record<string, unknown>;

async function register(user_data: Record<string, unknown>, vars: Vars = FIELDS) {
  const email = uniqueEmail("claims");
  const res = await call("/auth/register", {
    json: { email, password: PASSWORD, cookie: false, user_data },
    vars,
  });
  const body = await json(res);
  expect(res.status, JSON.stringify(body)).toBe(200);
  return { email, body };
}

describe("JWT_CUSTOM_FIELDS", () => {
  it("puts user fields and user_data into the claims, encoded as HBP did", async () => {
    const { email, body } = await register({
      display_name: "Ada L.",
      name: "Ada",
      companyId: 42,
      tags: ["a", 'b"c'],
      profile: { team: "core" },
    });
    expect(claimsOf(body.jwt_token)).toEqual({
      "x-hasura-name": "Ada",
      "x-hasura-display-name": "Ada L.",
      "x-hasura-company-id": "42",
      "x-hasura-tags": '{"a","b\\"c"}',
      "x-hasura-profile": '{"team":"core"}',
      "x-hasura-missing": "null",
      "x-hasura-email": email,
      "x-hasura-user-id": body.user.id,
      "x-hasura-allowed-roles": ["user"],
      "x-hasura-default-role": "user",
    });
  });

  it("keeps them on refresh and on a later login", async () => {
    const { email, body } = await register({ name: "Grace" });
    const refreshed = await json(
      await call(`/auth/token/refresh?refresh_token=${body.refresh_token}`, { vars: FIELDS }),
    );
    expect(claimsOf(refreshed.jwt_token)["x-hasura-name"]).toBe("Grace");
    const login = await json(
      await call("/auth/login", { json: { email, password: PASSWORD, cookie: false }, vars: FIELDS }),
    );
    expect(claimsOf(login.jwt_token)["x-hasura-name"]).toBe("Grace");
  });

  it("leaves out a value over the size cap rather than cutting it", async () => {
    const { body } = await register({ name: "x".repeat(CUSTOM_CLAIM_MAX + 1), companyId: 7 });
    const claims = claimsOf(body.jwt_token);
    expect(claims["x-hasura-name"]).toBeUndefined();
    expect(claims["x-hasura-company-id"]).toBe("7");
  });

  it("never overrides the standard claims: such fields are refused at configuration", async () => {
    for (const bad of [
      "user_id",
      "allowedRoles",
      "default_role",
      "role",
      "x-hasura-user-id",
      "a b",
      "name,name",
    ]) {
      const res = await call("/health", { vars: { JWT_CUSTOM_FIELDS: bad } });
      expect(res.status, bad).toBe(500);
      const { error } = (await res.json()) as { error: string };
      expect(error).toMatch(/^Configuration error: JWT_CUSTOM_FIELDS: \S/);
    }
  });

  it("a sign-up with a taken address (existence hints off) gets the same claims as a new one", async () => {
    const data = { name: "Ada", companyId: 1 };
    const { email, body } = await register(data);
    const again = await json(
      await call("/auth/register", {
        json: { email, password: PASSWORD, cookie: false, user_data: data },
        vars: FIELDS,
      }),
    );
    const real = claimsOf(body.jwt_token);
    const decoy = claimsOf(again.jwt_token);
    expect(Object.keys(decoy).sort()).toEqual(Object.keys(real).sort());
    expect(decoy["x-hasura-name"]).toBe("Ada");
    expect(decoy["x-hasura-email"]).toBe(email);
  });

  it("adds nothing when unset", async () => {
    const { body } = await register({ name: "Ada" }, AUTO);
    expect(Object.keys(claimsOf(body.jwt_token)).sort()).toEqual([
      "x-hasura-allowed-roles",
      "x-hasura-default-role",
      "x-hasura-user-id",
    ]);
  });
});
