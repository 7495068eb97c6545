/**
 * "Auth required", one table over every route of every dialect that needs a signed-in caller:
 * each refuses a missing token, a malformed one, an expired one (moved past its lifetime with the
 * test clock), a revoked one (its session logged out) and a token of another purpose (formauth's
 * refresh JWT, vault's team token) with the dialect's own 401 body (its errors.ts; the dialect
 * security tests pin the same shapes). Storage routes are left out: whether they need a caller is
 * decided by the storage rules (test/dialects/hbp/storage.security.test.ts).
 */
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { CLOCK_TOLERANCE_MS } from "../src/core/tokens/jwt";
import { directusUser } from "./dialects/directus/helpers";
import { confirmedUser } from "./dialects/formauth/helpers";
import { OPEN, signUp } from "./dialects/hanko/support";
import { activeUser, json, PASSWORD } from "./dialects/hbp/helpers";
import { verified } from "./dialects/vault/helpers";
import { call, uniqueEmail, type Vars } from "./support/app";
import { testClock } from "./support/clock";

type Body = Record<string, unknown>;
type Refusal = { status: 401; body: Body };

interface Route {
  method: string;
  path: string;
  json?: unknown;
  vars?: Vars;
  /** The refusal without any token, where it differs from the dialect's. */
  missing?: Refusal;
  /** Cases this route does not refuse by design, with the reason (no test is generated for them). */
  skip?: Partial<Record<"expired", string>>;
}

interface Session {
  token: string;
  /** Ends the session through the dialect (or, for vault, which has no logout, through HBP). */
  logout(): Promise<void>;
}

interface Dialect {
  name: string;
  routes: Route[];
  /** Lifetime of the dialect's access token, seconds. */
  ttl: number;
  session(): Promise<Session>;
  missing: Refusal;
  invalid: Refusal;
  expired: Refusal;
}

const refusal = (body: Body): Refusal => ({ status: 401, body });
const boom = (message: string) => refusal({ statusCode: 401, error: "Unauthorized", message });
const directus = (code: string, message: string) => refusal({ errors: [{ message, extensions: { code } }] });
const formauth = (code: string, error: string) => refusal({ code, error });
const vault = (error: string, message: string) => refusal({ statusCode: 401, error, message });

/** HBP's revoke-all: how a vault session (vault has no logout route) is ended. */
const revokeAll = async (token: string) => {
  expect((await call("/auth/token/revoke", { method: "POST", token })).status).toBe(204);
};

/** Self-deletion is off by default (a 404 before any authentication). */
const SELF_DELETE: Vars = { ALLOW_USER_SELF_DELETE: "true" };
const HANKO_ID = "00000000-0000-4000-8000-000000000000";

const DIALECTS: Dialect[] = [
  {
    name: "hbp",
    ttl: 900,
    routes: [
      { method: "POST", path: "/auth/change-email", json: {}, vars: { VERIFY_EMAILS: "false" } },
      { method: "POST", path: "/auth/change-email/request", json: {} },
      { method: "POST", path: "/auth/change-password", json: {} },
      { method: "POST", path: "/auth/mfa/generate" },
      { method: "POST", path: "/auth/mfa/enable", json: {} },
      { method: "POST", path: "/auth/mfa/disable", json: {} },
      { method: "POST", path: "/auth/delete", vars: SELF_DELETE },
      { method: "POST", path: "/auth/token/revoke" },
      {
        method: "POST",
        path: "/auth/logout",
        json: {},
        // auth.token.test.ts: with no refresh token and no caller, logout is a refresh-token refusal.
        missing: boom("Invalid or expired refresh token."),
      },
    ],
    async session() {
      const s = await activeUser();
      return { token: s.jwt!, logout: () => revokeAll(s.jwt!) };
    },
    missing: boom("Not logged in"),
    invalid: boom("Invalid or expired JWT token."),
    expired: boom("Invalid or expired JWT token."),
  },
  {
    name: "hanko",
    ttl: 3600,
    routes: [
      { method: "GET", path: "/emails" },
      { method: "POST", path: "/emails", json: { address: uniqueEmail("matrix") } },
      { method: "POST", path: `/emails/${HANKO_ID}/set_primary` },
      { method: "DELETE", path: `/emails/${HANKO_ID}` },
      { method: "PUT", path: "/password", json: {} },
      { method: "GET", path: `/users/${HANKO_ID}` },
      { method: "GET", path: "/me" },
      { method: "DELETE", path: "/user", vars: SELF_DELETE },
      { method: "POST", path: "/logout" },
      { method: "POST", path: "/webauthn/registration/initialize" },
      { method: "POST", path: "/webauthn/registration/finalize", json: {} },
      { method: "GET", path: "/webauthn/credentials" },
      { method: "PATCH", path: `/webauthn/credentials/${HANKO_ID}`, json: { name: "x" } },
      { method: "DELETE", path: `/webauthn/credentials/${HANKO_ID}` },
    ],
    async session() {
      const s = await signUp(uniqueEmail("hanko"), OPEN);
      return {
        token: s.token,
        logout: async () => {
          expect((await call("/logout", { method: "POST", token: s.token })).status).toBe(204);
        },
      };
    },
    missing: refusal({ code: 401, message: "Unauthorized" }),
    invalid: refusal({ code: 401, message: "Unauthorized" }),
    expired: refusal({ code: 401, message: "Unauthorized" }),
  },
  {
    name: "directus",
    ttl: 900,
    routes: [
      { method: "GET", path: "/directus/users/me" },
      { method: "POST", path: "/directus/users/me/tfa/generate", json: {} },
      { method: "POST", path: "/directus/users/me/tfa/enable", json: {} },
      { method: "POST", path: "/directus/users/me/tfa/disable", json: {} },
    ],
    async session() {
      const s = await directusUser();
      return {
        token: s.access,
        logout: async () => {
          const res = await call("/directus/auth/logout", { json: { refresh_token: s.rt, mode: "json" } });
          expect(res.status).toBe(204);
        },
      };
    },
    missing: directus("INVALID_CREDENTIALS", "Invalid user credentials."),
    invalid: directus("INVALID_TOKEN", "Invalid token."),
    expired: directus("TOKEN_EXPIRED", "Token expired."),
  },
  {
    name: "formauth",
    ttl: 900,
    routes: [{ method: "POST", path: "/api/auth/logout" }],
    async session() {
      const s = await confirmedUser();
      return {
        token: s.access,
        logout: async () => {
          expect((await call("/api/auth/logout", { method: "POST", token: s.access })).status).toBe(200);
        },
      };
    },
    missing: formauth("UNAUTHORIZED", "You must be logged in."),
    invalid: formauth("INVALID_TOKEN", "The token is invalid."),
    expired: formauth("TOKEN_EXPIRED", "The token has expired."),
  },
  {
    name: "vault",
    ttl: 900,
    routes: [
      { method: "GET", path: "/api/resend-email-verification?capcha=x" },
      {
        method: "GET",
        path: "/api/refresh",
        // test/dialects/vault/security.test.ts: refresh takes an expired userToken of a live session.
        skip: { expired: "vault's refresh exchanges an expired userToken of a live session" },
      },
    ],
    async session() {
      const v = await verified();
      return { token: v.userToken, logout: () => revokeAll(v.userToken) };
    },
    missing: vault("UNAUTHORIZED", "A bearer token is required."),
    invalid: vault("INVALID_TOKEN", "The token is invalid or has expired."),
    expired: vault("TOKEN_EXPIRED", "The token has expired."),
  },
];

async function send(route: Route, token: string | undefined, clock?: ReturnType<typeof testClock>) {
  const res = await call(route.path, {
    method: route.method,
    json: route.json,
    token,
    vars: route.vars,
    clock,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Tokens signed with the real key for another purpose: never an access token. */
const otherPurpose: Record<string, string> = {};
beforeAll(async () => {
  const v = await verified();
  otherPurpose["vault team token"] = v.vaultToken;
  const login = await call("/api/auth/login", { form: { email: v.email, password: PASSWORD } });
  expect(login.status).toBe(200);
  otherPurpose["formauth refresh JWT"] = (await json(login)).refresh_token;
  for (const t of Object.values(otherPurpose)) expect(decodeJwt(t).sub).toBe(v.userId);
});

describe.each(DIALECTS)("$name: auth required", (dialect) => {
  let revoked: string;
  beforeAll(async () => {
    const s = await dialect.session();
    await s.logout();
    revoked = s.token;
  });

  describe.each(dialect.routes)("$method $path", (route) => {
    it("missing token", async () => {
      expect(await send(route, undefined)).toEqual(route.missing ?? dialect.missing);
    });

    it("malformed token", async () => {
      expect(await send(route, "not-a-jwt")).toEqual(dialect.invalid);
      expect(await send(route, `${"a".repeat(20)}.${"b".repeat(20)}.${"c".repeat(20)}`)).toEqual(
        dialect.invalid,
      );
    });

    // A route that takes expired tokens by design has no expired case (see Route.skip).
    const itExpired = route.skip?.expired ? () => {} : it;
    itExpired("expired token (the clock moved past its lifetime)", async () => {
      const s = await dialect.session();
      const clock = testClock();
      // Live at first (a harmless authenticated read, which also fills the verified-token cache)...
      const probe = await call("/directus/users/me", { token: s.token, clock });
      expect(probe.status).toBe(200);
      // ...and refused once the clock is past exp plus the verifier's leeway.
      clock.advance(dialect.ttl + CLOCK_TOLERANCE_MS / 1000 + 1);
      expect(await send(route, s.token, clock)).toEqual(dialect.expired);
    });

    it("revoked token (session logged out)", async () => {
      expect(await send(route, revoked)).toEqual(dialect.invalid);
    });

    it("token of another purpose", async () => {
      for (const [what, token] of Object.entries(otherPurpose)) {
        expect(await send(route, token), what).toEqual(dialect.invalid);
      }
    });
  });
});
