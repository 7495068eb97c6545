// e2e-mode: production
// wrangler.toml exactly as `npm run deploy` publishes it (ENVIRONMENT=production, MAIL_TRANSPORT=http),
// with test secrets and PUBLIC_URL https://latchkey.e2e.test: a short HBP flow with real HTTP mail to
// a local mail API (e2e/mail-sink.mjs): register -> activation mail -> open the link -> login.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { API, step, stepsPassed, unique } from "./steps.mjs";

const SINK = process.env.E2E_MAIL_SINK;
if (!SINK)
  throw new Error("E2E_MAIL_SINK is not set (this suite runs in production mode through npm run test:e2e)");
const PUBLIC_URL = "https://latchkey.e2e.test";
const email = unique("prod");
const password = `Pw-${randomBytes(9).toString("base64url")}`;

const post = (path, body) =>
  fetch(`${API}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** The newest message the mail API received for `to`, waiting up to 10 s (mail may go out after the answer). */
async function mailFor(to) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const list = await (await fetch(`${SINK}/messages?to=${encodeURIComponent(to)}`)).json();
    if (list.length) return list[0];
    if (Date.now() > deadline) assert.fail(`no mail for ${to} reached the mail API`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

let activationLink;

await step("the production configuration is complete: /health answers", async () => {
  const res = await fetch(`${API}/health`);
  const text = await res.text();
  assert.equal(res.status, 200, `status ${res.status}: ${text}`);
  assert.deepEqual(JSON.parse(text), { status: "ok" });
});

await step("/_dev/outbox does not exist in production", async () => {
  const res = await fetch(`${API}/_dev/outbox?to=${encodeURIComponent(email)}`);
  assert.equal(res.status, 404);
});

await step("register answers without a session (activation needed)", async () => {
  const res = await post("/auth/register", { email, password });
  assert.equal(res.status, 200, await res.clone().text());
  const body = await res.json();
  assert.equal(body.jwt_token, null);
  assert.equal(body.user.email, email);
});

await step(
  "the activation mail goes out over HTTP, from PUBLIC_URL's domain, linking to PUBLIC_URL",
  async () => {
    const m = await mailFor(email);
    assert.deepEqual(m.to, [email]);
    assert.equal(m.from, "Latchkey <no-reply@latchkey.e2e.test>");
    const link = /https:\/\/latchkey\.e2e\.test\/auth\/activate\?ticket=[A-Za-z0-9_-]+/.exec(m.text)?.[0];
    assert.ok(link, `no activation link in: ${m.text}`);
    assert.ok(m.html.includes(link));
    activationLink = link;
  },
);

await step("login before activation is refused", async () => {
  const res = await post("/auth/login", { email, password });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).message, "Account is not activated.");
});

await step("opening the link activates and redirects to PUBLIC_URL with a refresh token", async () => {
  const res = await fetch(activationLink.replace(PUBLIC_URL, API), { redirect: "manual" });
  assert.equal(res.status, 302);
  const location = new URL(res.headers.get("location"));
  assert.equal(location.origin, PUBLIC_URL);
  assert.match(location.searchParams.get("refresh_token") ?? "", /^[A-Za-z0-9_-]{40,}$/);
});

await step("login gives an access token signed by the configured key, issued by PUBLIC_URL", async () => {
  const res = await post("/auth/login", { email, password });
  assert.equal(res.status, 200, await res.clone().text());
  const { jwt_token: jwt } = await res.json();
  const [header, payload] = jwt
    .split(".")
    .slice(0, 2)
    .map((p) => JSON.parse(Buffer.from(p, "base64url")));
  assert.equal(header.alg, "ES256");
  assert.match(
    header.kid,
    /^k-\d{8}-[0-9a-f]{6}$/,
    "a key from JWT_PRIVATE_KEYS, not a generated development key",
  );
  assert.equal(payload.iss, PUBLIC_URL);
  const jwks = await (await fetch(`${API}/auth/jwks`)).json();
  assert.ok(jwks.keys.some((k) => k.kid === header.kid && !("d" in k)));
  // The token works on another dialect too (hanko's GET /me names the signed-in user).
  const me = await fetch(`${API}/me`, { headers: { authorization: `Bearer ${jwt}` } });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).id, payload.sub);
});

console.log(`production e2e: ${stepsPassed()} steps passed`);
