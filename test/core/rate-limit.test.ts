/**
 * Where the per-IP windows are counted (core/rate-limit/ip-limiter.ts): exactly in the isolate,
 * across isolates in the Workers Rate Limiting bindings (the frequent routes) or in D1 (the hourly
 * mail windows), and never in KV. Each test fills the shared count from outside this isolate's
 * memory and shows the route honours it.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RATE_LIMIT_BINDINGS, type RateLimitBinding } from "../../src/core/rate-limit/bindings";
import { createIpLimiter } from "../../src/core/rate-limit/ip-limiter";
import { createRateWindowStore } from "../../src/core/rate-limit/windows.store";
import { createDb } from "../../src/db/client";
import { hcall, signUp } from "../dialects/hanko/support";
import { activeUser, lastMail, PASSWORD, uniqueEmail } from "../dialects/hbp/helpers";
import { submit } from "../pages/support";
import { call, freshIp, type Vars } from "../support/app";

const windows = createRateWindowStore(createDb(env.DB));
const binding = (name: string) => env[name] as RateLimitBinding;
const HOUR = 3_600_000;
const hourStart = () => Math.floor(Date.now() / HOUR) * HOUR;

/** Spends `n` of the binding's count for `key`, as requests to other isolates would. */
async function spend(name: string, key: string, n: number) {
  for (let i = 0; i < n; i++) expect((await binding(name).limit({ key })).success).toBe(true);
}

const kvOps = (res: Response) => /kv;desc="([^"]*)"/.exec(res.headers.get("server-timing") ?? "")?.[1];

/** One request of each limit the bindings carry, with the status it answers when admitted. */
const ROUTES: [keyof typeof RATE_LIMIT_BINDINGS, number, number, (ip: string) => Promise<Response>][] = [
  ["login", 20, 401, (ip) => call("/auth/login", { json: { email: uniqueEmail(), password: PASSWORD }, ip })],
  [
    "register",
    10,
    200,
    (ip) => call("/auth/register", { json: { email: uniqueEmail(), password: PASSWORD }, ip }),
  ],
  ["refresh", 150, 401, (ip) => call("/auth/token/refresh?refresh_token=unknown", { ip })],
  ["verify", 30, 401, (ip) => call("/auth/activate?ticket=guess", { ip })],
  [
    "existence",
    10,
    404,
    (ip) => call("/user", { json: { email: uniqueEmail() }, ip, vars: { ACCOUNT_EXISTENCE_HINTS: "true" } }),
  ],
];

describe("Rate Limiting bindings (per IP, across isolates)", () => {
  it("the test pool has every binding wrangler.toml declares", () => {
    for (const name of Object.values(RATE_LIMIT_BINDINGS))
      expect(typeof binding(name)?.limit, name).toBe("function");
  });

  for (const [limit, max, admitted, request] of ROUTES) {
    it(`${limit}: a key the binding has used up is refused (429, Retry-After 60) though this isolate counted nothing`, async () => {
      const ip = freshIp();
      await spend(RATE_LIMIT_BINDINGS[limit], `${limit}:${ip}`, max);
      const refused = await request(ip);
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toBe("60");
      expect((await request(freshIp())).status).toBe(admitted);
    });
  }

  it("each admitted request is counted in the binding", async () => {
    const ip = freshIp();
    for (let i = 0; i < 3; i++) expect((await call("/auth/activate?ticket=guess", { ip })).status).toBe(401);
    await spend("RL_VERIFY", `verify:${ip}`, 27);
    expect((await binding("RL_VERIFY").limit({ key: `verify:${ip}` })).success).toBe(false);
  });

  it("RATE_LIMITS_ENABLED=false (the bench) consults nothing", async () => {
    const ip = freshIp();
    await spend("RL_LOGIN", `login:${ip}`, 20);
    const vars: Vars = { RATE_LIMITS_ENABLED: "false" };
    const res = await call("/auth/login", { json: { email: uniqueEmail(), password: PASSWORD }, ip, vars });
    expect(res.status).toBe(401);
  });
  it("without a binding (outside production) a limit is counted in the isolate alone", async () => {
    const limiter = createIpLimiter({
      windows,
      bindings: {},
      clock: { now: () => Date.now() },
      enabled: true,
    });
    const ip = freshIp();
    await spend("RL_EXISTENCE", `existence:${ip}`, 10);
    const outcomes: string[] = [];
    for (let i = 0; i < 12; i++)
      // A refusal in the isolate is thrown synchronously: run each hit inside a promise.
      await Promise.resolve()
        .then(() => limiter.hit("existence", ip))
        .then(
          () => outcomes.push("admitted"),
          () => outcomes.push("refused"),
        );
    expect(outcomes.filter((o) => o === "admitted")).toHaveLength(10);
  });
});

/** Email-change links mailed to `to`, and the user's open email-change tickets. */
async function emailChangeState(userId: string, to: string) {
  return env.DB.prepare(
    `SELECT (SELECT count(*) FROM outbox WHERE "to" = ?2 AND kind = 'email_change') AS mails,
            (SELECT count(*) FROM tickets WHERE user_id = ?1 AND purpose = 'email_change' AND used_at IS NULL) AS open`,
  )
    .bind(userId, to)
    .first<{ mails: number; open: number }>();
}

describe("hourly mail windows in D1 (per IP and per recipient)", () => {
  it("mail per IP: a count other isolates have filled refuses the route; each request adds one", async () => {
    const ip = freshIp();
    const res = await call("/auth/change-password/request", { json: { email: uniqueEmail() }, ip });
    expect(res.status).toBe(204);
    // The route's own hit is in D1: nine more fill the hour.
    for (let i = 0; i < 8; i++) await windows.hit(`mail:3600:${ip}`, hourStart());
    expect(await windows.hit(`mail:3600:${ip}`, hourStart())).toBe(10);
    const refused = await call("/auth/change-password/request", { json: { email: uniqueEmail() }, ip });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(3600);
  });

  it("mail per recipient: past 10 in the hour no passcode is stored or mailed, the answer unchanged", async () => {
    const u = await signUp();
    const sent = async () =>
      (await env.DB.prepare(`SELECT count(*) AS n FROM outbox WHERE "to" = ? AND kind = 'passcode'`)
        .bind(u.email)
        .first<{ n: number }>())!.n;
    const stored = async () =>
      (await env.DB.prepare("SELECT count(*) AS n FROM passcodes WHERE user_id = ?")
        .bind(u.userId)
        .first<{ n: number }>())!.n;
    // Nine hits from elsewhere: the tenth mail of the hour still goes out, counted in the send's batch.
    for (let i = 0; i < 9; i++) await windows.hit(`recipient:3600:${u.email}`, hourStart());
    const init = () => hcall("/passcode/login/initialize", { json: { user_id: u.userId }, ip: freshIp() });
    const first = await init();
    expect(first.status).toBe(200);
    expect([await sent(), await stored()]).toEqual([1, 1]);
    const over = await init();
    expect(over.status).toBe(200);
    expect(Object.keys(JSON.parse(await over.text())).sort()).toEqual(
      Object.keys(JSON.parse(await first.text())).sort(),
    );
    expect([await sent(), await stored()]).toEqual([1, 1]);
  });

  it("mail per recipient: a sign-up passcode past 10 in the hour is neither stored nor mailed", async () => {
    const email = uniqueEmail("jit");
    const ids = JSON.parse(await (await call("/user", { json: { email } })).text());
    for (let i = 0; i < 10; i++) await windows.hit(`recipient:3600:${email}`, hourStart());
    const res = await call("/passcode/login/initialize", {
      json: { user_id: ids.id, email_id: ids.email_id },
      ip: freshIp(),
    });
    expect(res.status).toBe(200);
    const rows = await env.DB.prepare(
      `SELECT (SELECT count(*) FROM outbox WHERE "to" = ?1) AS mails,
              (SELECT count(*) FROM tickets WHERE purpose = 'signup_passcode' AND json_extract(data, '$.address') = ?1) AS codes`,
    )
      .bind(email)
      .first<{ mails: number; codes: number }>();
    expect(rows).toEqual({ mails: 0, codes: 0 });
  });

  it("reset per recipient: past 10 in the hour no ticket replaces the open link and no mail goes out", async () => {
    const u = await activeUser();
    const outbox = async () =>
      (await env.DB.prepare(`SELECT count(*) AS n FROM outbox WHERE "to" = ? AND kind = 'password_reset'`)
        .bind(u.email)
        .first<{ n: number }>())!.n;
    const tickets = async () =>
      (await env.DB.prepare(
        "SELECT count(*) AS n FROM tickets WHERE user_id = ? AND purpose = 'password_reset' AND used_at IS NULL",
      )
        .bind(u.userId)
        .first<{ n: number }>())!.n;
    expect((await call("/auth/change-password/request", { json: { email: u.email } })).status).toBe(204);
    const { ticket } = (await lastMail(u.email, "password_reset")).data;
    // Nine more hits fill the recipient's hour (other requests, other isolates).
    for (let i = 0; i < 9; i++) await windows.hit(`recipient:3600:${u.email}`, hourStart());
    // Parallel floods from fresh addresses: each answers as before, none writes a ticket or a mail.
    const flood = await Promise.all(
      Array.from({ length: 5 }, () =>
        call("/auth/change-password/request", { json: { email: u.email }, ip: freshIp() }),
      ),
    );
    expect(flood.map((r) => r.status)).toEqual([204, 204, 204, 204, 204]);
    expect(await outbox()).toBe(1);
    expect(await tickets()).toBe(1);
    // The link the owner was sent still works.
    const reset = await call("/auth/change-password/change", {
      json: { ticket, new_password: "a new passphrase 1" },
    });
    expect(reset.status).toBe(204);
  });

  it("reset per recipient: 30 parallel requests for one address send at most 10 mails, one open ticket", async () => {
    const u = await activeUser();
    const res = await Promise.all(
      Array.from({ length: 30 }, () =>
        call("/auth/change-password/request", { json: { email: u.email }, ip: freshIp() }),
      ),
    );
    expect(res.every((r) => r.status === 204)).toBe(true);
    const sent = await env.DB.prepare(
      `SELECT count(*) AS n FROM outbox WHERE "to" = ? AND kind = 'password_reset'`,
    )
      .bind(u.email)
      .first<{ n: number }>();
    expect(sent!.n).toBe(10);
    const open = await env.DB.prepare(
      "SELECT count(*) AS n FROM tickets WHERE user_id = ? AND purpose = 'password_reset' AND used_at IS NULL",
    )
      .bind(u.userId)
      .first<{ n: number }>();
    expect(open!.n).toBe(1);
  });

  it("email change request per IP: counted in the request's batch; past 10 it is refused and writes nothing", async () => {
    const u = await activeUser();
    const ip = freshIp();
    const to = uniqueEmail("next");
    const request = () => call("/auth/change-email/request", { json: { new_email: to }, token: u.jwt, ip });
    expect((await request()).status).toBe(204);
    // The request's own hit is in D1: nine more fill the hour.
    for (let i = 0; i < 8; i++) await windows.hit(`mail:3600:${ip}`, hourStart());
    expect(await windows.hit(`mail:3600:${ip}`, hourStart())).toBe(10);
    const { ticket } = (await lastMail(to, "email_change")).data;
    const refused = await request();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await emailChangeState(u.userId, to)).toEqual({ mails: 1, open: 1 });
    // The refused request spent nothing: the link sent before still works.
    expect((await call("/auth/change-email/change", { json: { ticket } })).status).toBe(204);
  });

  it("passcode initialize per IP: counted in the send's batch; past 10 it is refused and counts or stores nothing else", async () => {
    const u = await signUp();
    const ip = freshIp();
    const init = () => hcall("/passcode/login/initialize", { json: { user_id: u.userId }, ip });
    expect((await init()).status).toBe(200);
    for (let i = 0; i < 8; i++) await windows.hit(`mail:3600:${ip}`, hourStart());
    expect(await windows.hit(`mail:3600:${ip}`, hourStart())).toBe(10);
    const state = async () =>
      env.DB.prepare(
        `SELECT (SELECT count(*) FROM passcodes WHERE user_id = ?1) AS codes,
                (SELECT count FROM attempt_counters WHERE key = 'passcode-send:60:' || ?1) AS sends,
                (SELECT count FROM rate_windows WHERE key = 'recipient:3600:' || ?2) AS recipient`,
      )
        .bind(u.userId, u.email)
        .first<{ codes: number; sends: number; recipient: number }>();
    expect(await state()).toEqual({ codes: 1, sends: 1, recipient: 1 });
    const refused = await init();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await state()).toEqual({ codes: 1, sends: 1, recipient: 1 });
  });

  it("sign-in page passcode per IP: counted once, in the send's batch; past 10 it is refused and stores nothing", async () => {
    const u = await activeUser();
    const ip = freshIp();
    const ask = () => submit("/login", { email: u.email, method: "code" }, { ip });
    const state = async () =>
      env.DB.prepare(
        `SELECT (SELECT count(*) FROM passcodes WHERE user_id = ?1) AS codes,
                (SELECT count FROM rate_windows WHERE key = 'mail:3600:' || ?2) AS route`,
      )
        .bind(u.userId, ip)
        .first<{ codes: number; route: number }>();
    expect((await ask()).status).toBe(200);
    // One request, one count.
    expect(await state()).toEqual({ codes: 1, route: 1 });
    for (let i = 0; i < 8; i++) await windows.hit(`mail:3600:${ip}`, hourStart());
    expect(await windows.hit(`mail:3600:${ip}`, hourStart())).toBe(10);
    const refused = await ask();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await refused.text()).toContain("Too many");
    expect(await state()).toEqual({ codes: 1, route: 11 });
  });

  it("magic-link request per IP: counted in the link's batch; past 10 it is refused and stores nothing", async () => {
    const magic = { MAGIC_LINK_ENABLED: "true" };
    const email = uniqueEmail("magic");
    await call("/auth/register", { json: { email }, vars: magic });
    const ip = freshIp();
    const ask = () => call("/auth/login", { json: { email }, vars: magic, ip });
    const links = async () =>
      (await env.DB.prepare(
        `SELECT count(*) AS n FROM tickets t JOIN emails e ON e.user_id = t.user_id
          WHERE e.address = ? AND t.purpose = 'magic_link'`,
      )
        .bind(email)
        .first<{ n: number }>())!.n;
    expect((await ask()).status).toBe(200);
    expect(await links()).toBe(1);
    for (let i = 0; i < 8; i++) await windows.hit(`mail:3600:${ip}`, hourStart());
    expect(await windows.hit(`mail:3600:${ip}`, hourStart())).toBe(10);
    const refused = await ask();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await links()).toBe(1);
    // An unknown address is counted the same (the answer tells nothing either way).
    const other = freshIp();
    expect(
      (await call("/auth/login", { json: { email: uniqueEmail() }, vars: magic, ip: other })).status,
    ).toBe(200);
    expect(await windows.hit(`mail:3600:${other}`, hourStart())).toBe(2);
  });

  it("magic-link request per recipient: past 10 in the hour no link is stored or mailed, the answer unchanged", async () => {
    const magic = { MAGIC_LINK_ENABLED: "true" };
    const email = uniqueEmail("magic");
    await call("/auth/register", { json: { email }, vars: magic });
    const mails = async () =>
      (await env.DB.prepare(`SELECT count(*) AS n FROM outbox WHERE "to" = ? AND kind = 'magic_link'`)
        .bind(email)
        .first<{ n: number }>())!.n;
    // The sign-up's link counted one; eight more and this request's fill the hour.
    for (let i = 0; i < 8; i++) await windows.hit(`recipient:3600:${email}`, hourStart());
    expect((await call("/auth/login", { json: { email }, vars: magic })).status).toBe(200);
    expect(await mails()).toBe(2);
    const flood = await Promise.all(
      Array.from({ length: 5 }, () => call("/auth/login", { json: { email }, vars: magic })),
    );
    expect(flood.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await mails()).toBe(2);
  });

  it("email change request per recipient: past 10 in the hour no ticket replaces the open link and no mail goes out", async () => {
    const u = await activeUser();
    const to = uniqueEmail("next");
    const request = () =>
      call("/auth/change-email/request", { json: { new_email: to }, token: u.jwt, ip: freshIp() });
    expect((await request()).status).toBe(204);
    const { ticket } = (await lastMail(to, "email_change")).data;
    for (let i = 0; i < 9; i++) await windows.hit(`recipient:3600:${to}`, hourStart());
    const flood = await Promise.all(Array.from({ length: 5 }, request));
    expect(flood.map((r) => r.status)).toEqual([204, 204, 204, 204, 204]);
    expect(await emailChangeState(u.userId, to)).toEqual({ mails: 1, open: 1 });
    expect((await call("/auth/change-email/change", { json: { ticket } })).status).toBe(204);
  });

  it("email change request: 30 parallel requests for one address send at most 10 mails, one open ticket", async () => {
    const u = await activeUser();
    const to = uniqueEmail("next");
    const res = await Promise.all(
      Array.from({ length: 30 }, () =>
        call("/auth/change-email/request", { json: { new_email: to }, token: u.jwt, ip: freshIp() }),
      ),
    );
    expect(res.every((r) => r.status === 204)).toBe(true);
    expect(await emailChangeState(u.userId, to)).toEqual({ mails: 10, open: 1 });
  });

  it("email change request to a taken address (hints off): the holder's notices count in its window", async () => {
    const a = await activeUser();
    const b = await activeUser();
    for (let i = 0; i < 9; i++) await windows.hit(`recipient:3600:${b.email}`, hourStart());
    const request = () =>
      call("/auth/change-email/request", { json: { new_email: b.email }, token: a.jwt, ip: freshIp() });
    const notices = async () =>
      (await env.DB.prepare(
        `SELECT count(*) AS n FROM outbox WHERE "to" = ? AND kind = 'address_taken_email_change'`,
      )
        .bind(b.email)
        .first<{ n: number }>())!.n;
    expect((await request()).status).toBe(204);
    expect(await notices()).toBe(1);
    expect((await request()).status).toBe(204);
    expect(await notices()).toBe(1);
    expect(await emailChangeState(a.userId, b.email)).toEqual({ mails: 0, open: 0 });
  });

  it("one upsert counts parallel hits exactly and starts a newer window over", async () => {
    const key = `test:${crypto.randomUUID()}`;
    const counts = await Promise.all(Array.from({ length: 20 }, () => windows.hit(key, 1_000)));
    expect(counts.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await windows.hit(key, 2_000)).toBe(1);
    // A hit stamped with the older window (another isolate's clock) counts in the current one.
    expect(await windows.hit(key, 1_000)).toBe(2);
  });
});

describe("no KV on the request path", () => {
  const noKv = 'kv;desc="0 reads, 0 writes"';
  it("login, refresh, register and the mail routes read and write no KV", async () => {
    const s = await activeUser();
    const responses: [string, Response][] = [
      ["login", await call("/auth/login", { json: { email: s.email, password: PASSWORD, cookie: false } })],
      ["failed login", await call("/auth/login", { json: { email: s.email, password: "wrong password" } })],
      ["refresh", await call(`/auth/token/refresh?refresh_token=${s.refresh}`)],
      ["register", await call("/auth/register", { json: { email: uniqueEmail(), password: PASSWORD } })],
      ["reset mail", await call("/auth/change-password/request", { json: { email: s.email } })],
      [
        "magic link",
        await call("/auth/login", { json: { email: s.email }, vars: { MAGIC_LINK_ENABLED: "true" } }),
      ],
    ];
    const u = await signUp();
    responses.push(["passcode", await hcall("/passcode/login/initialize", { json: { user_id: u.userId } })]);
    for (const [what, res] of responses) {
      expect(res.status, what).toBeLessThan(500);
      expect(`kv;desc="${kvOps(res)}"`, what).toBe(noKv);
    }
    expect(responses.map(([, r]) => r.status)).toEqual([200, 401, 200, 200, 204, 200, 200]);
  });
});
