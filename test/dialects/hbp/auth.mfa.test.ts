/** api/hbp.txt, POST /auth/mfa/generate|enable|disable|totp (MFA_ENABLED). */
import { Secret, TOTP, URI } from "otpauth";
import { describe, expect, it } from "vitest";
import {
  activeUser,
  call,
  enableMfa,
  expectBoom,
  json,
  lastMail,
  PASSWORD,
  refreshCookie,
  tokenWorks,
  totpCode,
  wrongCode,
} from "./helpers";

async function mfaTicket(email: string): Promise<string> {
  const res = await call("/auth/login", { json: { email, password: PASSWORD } });
  const body = await json(res);
  expect(body.mfa).toBe(true);
  return body.ticket;
}

describe("POST /auth/mfa/generate", () => {
  it("answers a QR code and a base32 secret whose codes enable MFA", async () => {
    const s = await activeUser();
    const res = await call("/auth/mfa/generate", { json: {}, token: s.jwt });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({
      image_url: expect.stringMatching(/^data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+$/),
      otp_secret: expect.stringMatching(/^[A-Z2-7]{32}$/),
    });
    const svg = atob(body.image_url.split(",")[1]);
    expect(svg).toContain("<svg");
    // A usable secret: otpauth produces codes for it.
    expect(new TOTP({ secret: Secret.fromBase32(body.otp_secret) }).generate()).toMatch(/^\d{6}$/);
    expect(URI.parse(new TOTP({ secret: Secret.fromBase32(body.otp_secret) }).toString())).toBeInstanceOf(
      TOTP,
    );
  });

  it("a second generate replaces the pending secret", async () => {
    const s = await activeUser();
    const first = (await json(await call("/auth/mfa/generate", { json: {}, token: s.jwt }))).otp_secret;
    const second = (await json(await call("/auth/mfa/generate", { json: {}, token: s.jwt }))).otp_secret;
    expect(second).not.toBe(first);
    await expectBoom(
      await call("/auth/mfa/enable", { json: { code: totpCode(first) }, token: s.jwt }),
      401,
      "Invalid two-factor code.",
    );
    expect((await call("/auth/mfa/enable", { json: { code: totpCode(second) }, token: s.jwt })).status).toBe(
      204,
    );
  });

  it("is 400 when MFA is already on", async () => {
    const s = await activeUser();
    await enableMfa(s);
    await expectBoom(
      await call("/auth/mfa/generate", { json: {}, token: s.jwt }),
      400,
      "MFA is already enabled.",
    );
  });

  it("needs a bearer token", async () => {
    await expectBoom(await call("/auth/mfa/generate", { json: {} }), 401, "Not logged in");
  });
});

describe("POST /auth/mfa/enable", () => {
  it("turns MFA on with a current code: 204; the next login asks for the second factor", async () => {
    const s = await activeUser();
    const { otp_secret } = await json(await call("/auth/mfa/generate", { json: {}, token: s.jwt }));
    const res = await call("/auth/mfa/enable", { json: { code: totpCode(otp_secret) }, token: s.jwt });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect(await mfaTicket(s.email)).toEqual(expect.any(String));
  });

  it("a wrong code is 401 and leaves MFA off", async () => {
    const s = await activeUser();
    const { otp_secret } = await json(await call("/auth/mfa/generate", { json: {}, token: s.jwt }));
    await expectBoom(
      await call("/auth/mfa/enable", { json: { code: wrongCode(otp_secret) }, token: s.jwt }),
      401,
      "Invalid two-factor code.",
    );
    const login = await json(await call("/auth/login", { json: { email: s.email, password: PASSWORD } }));
    expect(login.jwt_token).toEqual(expect.any(String));
  });

  it("without generate first is 400", async () => {
    const s = await activeUser();
    await expectBoom(
      await call("/auth/mfa/enable", { json: { code: "123456" }, token: s.jwt }),
      400,
      "OTP secret is not set.",
    );
  });

  it("when already on is 400", async () => {
    const s = await activeUser();
    const secret = await enableMfa(s);
    await expectBoom(
      await call("/auth/mfa/enable", { json: { code: totpCode(secret, 1) }, token: s.jwt }),
      400,
      "MFA is already enabled.",
    );
  });

  it("requires a 6-digit code", async () => {
    const s = await activeUser();
    await expectBoom(await call("/auth/mfa/enable", { json: {}, token: s.jwt }), 400, '"code" is required');
    await expectBoom(
      await call("/auth/mfa/enable", { json: { code: "12ab56" }, token: s.jwt }),
      400,
      '"code" must be a 6-digit code',
    );
  });
});

describe("POST /auth/mfa/totp", () => {
  it("the ticket and a code make a session (cookie by default)", async () => {
    const s = await activeUser();
    const secret = await enableMfa(s);
    const ticket = await mfaTicket(s.email);
    const res = await call("/auth/mfa/totp", { json: { ticket, code: totpCode(secret, 1) } });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({
      jwt_token: expect.any(String),
      jwt_expires_in: 900_000,
      user: { id: s.userId, email: s.email, display_name: s.email, avatar_url: null },
    });
    expect(refreshCookie(res)).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(await tokenWorks(body.jwt_token)).toBe(400);
  });

  it("cookie:false puts refresh_token in the body", async () => {
    const s = await activeUser();
    const secret = await enableMfa(s);
    const ticket = await mfaTicket(s.email);
    const res = await call("/auth/mfa/totp", { json: { ticket, code: totpCode(secret, 1), cookie: false } });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(refreshCookie(res)).toBeNull();
    expect((await call(`/auth/token/refresh?refresh_token=${body.refresh_token}`)).status).toBe(200);
  });

  it("a wrong code is 401 and the ticket survives it", async () => {
    const s = await activeUser();
    const secret = await enableMfa(s);
    const ticket = await mfaTicket(s.email);
    await expectBoom(
      await call("/auth/mfa/totp", { json: { ticket, code: wrongCode(secret) } }),
      401,
      "Invalid two-factor code.",
    );
    expect((await call("/auth/mfa/totp", { json: { ticket, code: totpCode(secret, 1) } })).status).toBe(200);
  });

  it("a ticket makes one session only", async () => {
    const s = await activeUser();
    const secret = await enableMfa(s);
    const ticket = await mfaTicket(s.email);
    expect((await call("/auth/mfa/totp", { json: { ticket, code: totpCode(secret, 1) } })).status).toBe(200);
    // A fresh, unused code cannot revive it.
    await expectBoom(
      await call("/auth/mfa/totp", { json: { ticket, code: totpCode(secret, -1) } }),
      401,
      "Invalid or expired ticket.",
    );
  });

  it("an unknown ticket is 401; missing fields are 400", async () => {
    await expectBoom(
      await call("/auth/mfa/totp", { json: { ticket: "nope", code: "123456" } }),
      401,
      "Invalid or expired ticket.",
    );
    await expectBoom(await call("/auth/mfa/totp", { json: { code: "123456" } }), 400, '"ticket" is required');
    await expectBoom(await call("/auth/mfa/totp", { json: { ticket: "x" } }), 400, '"code" is required');
  });

  it("a ticket from another flow is refused (tickets are typed)", async () => {
    const s = await activeUser();
    const secret = await enableMfa(s);
    await call("/auth/change-password/request", { json: { email: s.email } });
    const reset = (await lastMail(s.email, "password_reset")).data.ticket;
    await expectBoom(
      await call("/auth/mfa/totp", { json: { ticket: reset, code: totpCode(secret, 1) } }),
      401,
      "Invalid or expired ticket.",
    );
  });
});

describe("POST /auth/mfa/disable", () => {
  it("turns MFA off with a current code: 204; login no longer asks", async () => {
    const s = await activeUser();
    const secret = await enableMfa(s);
    const res = await call("/auth/mfa/disable", { json: { code: totpCode(secret, 1) }, token: s.jwt });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    const login = await json(await call("/auth/login", { json: { email: s.email, password: PASSWORD } }));
    expect(login.jwt_token).toEqual(expect.any(String));
  });

  it("a wrong code is 401 and MFA stays on", async () => {
    const s = await activeUser();
    const secret = await enableMfa(s);
    await expectBoom(
      await call("/auth/mfa/disable", { json: { code: wrongCode(secret) }, token: s.jwt }),
      401,
      "Invalid two-factor code.",
    );
    expect(await mfaTicket(s.email)).toEqual(expect.any(String));
  });

  it("when MFA is off is 400", async () => {
    const s = await activeUser();
    await expectBoom(
      await call("/auth/mfa/disable", { json: { code: "123456" }, token: s.jwt }),
      400,
      "MFA is not enabled.",
    );
  });

  it("needs a bearer token", async () => {
    await expectBoom(await call("/auth/mfa/disable", { json: { code: "123456" } }), 401, "Not logged in");
  });
});

describe("MFA_ENABLED=false", () => {
  it("setting TOTP up is 404", async () => {
    const vars = { MFA_ENABLED: "false" };
    const s = await activeUser();
    for (const [path, body] of [
      ["/auth/mfa/generate", {}],
      ["/auth/mfa/enable", { code: "123456" }],
    ] as const)
      await expectBoom(await call(path, { json: body, token: s.jwt, vars }), 404, "Not Found");
  });

  it("a user who already has TOTP still needs it to sign in, and the disable route stays reachable", async () => {
    const s = await activeUser();
    const secret = await enableMfa(s);
    const vars = { MFA_ENABLED: "false" };
    const login = await json(
      await call("/auth/login", { json: { email: s.email, password: PASSWORD }, vars }),
    );
    expect(login).toEqual({ mfa: true, ticket: expect.any(String) });
    const res = await call("/auth/mfa/totp", {
      json: { ticket: login.ticket, code: totpCode(secret, 1), cookie: false },
      vars,
    });
    expect(res.status).toBe(200);
    const session = await json(res);
    expect(session.jwt_token).toEqual(expect.any(String));
    // Still reachable (not 404): the code is checked. A valid one is a later step, 30 s away.
    await expectBoom(
      await call("/auth/mfa/disable", { json: { code: wrongCode(secret) }, token: session.jwt_token, vars }),
      401,
      "Invalid two-factor code.",
    );
  });
});
