/** api/hbp.txt, POST /auth/change-password, /auth/change-password/request + /change (LOST_PASSWORD_ENABLED). */
import { describe, expect, it } from "vitest";
import {
  activeUser,
  call,
  expectBoom,
  lastMail,
  login,
  outbox,
  PASSWORD,
  tokenWorks,
  uniqueEmail,
} from "./helpers";

const NEW = "another long passphrase";

describe("POST /auth/change-password", () => {
  it("changes the password: 204; the old one stops working; other sessions end, this one stays", async () => {
    const s = await activeUser();
    const other = await login(s.email);
    const res = await call("/auth/change-password", {
      json: { old_password: PASSWORD, new_password: NEW },
      token: s.jwt,
    });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await call("/auth/login", { json: { email: s.email, password: PASSWORD } })).status).toBe(401);
    expect((await call("/auth/login", { json: { email: s.email, password: NEW } })).status).toBe(200);
    expect(await tokenWorks(other.jwt_token)).toBe(401);
    expect((await call(`/auth/token/refresh?refresh_token=${other.refresh_token}`)).status).toBe(401);
    expect(await tokenWorks(s.jwt)).toBe(400);
    expect((await call(`/auth/token/refresh?refresh_token=${s.refresh}`)).status).toBe(200);
  });

  it("a wrong old password is 401 and changes nothing", async () => {
    const s = await activeUser();
    await expectBoom(
      await call("/auth/change-password", {
        json: { old_password: "wrong password", new_password: NEW },
        token: s.jwt,
      }),
      401,
      "Incorrect current password.",
    );
    expect((await call("/auth/login", { json: { email: s.email, password: PASSWORD } })).status).toBe(200);
  });

  it("requires new_password; a missing old_password counts as a wrong one", async () => {
    const s = await activeUser();
    await expectBoom(
      await call("/auth/change-password", { json: { old_password: PASSWORD }, token: s.jwt }),
      400,
      '"new_password" is required',
    );
    await expectBoom(
      await call("/auth/change-password", { json: { new_password: NEW }, token: s.jwt }),
      401,
      "Incorrect current password.",
    );
  });

  it("a user without a password (magic-link registration) sets one without old_password", async () => {
    const vars = { MAGIC_LINK_ENABLED: "true" };
    const email = uniqueEmail();
    await call("/auth/register", { json: { email }, vars });
    const { token } = (await lastMail(email, "magic_link")).data;
    const landing = await call(`/auth/magic-link?action=register&token=${encodeURIComponent(token!)}`, {
      vars,
    });
    const rt = new URL(landing.headers.get("location")!).searchParams.get("refresh_token");
    const session = await (await call(`/auth/token/refresh?refresh_token=${rt}`)).json<{
      jwt_token: string;
    }>();
    const res = await call("/auth/change-password", {
      json: { new_password: NEW },
      token: session.jwt_token,
    });
    expect(res.status).toBe(204);
    expect((await call("/auth/login", { json: { email, password: NEW } })).status).toBe(200);
  });

  it("applies the password policy to the new password", async () => {
    const s = await activeUser();
    await expectBoom(
      await call("/auth/change-password", {
        json: { old_password: PASSWORD, new_password: "short" },
        token: s.jwt,
      }),
      400,
      "Password must be at least 8 characters long.",
    );
  });

  it("needs a bearer token", async () => {
    await expectBoom(
      await call("/auth/change-password", { json: { old_password: PASSWORD, new_password: NEW } }),
      401,
      "Not logged in",
    );
  });
});

describe("POST /auth/change-password/request and /change, LOST_PASSWORD_ENABLED=true (default)", () => {
  it("mails a ticket; /change sets the new password and ends every session", async () => {
    const s = await activeUser();
    const req = await call("/auth/change-password/request", { json: { email: s.email } });
    expect(req.status).toBe(204);
    expect(await req.text()).toBe("");
    const mail = await lastMail(s.email, "password_reset");
    const link = new URL(mail.data.link!);
    expect(link.searchParams.get("ticket")).toBe(mail.data.ticket);
    const res = await call("/auth/change-password/change", {
      json: { ticket: mail.data.ticket, new_password: NEW },
    });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await call("/auth/login", { json: { email: s.email, password: PASSWORD } })).status).toBe(401);
    expect((await call("/auth/login", { json: { email: s.email, password: NEW } })).status).toBe(200);
    expect(await tokenWorks(s.jwt)).toBe(401);
    expect((await call(`/auth/token/refresh?refresh_token=${s.refresh}`)).status).toBe(401);
  });

  it("answers 204 for an unknown address and mails nothing", async () => {
    const email = uniqueEmail();
    const res = await call("/auth/change-password/request", { json: { email } });
    expect(res.status).toBe(204);
    expect(await outbox(email)).toEqual([]);
  });

  it("answers 204 for an account not yet activated and mails no reset", async () => {
    const email = uniqueEmail();
    await call("/auth/register", { json: { email, password: PASSWORD } });
    expect((await call("/auth/change-password/request", { json: { email } })).status).toBe(204);
    expect((await outbox(email)).map((m) => m.kind)).toEqual(["activation"]);
  });

  it("a ticket works once", async () => {
    const s = await activeUser();
    await call("/auth/change-password/request", { json: { email: s.email } });
    const { ticket } = (await lastMail(s.email, "password_reset")).data;
    expect((await call("/auth/change-password/change", { json: { ticket, new_password: NEW } })).status).toBe(
      204,
    );
    await expectBoom(
      await call("/auth/change-password/change", { json: { ticket, new_password: "yet another one" } }),
      401,
      "Invalid or expired ticket.",
    );
    expect((await call("/auth/login", { json: { email: s.email, password: NEW } })).status).toBe(200);
  });

  it("only the newest ticket works", async () => {
    const s = await activeUser();
    await call("/auth/change-password/request", { json: { email: s.email } });
    const first = (await lastMail(s.email, "password_reset")).data.ticket;
    await call("/auth/change-password/request", { json: { email: s.email } });
    const second = (await lastMail(s.email, "password_reset")).data.ticket;
    await expectBoom(
      await call("/auth/change-password/change", { json: { ticket: first, new_password: NEW } }),
      401,
      "Invalid or expired ticket.",
    );
    expect(
      (await call("/auth/change-password/change", { json: { ticket: second, new_password: NEW } })).status,
    ).toBe(204);
  });

  it("a password change made since the request voids the ticket", async () => {
    const s = await activeUser();
    await call("/auth/change-password/request", { json: { email: s.email } });
    const { ticket } = (await lastMail(s.email, "password_reset")).data;
    await call("/auth/change-password", {
      json: { old_password: PASSWORD, new_password: NEW },
      token: s.jwt,
    });
    await expectBoom(
      await call("/auth/change-password/change", { json: { ticket, new_password: "yet another one" } }),
      401,
      "Invalid or expired ticket.",
    );
  });

  it("a too-short password is 400 and leaves the ticket usable", async () => {
    const s = await activeUser();
    await call("/auth/change-password/request", { json: { email: s.email } });
    const { ticket } = (await lastMail(s.email, "password_reset")).data;
    await expectBoom(
      await call("/auth/change-password/change", { json: { ticket, new_password: "short" } }),
      400,
      "Password must be at least 8 characters long.",
    );
    expect((await call("/auth/change-password/change", { json: { ticket, new_password: NEW } })).status).toBe(
      204,
    );
  });

  it("validates its parameters", async () => {
    await expectBoom(await call("/auth/change-password/request", { json: {} }), 400, '"email" is required');
    await expectBoom(
      await call("/auth/change-password/change", { json: { new_password: NEW } }),
      400,
      '"ticket" is required',
    );
    await expectBoom(
      await call("/auth/change-password/change", { json: { ticket: "nope", new_password: NEW } }),
      401,
      "Invalid or expired ticket.",
    );
  });

  it("LOST_PASSWORD_ENABLED=false: both are 404 and nothing is mailed", async () => {
    const vars = { LOST_PASSWORD_ENABLED: "false" };
    const s = await activeUser();
    await expectBoom(
      await call("/auth/change-password/request", { json: { email: s.email }, vars }),
      404,
      "Not Found",
    );
    expect(await outbox(s.email)).toEqual([]);
    await expectBoom(
      await call("/auth/change-password/change", { json: { ticket: "x", new_password: NEW }, vars }),
      404,
      "Not Found",
    );
  });
});
