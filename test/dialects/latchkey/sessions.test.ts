/** /v1/sessions: list my sessions, end one, end all others; an ended session's token is refused at once. */
import { describe, expect, it } from "vitest";
import { describeDevice } from "../../../src/core/sessions/device";
import { activeUser, call, json, PASSWORD } from "../hbp/helpers";

const FIREFOX_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

async function loginFrom(email: string, ua: string, ip: string): Promise<string> {
  const res = await call("/auth/login", {
    json: { email, password: PASSWORD, cookie: false },
    headers: { "user-agent": ua },
    ip,
  });
  const body = await json(res);
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.jwt_token;
}

const list = (jwt: string) => call("/v1/sessions", { token: jwt });
const del = (path: string, jwt: string) => call(path, { method: "DELETE", token: jwt });

describe("GET /v1/sessions", () => {
  it("lists my live sessions: device, times, network not host, the current one flagged", async () => {
    const s = await activeUser();
    const a = await loginFrom(s.email, FIREFOX_WIN, "203.0.113.77");
    await loginFrom(s.email, SAFARI_IPHONE, "2001:db8:1:2::5");
    const res = await list(a);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const { sessions } = await json(res);
    expect(sessions).toHaveLength(3);
    const mine = sessions.filter((x: { current: boolean }) => x.current);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toEqual({
      id: expect.any(String),
      device: { browser: "Firefox", os: "Windows", label: "Firefox on Windows" },
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      last_used_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      ip_prefix: "203.0.113.0/24",
      current: true,
    });
    const phone = sessions.find((x: { device: { os: string } }) => x.device.os === "iOS");
    expect(phone).toMatchObject({ device: { label: "Safari on iOS" }, ip_prefix: "2001:db8:1::/48" });
    expect(JSON.stringify(sessions)).not.toContain("203.0.113.77");
  });

  it("needs a live access token", async () => {
    const res = await call("/v1/sessions");
    expect(res.status).toBe(401);
    expect((await json(res)).error.code).toBe("UNAUTHENTICATED");
  });
});

describe("DELETE /v1/sessions/:id", () => {
  it("ends one of my sessions: its token is refused at once, mine keeps working", async () => {
    const s = await activeUser();
    const other = await loginFrom(s.email, SAFARI_IPHONE, "203.0.113.8");
    expect((await list(other)).status).toBe(200);
    const { sessions } = await json(await list(s.jwt));
    const target = sessions.find((x: { current: boolean }) => !x.current);
    const res = await del(`/v1/sessions/${target.id}`, s.jwt);
    expect(res.status).toBe(204);
    const refused = await list(other);
    expect(refused.status).toBe(401);
    expect((await json(refused)).error.code).toBe("INVALID_TOKEN");
    // A plain read (the 5 s liveness cache) is refused too: ending a session empties it.
    expect((await call("/v1/mfa/recovery-codes", { token: other })).status).toBe(401);
    expect((await list(s.jwt)).status).toBe(200);
    // Already ended: nothing to end.
    expect((await del(`/v1/sessions/${target.id}`, s.jwt)).status).toBe(404);
  });

  it("another user's session id is 404 and that session lives on", async () => {
    const me = await activeUser();
    const them = await activeUser();
    const { sessions } = await json(await list(them.jwt));
    const res = await del(`/v1/sessions/${sessions[0].id}`, me.jwt);
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ error: { code: "NOT_FOUND", message: expect.any(String) } });
    expect((await list(them.jwt)).status).toBe(200);
  });

  it("may end the current session", async () => {
    const s = await activeUser();
    const { sessions } = await json(await list(s.jwt));
    expect((await del(`/v1/sessions/${sessions[0].id}`, s.jwt)).status).toBe(204);
    expect((await list(s.jwt)).status).toBe(401);
  });
});

describe("DELETE /v1/sessions?others=true", () => {
  it("ends every session but the current one", async () => {
    const s = await activeUser();
    const b = await loginFrom(s.email, FIREFOX_WIN, "203.0.113.9");
    const c = await loginFrom(s.email, SAFARI_IPHONE, "203.0.113.10");
    expect((await del("/v1/sessions?others=true", s.jwt)).status).toBe(204);
    expect((await list(b)).status).toBe(401);
    expect((await list(c)).status).toBe(401);
    const { sessions } = await json(await list(s.jwt));
    expect(sessions).toHaveLength(1);
    expect(sessions[0].current).toBe(true);
  });

  it("without others=true is 400 and ends nothing", async () => {
    const s = await activeUser();
    const b = await loginFrom(s.email, FIREFOX_WIN, "203.0.113.11");
    expect((await del("/v1/sessions", s.jwt)).status).toBe(400);
    expect((await list(b)).status).toBe(200);
  });
});

describe("describeDevice", () => {
  it("names browser and system of common agents", () => {
    const edge =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
    const chromeAndroid =
      "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
    const safariMac =
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15";
    expect(describeDevice(edge).label).toBe("Edge on Windows");
    expect(describeDevice(chromeAndroid).label).toBe("Chrome on Android");
    expect(describeDevice(safariMac).label).toBe("Safari on macOS");
    expect(describeDevice("curl/8.5.0").label).toBe("curl");
    expect(describeDevice(null).label).toBe("Unknown device");
  });
});
