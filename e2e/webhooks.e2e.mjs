// e2e-vars: WEBHOOK_URL=http://127.0.0.1:47641/hooks WEBHOOK_SECRET=whsec_bGF0Y2hrZXkgZTJlIHdlYmhvb2sgc2lnbmluZyBrZXkh WEBHOOK_RETRY_DELAYS=1,2,3,3,3,3,3 ADMIN_API_KEY=Eq8em2DQf-weGWDGiinsyHPsWXvs6d4qx9WJXRaND1E AUTO_ACTIVATE_NEW_USERS=true RATE_LIMITS_ENABLED=false
// Webhooks through the real local queue of `wrangler dev` (producer, consumer, dead-letter queue
// and its consumer, all as wrangler.toml declares them) to a receiver on loopback (the one outside
// service, mocked here): sign-up, login, password change, email change, logout and an admin delete
// through the public API each arrive as their webhook, which the receiver verifies the way the
// Standard Webhooks spec asks (its own HMAC, not the Worker's); no secret, token or password in any.
// Retries: a receiver answering 500 to the first tries of a message gets it again with the same
// `webhook-id`, a fresh valid signature, after the configured delays (WEBHOOK_RETRY_DELAYS above:
// small, so the suite stays near a minute; production keeps the spec's 5 s .. 10 h); one that
// always fails sees the first try and max_retries (7) retries, then the message is dead-lettered
// and the operator finds it as a `webhook.dead_lettered` row in GET /v1/admin/audit.
import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { clientSteps, jsonClient, step, unique } from "./steps.mjs";

const HOOK_PORT = 47641;
const SECRET = "whsec_bGF0Y2hrZXkgZTJlIHdlYmhvb2sgc2lnbmluZyBrZXkh";
const ADMIN_KEY = "Eq8em2DQf-weGWDGiinsyHPsWXvs6d4qx9WJXRaND1E";
const RETRY_DELAYS = [1, 2, 3, 3, 3, 3, 3];
const MAX_RETRIES = 7; // wrangler.toml's [[queues.consumers]] max_retries
const PASSWORD = "correct horse battery staple";
const PASSWORD_2 = `${PASSWORD} two`;
// The Standard Webhooks spec's replay window: reject a timestamp further than 5 minutes from now.
const TOLERANCE_S = 300;

// --- The receiver -------------------------------------------------------------------------------

/** Standard Webhooks verification, written from the spec: HMAC-SHA-256 of "id.timestamp.body". */
function verify(headers, body) {
  const id = headers["webhook-id"];
  const ts = headers["webhook-timestamp"];
  const sigs = headers["webhook-signature"];
  if (!id || !ts || !sigs) return "missing header";
  if (!/^\d+$/.test(ts)) return "bad timestamp";
  if (Math.abs(Date.now() / 1000 - Number(ts)) > TOLERANCE_S) return "timestamp outside tolerance";
  const key = Buffer.from(SECRET.slice("whsec_".length), "base64");
  const want = createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest();
  for (const sig of sigs.split(" ")) {
    const [version, b64] = sig.split(",");
    if (version !== "v1" || !b64) continue;
    const got = Buffer.from(b64, "base64");
    if (got.length === want.length && timingSafeEqual(got, want)) return null;
  }
  return "no valid signature";
}

/** Every request the receiver got, in arrival order. */
const deliveries = [];
/** user id -> how many tries of each of that user's (new) messages to answer 500 (Infinity: all). */
const failFor = new Map();
/** Messages already seen when a plan started, so it applies only to later ones. */
const tries = new Map();

const receiver = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks).toString("utf8");
    let payload = null;
    try {
      payload = JSON.parse(raw);
    } catch {}
    const id = req.headers["webhook-id"];
    const n = (tries.get(id) ?? 0) + 1;
    tries.set(id, n);
    const plan = failFor.get(payload?.data?.user_id);
    const status = plan && n <= plan.tries && !plan.before.has(id) ? 500 : 204;
    deliveries.push({
      at: Date.now(),
      method: req.method,
      path: req.url,
      headers: req.headers,
      raw,
      payload,
      id,
      try: n,
      status,
      verdict: verify(req.headers, raw),
    });
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(status === 500 ? "not now" : "");
  });
});
await new Promise((r) => receiver.listen(HOOK_PORT, "127.0.0.1", r));

/** Answers 500 to the first `n` tries of every message about `userId` from now on. */
function failNext(userId, n) {
  failFor.set(userId, { tries: n, before: new Set(deliveries.map((d) => d.id)) });
}

/** Waits until `pick(deliveries)` is truthy (at most `ms`), returning it. */
async function until(what, pick, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = pick(deliveries);
    if (got) return got;
    if (Date.now() > deadline) {
      const seen = deliveries.map((d) => `${d.payload?.type}:${d.payload?.data?.user_id}#${d.try}`);
      assert.fail(`${what}: not delivered within ${ms} ms (seen: ${seen.join(", ")})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The accepted (2xx) delivery of a `type` webhook about `userId` matching `where`. */
const delivered = (type, userId, where = () => true) =>
  until(`${type} for ${userId}`, (all) =>
    all.find(
      (d) => d.status === 204 && d.payload?.type === type && d.payload.data?.user_id === userId && where(d),
    ),
  );

// --- The API ------------------------------------------------------------------------------------

const api = jsonClient({ "user-agent": "LatchkeyWebhookTest/1.0" });

const { ok, mailFor } = clientSteps(api);

const signUp = async (email) =>
  (await ok("/auth/register", { json: { email, password: PASSWORD, cookie: false } }, [200])).body;
const logIn = async (email, password) =>
  (await ok("/auth/login", { json: { email, password, cookie: false } }, [200])).body;

/** What must never be in a webhook: tokens, passwords, tickets, the signing and admin secrets. */
const secrets = new Set([PASSWORD, PASSWORD_2, SECRET, SECRET.slice(6), ADMIN_KEY]);
const keepSecret = (...values) => {
  for (const v of values) if (typeof v === "string" && v.length >= 8) secrets.add(v);
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let exitCode = 0;
try {
  const alice = unique("alice");
  const alice2 = unique("alice-new");
  let userId;
  let signUpSession;
  // Two more accounts for the retries and the dead-letter queue, which run beside the other steps
  // (they wait on the queue's timers): signed up now, failed from their next message on.
  const flaky = unique("flaky");
  const doomed = unique("doomed");
  const flakyId = (await signUp(flaky)).user.id;
  const doomedId = (await signUp(doomed)).user.id;

  await step("a sign-up arrives as user.created and session.created", async () => {
    const reg = await signUp(alice);
    userId = reg.user.id;
    keepSecret(reg.jwt_token, reg.refresh_token);
    const created = await delivered("user.created", userId);
    assert.deepEqual(created.payload, {
      type: "user.created",
      timestamp: created.payload.timestamp,
      data: { user_id: userId, method: "password" },
    });
    assert.match(created.payload.timestamp, ISO);
    const session = await delivered("session.created", userId);
    assert.deepEqual(session.payload.data, {
      user_id: userId,
      session_id: session.payload.data.session_id,
      methods: ["pwd"],
    });
    assert.match(session.payload.data.session_id, UUID);
    signUpSession = session.payload.data.session_id;
  });

  for (const id of [flakyId, doomedId]) {
    await delivered("user.created", id);
    await delivered("session.created", id);
  }
  failNext(flakyId, 2);
  failNext(doomedId, Number.POSITIVE_INFINITY);
  const flakyLogin = await logIn(flaky, PASSWORD);
  const doomedLogin = await logIn(doomed, PASSWORD);
  keepSecret(
    flakyLogin.jwt_token,
    flakyLogin.refresh_token,
    doomedLogin.jwt_token,
    doomedLogin.refresh_token,
  );

  let jwt;
  let loginSession;
  await step("a login arrives as session.created for a new session", async () => {
    const before = deliveries.length;
    const login = await logIn(alice, PASSWORD);
    jwt = login.jwt_token;
    keepSecret(login.jwt_token, login.refresh_token);
    const d = await delivered("session.created", userId, (x) => deliveries.indexOf(x) >= before);
    loginSession = d.payload.data.session_id;
    assert.notEqual(loginSession, signUpSession);
    assert.deepEqual(d.payload.data, { user_id: userId, session_id: loginSession, methods: ["pwd"] });
  });

  await step("a password change arrives as password.changed, and the other session as revoked", async () => {
    await ok("/auth/change-password", {
      json: { old_password: PASSWORD, new_password: PASSWORD_2 },
      token: jwt,
    });
    const d = await delivered("password.changed", userId);
    assert.deepEqual(d.payload.data, { user_id: userId, via: "change" });
    const revoked = await delivered("session.revoked", userId);
    assert.deepEqual(revoked.payload.data, {
      user_id: userId,
      session_id: signUpSession,
      reason: "security_change",
    });
  });

  await step("a confirmed email change arrives as email.changed with the new address", async () => {
    await ok("/auth/change-email/request", { json: { new_email: alice2 }, token: jwt });
    const mail = await mailFor(alice2, "email_change");
    keepSecret(mail.data.ticket);
    await ok("/auth/change-email/change", { json: { ticket: mail.data.ticket } });
    const d = await delivered("email.changed", userId);
    assert.deepEqual(d.payload.data, { user_id: userId, email: alice2 });
  });

  await step("a logout arrives as session.revoked with reason logout", async () => {
    const login = await logIn(alice2, PASSWORD_2);
    keepSecret(login.jwt_token, login.refresh_token);
    await ok(`/auth/logout?refresh_token=${encodeURIComponent(login.refresh_token)}`, { json: {} }, [204]);
    const d = await delivered("session.revoked", userId, (x) => x.payload.data.reason === "logout");
    const created = await delivered(
      "session.created",
      userId,
      (x) => x.payload.data.session_id !== loginSession && x.payload.data.session_id !== signUpSession,
    );
    assert.deepEqual(d.payload.data, {
      user_id: userId,
      session_id: created.payload.data.session_id,
      reason: "logout",
    });
  });

  await step("an admin delete arrives as user.deleted", async () => {
    await ok(`/v1/admin/users/${userId}`, { method: "DELETE", token: ADMIN_KEY }, [200, 204]);
    const d = await delivered("user.deleted", userId);
    assert.deepEqual(d.payload.data, { user_id: userId });
  });

  await step(
    "a message answered 500 twice comes again, same webhook-id, valid signature, with backoff",
    async () => {
      const ok204 = await delivered("session.created", flakyId, (d) => d.try === 3);
      const tries = deliveries.filter((d) => d.id === ok204.id);
      assert.deepEqual(
        tries.map((d) => [d.try, d.status, d.verdict]),
        [
          [1, 500, null],
          [2, 500, null],
          [3, 204, null],
        ],
      );
      // The same bytes every time, each try signed at its own time.
      assert.equal(new Set(tries.map((d) => d.raw)).size, 1);
      const stamps = tries.map((d) => Number(d.headers["webhook-timestamp"]));
      assert.ok(stamps[0] <= stamps[1] && stamps[1] <= stamps[2], `timestamps ${stamps}`);
      // Backoff: each retry comes no sooner than its delay after the failed try.
      for (let i = 1; i < tries.length; i++) {
        const gap = tries[i].at - tries[i - 1].at;
        assert.ok(gap >= RETRY_DELAYS[i - 1] * 1000 - 50, `retry ${i} after ${gap} ms`);
      }
    },
  );

  await step(
    `a message that always fails is tried ${MAX_RETRIES + 1} times, then dead-lettered and audited`,
    async () => {
      const first = await until("doomed session.created", (all) =>
        all.find(
          (d) =>
            d.payload?.type === "session.created" && d.payload.data.user_id === doomedId && d.status === 500,
        ),
      );
      // The audit row the dead-letter consumer writes, as an operator reads it.
      const deadline = Date.now() + 90_000;
      let row;
      while (!row) {
        const page = await ok(`/v1/admin/audit?user_id=${doomedId}`, { token: ADMIN_KEY }, [200]);
        row = page.body.events.find((e) => e.type === "webhook.dead_lettered");
        if (!row) {
          assert.ok(Date.now() < deadline, "no webhook.dead_lettered audit row within 90 s");
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      assert.deepEqual(row.data, {
        webhookId: first.id,
        event: "session.created",
        host: `127.0.0.1:${HOOK_PORT}`,
        payload: { user_id: doomedId, session_id: first.payload.data.session_id, methods: ["pwd"] },
      });
      const tries = deliveries.filter((d) => d.id === first.id);
      assert.deepEqual(
        tries.map((d) => [d.try, d.status, d.verdict]),
        Array.from({ length: MAX_RETRIES + 1 }, (_, i) => [i + 1, 500, null]),
      );
      // Dead means dead: no further try after the row.
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(deliveries.filter((d) => d.id === first.id).length, MAX_RETRIES + 1);
    },
  );

  await step(
    "every delivery is a signed POST of JSON, and none carries a secret, token or password",
    async () => {
      assert.ok(deliveries.length >= 20, `${deliveries.length} deliveries`);
      const types = new Set(deliveries.map((d) => d.payload?.type));
      assert.deepEqual([...types].sort(), [
        "email.changed",
        "password.changed",
        "session.created",
        "session.revoked",
        "user.created",
        "user.deleted",
      ]);
      for (const d of deliveries) {
        assert.equal(d.verdict, null, `${d.id}: ${d.verdict}`);
        assert.equal(d.method, "POST");
        assert.equal(d.path, "/hooks");
        assert.match(d.headers["content-type"], /^application\/json/);
        assert.match(d.id, /^msg_[0-9a-f]{32}$/);
        assert.deepEqual(Object.keys(d.payload).sort(), ["data", "timestamp", "type"]);
        const all = `${d.raw}\n${JSON.stringify(d.headers)}`;
        for (const s of secrets) assert.ok(!all.includes(s), `${d.payload.type} carries a secret`);
      }
      // A tampered body or another secret does not verify (the check above can fail).
      const d = deliveries[0];
      assert.equal(verify(d.headers, `${d.raw} `), "no valid signature");
    },
  );
} catch (e) {
  console.error(e);
  exitCode = 1;
} finally {
  receiver.close();
}
process.exit(exitCode);
