// e2e-vars: REDIRECT_URL_SUCCESS=http://localhost:3000/welcome REDIRECT_URL_ERROR=http://localhost:3000/oops AUTO_ACTIVATE_NEW_USERS=false MFA_ENABLED=true
// HBP dialect with the real client, nhost-js-sdk@3.1.0, in Node (shared/notes/real-clients.md §3):
// register, activation through the mailed link, login, refresh, change password, MFA with codes from
// Debian's oathtool, logout; then the access token is verified through /auth/jwks by an independent
// verifier (Debian python3-jwt), and a tampered token is rejected.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { NhostClient } from "nhost-js-sdk";
import { API, step, stepsPassed } from "./steps.mjs";

const run = promisify(execFile);
const REDIRECT = "http://localhost:3000/welcome";
const REDIRECT_ERROR = "http://localhost:3000/oops";

/** localStorage stand-in for the SDK's "web" client storage. */
function memoryStorage() {
  const m = new Map();
  return {
    map: m,
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => void m.set(k, String(v)),
    removeItem: (k) => void m.delete(k),
  };
}

function newClient() {
  const clientStorage = memoryStorage();
  const nhost = new NhostClient({
    baseURL: API,
    ssr: false,
    clientStorage,
    clientStorageType: "web",
    autoLogin: false,
    useCookies: false,
  });
  return { nhost, auth: nhost.auth, storage: clientStorage };
}

/** The axios error a failing SDK call throws, with its Boom body. */
async function sdkError(promise) {
  try {
    await promise;
  } catch (e) {
    if (!e.response) throw e;
    return { status: e.response.status, body: e.response.data };
  }
  assert.fail("expected the SDK call to fail");
}

/** RFC 6238 code from Debian's oathtool for the time `at` (epoch seconds). */
async function oathtool(secret, at) {
  const { stdout } = await run("oathtool", ["--totp", "-b", "-N", `@${at}`, secret]);
  const code = stdout.trim();
  assert.match(code, /^\d{6}$/);
  return code;
}

/** Runs /usr/bin/python3 (Debian's, with python3-jwt) on a script; resolves to {code, stdout, stderr}. */
async function python(script, args) {
  try {
    const { stdout, stderr } = await run("/usr/bin/python3", ["-c", script, ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    if (typeof e.code !== "number") throw e;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const VERIFY_PY = `
import json, sys, jwt
url, token, issuer = sys.argv[1], sys.argv[2], sys.argv[3]
header = jwt.get_unverified_header(token)
key = jwt.PyJWKClient(url).get_signing_key_from_jwt(token)
try:
    claims = jwt.decode(token, key.key, algorithms=[header["alg"]], audience="latchkey", issuer=issuer)
except jwt.InvalidTokenError as e:
    print(type(e).__name__)
    sys.exit(3)
print(json.dumps({"alg": header["alg"], "kid": header.get("kid"), "claims": claims}))
`;

const email = `e2e-hbp-${randomUUID().slice(0, 8)}@example.com`;
const password = `first-${randomUUID()}`;
const newPassword = `second-${randomUUID()}`;
let userId;
let accessToken;
const { auth, storage } = newClient();

console.log(`hbp e2e against ${API} as ${email}`);

await step("register (not auto-activated): no session, user returned", async () => {
  const r = await auth.register({ email, password, options: { userData: { display_name: "E2E User" } } });
  assert.equal(r.session, null);
  assert.equal(r.user.email, email);
  assert.equal(r.user.display_name, "E2E User");
  assert.match(r.user.id, /^[0-9a-f-]{36}$/);
  userId = r.user.id;
  assert.notEqual(auth.isAuthenticated(), true);
});

await step("login before activation is refused with HBP's Boom body", async () => {
  const err = await sdkError(auth.login({ email, password }));
  assert.deepEqual(err, {
    status: 400,
    body: { statusCode: 400, error: "Bad Request", message: "Account is not activated." },
  });
});

let redirectRefreshToken;
await step(
  "activation: link from the outbox, 302 to REDIRECT_URL_SUCCESS with refresh_token, once",
  async () => {
    const res = await fetch(`${API}/_dev/outbox?to=${encodeURIComponent(email)}`);
    assert.equal(res.status, 200);
    const mails = await res.json();
    const mail = mails.find((m) => m.kind === "activation");
    assert.ok(mail, `no activation mail in ${JSON.stringify(mails)}`);
    const link = mail.data.link;
    assert.ok(link.startsWith(`${API}/auth/activate?ticket=`), link);
    assert.ok(mail.text.includes(link));

    const landing = await fetch(link, { redirect: "manual" });
    assert.equal(landing.status, 302);
    const location = new URL(landing.headers.get("location"));
    assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
    redirectRefreshToken = location.searchParams.get("refresh_token");
    assert.ok(redirectRefreshToken);

    // The link works once; a used ticket lands on REDIRECT_URL_ERROR without a token.
    const again = await fetch(link, { redirect: "manual" });
    assert.equal(again.status, 302);
    assert.equal(again.headers.get("location"), REDIRECT_ERROR);
  },
);

await step("the redirect's refresh_token is a session (the SDK's URL pick-up path)", async () => {
  // In a browser the SDK constructor stores ?refresh_token= from the URL; refreshSession() uses it.
  const c = newClient();
  c.storage.setItem("nhostRefreshToken", redirectRefreshToken);
  await c.auth.refreshSession();
  assert.equal(c.auth.isAuthenticated(), true);
  assert.equal(c.auth.getClaim("x-hasura-user-id"), userId);
  assert.notEqual(c.storage.getItem("nhostRefreshToken"), redirectRefreshToken, "refresh rotates");
  await c.auth.logout();
  assert.equal(c.auth.isAuthenticated(), false);
});

await step("login: session with jwt_expires_in in ms, Hasura claims, refresh token stored", async () => {
  const r = await auth.login({ email, password });
  assert.equal(r.mfa, undefined);
  assert.equal(r.session.jwt_expires_in, 900_000);
  assert.equal(r.user.id, userId);
  assert.equal(r.user.email, email);
  assert.equal(auth.isAuthenticated(), true);
  assert.equal(auth.getClaim("x-hasura-user-id"), userId);
  assert.equal(auth.getClaim("x-hasura-default-role"), "user");
  assert.ok(auth.getClaim("x-hasura-allowed-roles").includes("user"));
  assert.ok(storage.getItem("nhostRefreshToken"));
  accessToken = auth.getJWTToken();
});

await step("refreshSession rotates the refresh token and issues a new access token", async () => {
  const before = storage.getItem("nhostRefreshToken");
  const jwtBefore = auth.getJWTToken();
  await auth.refreshSession();
  const after = storage.getItem("nhostRefreshToken");
  assert.ok(after);
  assert.notEqual(after, before);
  assert.equal(auth.isAuthenticated(), true);
  assert.ok(auth.getJWTToken());
  assert.equal(auth.getClaim("x-hasura-user-id"), userId);
  if (auth.getJWTToken() === jwtBefore) console.log("    (same-second access token is identical)");
});

await step("changePassword, then the old password fails and the new one logs in", async () => {
  await auth.changePassword(password, newPassword);
  const other = newClient();
  const err = await sdkError(other.auth.login({ email, password }));
  assert.deepEqual(err, {
    status: 401,
    body: { statusCode: 401, error: "Unauthorized", message: "Username and password do not match" },
  });
  const r = await other.auth.login({ email, password: newPassword });
  assert.equal(r.user.id, userId);
  await other.auth.logout();
});

// Codes are taken for three consecutive steps S-1, S, S+1 around the current step S (the server
// accepts ±1 step and never the same step twice), so start well inside a step.
const now = () => Math.floor(Date.now() / 1000);
if (now() % 30 > 20) await new Promise((r) => setTimeout(r, (31 - (now() % 30)) * 1000));
const t0 = now();

let otpSecret;
await step("MFAGenerate returns an otp_secret and a QR image_url", async () => {
  const r = await auth.MFAGenerate();
  assert.match(r.otp_secret, /^[A-Z2-7]+=*$/);
  assert.match(r.image_url, /^data:image\//);
  otpSecret = r.otp_secret;
});

await step("MFAEnable with an oathtool code", async () => {
  const code = await oathtool(otpSecret, t0 - 30);
  const wrong = await sdkError(auth.MFAEnable(code === "000000" ? "111111" : "000000"));
  assert.equal(wrong.status, 401);
  await auth.MFAEnable(code);
});

let totpCode;
await step("login now answers {mfa, ticket}; MFATotp with an oathtool code gives the session", async () => {
  const c = newClient();
  const r = await c.auth.login({ email, password: newPassword });
  assert.equal(r.session, null);
  assert.ok(r.mfa?.ticket);
  assert.notEqual(c.auth.isAuthenticated(), true);
  totpCode = await oathtool(otpSecret, t0);
  const s = await c.auth.MFATotp(totpCode, r.mfa.ticket);
  assert.equal(s.user.id, userId);
  assert.equal(s.session.jwt_expires_in, 900_000);
  assert.equal(c.auth.isAuthenticated(), true);
  assert.equal(c.auth.getClaim("x-hasura-user-id"), userId);
  accessToken = c.auth.getJWTToken();
  await c.auth.logout();
});

await step("a replayed TOTP code is refused", async () => {
  const c = newClient();
  const r = await c.auth.login({ email, password: newPassword });
  assert.ok(r.mfa?.ticket);
  const err = await sdkError(c.auth.MFATotp(totpCode, r.mfa.ticket));
  assert.deepEqual(err, {
    status: 401,
    body: { statusCode: 401, error: "Unauthorized", message: "Invalid two-factor code." },
  });
  assert.notEqual(c.auth.isAuthenticated(), true);
});

await step("MFADisable with the next code; login gives a session directly again", async () => {
  await auth.MFADisable(await oathtool(otpSecret, t0 + 30));
  const c = newClient();
  const r = await c.auth.login({ email, password: newPassword });
  assert.equal(r.mfa, undefined);
  assert.equal(r.user.id, userId);
  await c.auth.logout();
});

await step("logout revokes the session's refresh token and clears the client", async () => {
  const rt = storage.getItem("nhostRefreshToken");
  assert.ok(rt);
  await auth.logout();
  assert.equal(auth.isAuthenticated(), false);
  assert.equal(storage.getItem("nhostRefreshToken"), null);
  const res = await fetch(`${API}/auth/token/refresh?refresh_token=${encodeURIComponent(rt)}`);
  assert.equal(res.status, 401);
});

await step("the access token verifies through /auth/jwks with python3-jwt", async () => {
  const r = await python(VERIFY_PY, [`${API}/auth/jwks`, accessToken, API]);
  assert.equal(r.code, 0, `python3-jwt refused the token: ${r.stdout}${r.stderr}`);
  const out = JSON.parse(r.stdout);
  assert.ok(out.kid, "the token header has a kid");
  assert.equal(out.claims.sub, userId);
  assert.equal(out.claims.aud, "latchkey");
  assert.equal(out.claims["https://hasura.io/jwt/claims"]["x-hasura-user-id"], userId);
  console.log(`    verified ${out.alg} kid=${out.kid}`);
});

await step("a tampered access token is rejected by python3-jwt", async () => {
  const [h, p, sig] = accessToken.split(".");
  const claims = JSON.parse(Buffer.from(p, "base64url").toString());
  claims.sub = randomUUID();
  claims["https://hasura.io/jwt/claims"]["x-hasura-user-id"] = claims.sub;
  const forged = [h, Buffer.from(JSON.stringify(claims)).toString("base64url"), sig].join(".");
  const r = await python(VERIFY_PY, [`${API}/auth/jwks`, forged, API]);
  assert.equal(r.code, 3, `expected a rejection, got ${r.code}: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout.trim(), "InvalidSignatureError");
});

console.log(`hbp e2e: ${stepsPassed()} steps passed`);
// nhost-js-sdk leaves its refresh intervals running.
process.exit(0);
