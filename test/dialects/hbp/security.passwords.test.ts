/**
 * Passwords on the common-password blocklist are refused wherever one is set (register, change,
 * reset; NIST SP 800-63B §3.1.1.2), compared without regard to case; and, with
 * PASSWORD_BREACH_CHECK on, passwords the breached-password range API lists (mocked here: it is an
 * outside service), which fails open with a log line when it cannot be reached.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { activeUser, call, expectBoom, lastMail, PASSWORD, uniqueEmail, usersWithEmail } from "./helpers";

const COMMON = "This password is too common and easy to guess. Choose a less common one.";
const BREACHED = "This password has appeared in a data breach. Choose a different one.";

describe("the common-password blocklist", () => {
  it("register refuses password123, 12345678 and Password123 (any case) and creates no user", async () => {
    for (const password of ["password123", "12345678", "Password123", "QWERTY123", "iloveyou1"]) {
      const email = uniqueEmail();
      await expectBoom(await call("/auth/register", { json: { email, password } }), 400, COMMON);
      expect(await usersWithEmail(email)).toBe(0);
    }
  });

  it("an uncommon password of the same length is accepted", async () => {
    const res = await call("/auth/register", { json: { email: uniqueEmail(), password: "pw-kq7vz2x" } });
    expect(res.status).toBe(200);
  });

  it("change-password refuses a common new password and keeps the old one", async () => {
    const s = await activeUser();
    await expectBoom(
      await call("/auth/change-password", {
        json: { old_password: PASSWORD, new_password: "password123" },
        token: s.jwt,
      }),
      400,
      COMMON,
    );
    expect((await call("/auth/login", { json: { email: s.email, password: PASSWORD } })).status).toBe(200);
  });

  it("a reset with a common password is refused and leaves the ticket usable", async () => {
    const s = await activeUser();
    await call("/auth/change-password/request", { json: { email: s.email } });
    const { ticket } = (await lastMail(s.email, "password_reset")).data;
    await expectBoom(
      await call("/auth/change-password/change", { json: { ticket, new_password: "12345678" } }),
      400,
      COMMON,
    );
    expect(
      (await call("/auth/change-password/change", { json: { ticket, new_password: "pw-kq7vz2x-new" } }))
        .status,
    ).toBe(204);
  });
});

describe("PASSWORD_BREACH_CHECK (range API, k-anonymity)", () => {
  afterEach(() => vi.restoreAllMocks());
  const RANGE = "https://range.test/range/";
  const vars = { PASSWORD_BREACH_CHECK: "true", PASSWORD_BREACH_API_URL: RANGE };

  async function sha1Hex(text: string) {
    const d = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text)));
    return [...d]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("")
      .toUpperCase();
  }

  /** The range API, mocked: answers the suffixes it is given for any prefix, plus padding. */
  function mockRange(listed: string[], answer?: () => Response | Promise<Response>) {
    const asked: string[] = [];
    const real = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (!url.startsWith(RANGE)) return real(input, init);
      asked.push(url.slice(RANGE.length));
      if (answer) return answer();
      const prefix = url.slice(RANGE.length);
      const lines = [];
      for (const pw of listed) {
        const h = await sha1Hex(pw);
        if (h.startsWith(prefix)) lines.push(`${h.slice(5)}:42`);
      }
      lines.push("0000000000000000000000000000000000A:0");
      return new Response(lines.join("\r\n"));
    });
    return asked;
  }

  it("refuses a password the range API lists; only the 5-hex prefix of its SHA-1 is sent", async () => {
    const pw = "a-breached-but-rare-passphrase";
    const asked = mockRange([pw]);
    const email = uniqueEmail();
    await expectBoom(await call("/auth/register", { json: { email, password: pw }, vars }), 400, BREACHED);
    expect(asked).toEqual([(await sha1Hex(pw)).slice(0, 5)]);
    expect(await usersWithEmail(email)).toBe(0);
  });

  it("accepts a password the range API does not list (padding entries with count 0 do not count)", async () => {
    mockRange(["something else entirely"]);
    const res = await call("/auth/register", {
      json: { email: uniqueEmail(), password: "not-listed-anywhere-42" },
      vars,
    });
    expect(res.status).toBe(200);
  });

  it("fails open with a log line when the range API is unreachable or answers an error", async () => {
    const logs = vi.spyOn(console, "warn").mockImplementation(() => {});
    mockRange([], () => {
      throw new TypeError("connection refused");
    });
    expect(
      (await call("/auth/register", { json: { email: uniqueEmail(), password: "pw-unreachable-1" }, vars }))
        .status,
    ).toBe(200);
    vi.restoreAllMocks();
    const logs2 = vi.spyOn(console, "warn").mockImplementation(() => {});
    mockRange([], () => new Response("down", { status: 503 }));
    expect(
      (await call("/auth/register", { json: { email: uniqueEmail(), password: "pw-unreachable-2" }, vars }))
        .status,
    ).toBe(200);
    expect(logs.mock.calls.flat().join(" ")).toMatch(/range API unreachable.*password allowed/);
    expect(logs2.mock.calls.flat().join(" ")).toMatch(/range API answered 503.*password allowed/);
  });

  it("is off by default: the range API is never asked", async () => {
    const asked = mockRange([]);
    expect(
      (await call("/auth/register", { json: { email: uniqueEmail(), password: "pw-default-off-1" } })).status,
    ).toBe(200);
    expect(asked).toEqual([]);
  });
});
