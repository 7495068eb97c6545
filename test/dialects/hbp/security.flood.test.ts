/**
 * Login floods must not stall the isolate: the per-IP window and a hash slot (MAX_PENDING_HASHES
 * per isolate) are decided synchronously when a credential request arrives, before any await and
 * before its body is read, so the surplus is answered 429/503 at once instead of queueing behind
 * ~170 ms password hashes that block every request of the isolate.
 */
import { describe, expect, it } from "vitest";
import { CAPPED } from "../../support/app";
import {
  activeUser,
  awayFromMinuteEdge,
  call,
  json,
  burstIp as oneIp,
  PASSWORD,
  sleep,
  statuses,
  uniqueEmail,
} from "./helpers";

const parallel = <T>(n: number, f: (i: number) => Promise<T>) =>
  Promise.all(Array.from({ length: n }, (_, i) => f(i)));

/** A login whose body never arrives until `release()`: it can only be refused without reading it. */
function stalledLogin(path: string, ip: string) {
  let close!: () => void;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"email":'));
      close = () => {
        controller.enqueue(new TextEncoder().encode(`"${uniqueEmail()}","password":"${PASSWORD}"}`));
        controller.close();
      };
    },
  });
  const res = call(path, {
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
    ip,
    vars: CAPPED,
  });
  return { res, release: () => close() };
}

const BUSY = { statusCode: 503, error: "Service Unavailable", message: "The server is busy. Try again." };

describe("a burst of 50 logins from one IP", () => {
  it("hashes at most MAX_PENDING_HASHES (2) at once; 18 more get 503 and 30 get 429, all at once", async () => {
    await awayFromMinuteEdge();
    const s = await activeUser();
    const ip = oneIp();
    const rs = await parallel(50, () =>
      call("/auth/login", { json: { email: s.email, password: PASSWORD }, ip, vars: CAPPED }),
    );
    expect(statuses(rs)).toEqual({ 200: 2, 503: 18, 429: 30 });
    const busy = rs.find((r) => r.status === 503)!;
    expect(busy.headers.get("retry-after")).toBe("1");
    expect(await json(busy)).toEqual(BUSY);
    // The slots are free again once those requests ended.
    expect(
      (await call("/auth/login", { json: { email: s.email, password: PASSWORD }, vars: CAPPED })).status,
    ).toBe(200);
  });

  it("refuses at once, without reading the body, while both hash slots are held", async () => {
    const held = [stalledLogin("/auth/login", oneIp()), stalledLogin("/auth/login", oneIp())];
    const t = Date.now();
    const res = await call("/auth/login", {
      json: { email: uniqueEmail(), password: PASSWORD },
      vars: CAPPED,
    });
    expect(res.status).toBe(503);
    // A request whose body never comes is refused too: the decision does not wait for the body.
    const stalled = stalledLogin("/auth/login", oneIp());
    expect((await stalled.res).status).toBe(503);
    expect(Date.now() - t).toBeLessThan(1000);
    for (const h of held) h.release();
    expect((await Promise.all(held.map((h) => h.res))).map((r) => r.status)).toEqual([401, 401]);
  });

  it("refuses over the per-IP window at once, without reading the body", async () => {
    await awayFromMinuteEdge();
    const ip = oneIp();
    // No cap here (the test default), so all 20 are evaluated and fill the window.
    const vars = { MAX_PENDING_HASHES: "100" };
    await parallel(20, () =>
      call("/auth/login", { json: { email: uniqueEmail(), password: PASSWORD }, ip, vars }),
    );
    const stalled = stalledLogin("/auth/login", ip);
    const res = await Promise.race([stalled.res, sleep(2000).then(() => null)]);
    expect(res?.status).toBe(429);
  });

  it("a request that does not hash (GET /health) is not held by the cap", async () => {
    const held = [stalledLogin("/auth/login", oneIp()), stalledLogin("/auth/login", oneIp())];
    expect((await call("/health")).status).toBe(200);
    for (const h of held) h.release();
    await Promise.all(held.map((h) => h.res));
  });
});
