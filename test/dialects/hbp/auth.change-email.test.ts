/** api/hbp.txt, POST /auth/change-email (VERIFY_EMAILS=false), /auth/change-email/request + /change (true). */
import { describe, expect, it } from "vitest";
import {
  activeUser,
  call,
  expectBoom,
  json,
  lastMail,
  outbox,
  PASSWORD,
  uniqueEmail,
  usersWithEmail,
} from "./helpers";

const DIRECT = { VERIFY_EMAILS: "false" };
const HINTS = { ACCOUNT_EXISTENCE_HINTS: "true" };

describe("POST /auth/change-email, VERIFY_EMAILS=false", () => {
  it("changes the address at once: 204; the new one logs in, the old one does not", async () => {
    const s = await activeUser();
    const next = uniqueEmail("new");
    const res = await call("/auth/change-email", { json: { new_email: next }, token: s.jwt, vars: DIRECT });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await call("/auth/login", { json: { email: next, password: PASSWORD } })).status).toBe(200);
    expect((await call("/auth/login", { json: { email: s.email, password: PASSWORD } })).status).toBe(401);
    // The old address is told.
    expect((await lastMail(s.email, "email_changed")).data.new_email).toBe(next);
  });

  it("ACCOUNT_EXISTENCE_HINTS=true: an address held by another account is 400 and changes nothing", async () => {
    const a = await activeUser();
    const b = await activeUser();
    await expectBoom(
      await call("/auth/change-email", {
        json: { new_email: b.email },
        token: a.jwt,
        vars: { ...DIRECT, ...HINTS },
      }),
      400,
      "Cannot use this email.",
    );
    expect((await call("/auth/login", { json: { email: a.email, password: PASSWORD } })).status).toBe(200);
  });

  it("needs a bearer token", async () => {
    await expectBoom(
      await call("/auth/change-email", { json: { new_email: uniqueEmail() }, vars: DIRECT }),
      401,
      "Not logged in",
    );
  });

  it("requires new_email", async () => {
    const s = await activeUser();
    await expectBoom(
      await call("/auth/change-email", { json: {}, token: s.jwt, vars: DIRECT }),
      400,
      '"new_email" is required',
    );
  });

  it("VERIFY_EMAILS=true (default): 404", async () => {
    const s = await activeUser();
    await expectBoom(
      await call("/auth/change-email", { json: { new_email: uniqueEmail() }, token: s.jwt }),
      404,
      "Not Found",
    );
  });
});

describe("POST /auth/change-email/request and /change, VERIFY_EMAILS=true", () => {
  it("mails a ticket to the new address; /change with it switches the address", async () => {
    const s = await activeUser();
    const next = uniqueEmail("new");
    const req = await call("/auth/change-email/request", { json: { new_email: next }, token: s.jwt });
    expect(req.status).toBe(204);
    expect(await req.text()).toBe("");
    // Nothing changes before the ticket is used.
    expect((await call("/auth/login", { json: { email: s.email, password: PASSWORD } })).status).toBe(200);
    const mail = await lastMail(next, "email_change");
    expect(mail.data.link).toBe(
      `http://localhost:8787/auth/change-email/change?ticket=${encodeURIComponent(mail.data.ticket!)}`,
    );
    const res = await call("/auth/change-email/change", { json: { ticket: mail.data.ticket } });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    const login = await call("/auth/login", { json: { email: next, password: PASSWORD } });
    expect(login.status).toBe(200);
    expect((await json(login)).user.email).toBe(next);
    expect((await call("/auth/login", { json: { email: s.email, password: PASSWORD } })).status).toBe(401);
    expect((await lastMail(s.email, "email_changed")).data.new_email).toBe(next);
  });

  it("a ticket works once", async () => {
    const s = await activeUser();
    const next = uniqueEmail("new");
    await call("/auth/change-email/request", { json: { new_email: next }, token: s.jwt });
    const { ticket } = (await lastMail(next, "email_change")).data;
    expect((await call("/auth/change-email/change", { json: { ticket } })).status).toBe(204);
    await expectBoom(
      await call("/auth/change-email/change", { json: { ticket } }),
      401,
      "Invalid or expired ticket.",
    );
  });

  it("only the newest request's ticket works", async () => {
    const s = await activeUser();
    const first = uniqueEmail("first");
    const second = uniqueEmail("second");
    await call("/auth/change-email/request", { json: { new_email: first }, token: s.jwt });
    await call("/auth/change-email/request", { json: { new_email: second }, token: s.jwt });
    const old = (await lastMail(first, "email_change")).data.ticket;
    await expectBoom(
      await call("/auth/change-email/change", { json: { ticket: old } }),
      401,
      "Invalid or expired ticket.",
    );
    const { ticket } = (await lastMail(second, "email_change")).data;
    expect((await call("/auth/change-email/change", { json: { ticket } })).status).toBe(204);
    expect(await usersWithEmail(first)).toBe(0);
  });

  it("ACCOUNT_EXISTENCE_HINTS=true: an address held by another account is refused at request time, with no mail", async () => {
    const a = await activeUser();
    const b = await activeUser();
    const before = (await outbox(b.email)).length;
    await expectBoom(
      await call("/auth/change-email/request", { json: { new_email: b.email }, token: a.jwt, vars: HINTS }),
      400,
      "Cannot use this email.",
    );
    expect((await outbox(b.email)).length).toBe(before);
  });

  it("an address taken between request and change is refused at change time", async () => {
    const s = await activeUser();
    const next = uniqueEmail("race");
    await call("/auth/change-email/request", { json: { new_email: next }, token: s.jwt });
    const { ticket } = (await lastMail(next, "email_change")).data;
    await activeUser({}, next);
    await expectBoom(
      await call("/auth/change-email/change", { json: { ticket } }),
      400,
      "Cannot use this email.",
    );
    expect((await call("/auth/login", { json: { email: s.email, password: PASSWORD } })).status).toBe(200);
  });

  it("/request needs a bearer token", async () => {
    await expectBoom(
      await call("/auth/change-email/request", { json: { new_email: uniqueEmail() } }),
      401,
      "Not logged in",
    );
  });

  it("/change with a bad ticket is 401, without one 400", async () => {
    await expectBoom(
      await call("/auth/change-email/change", { json: { ticket: "nope" } }),
      401,
      "Invalid or expired ticket.",
    );
    await expectBoom(await call("/auth/change-email/change", { json: {} }), 400, '"ticket" is required');
  });

  it("VERIFY_EMAILS=false: both are 404", async () => {
    const s = await activeUser();
    await expectBoom(
      await call("/auth/change-email/request", {
        json: { new_email: uniqueEmail() },
        token: s.jwt,
        vars: DIRECT,
      }),
      404,
      "Not Found",
    );
    await expectBoom(
      await call("/auth/change-email/change", { json: { ticket: "x" }, vars: DIRECT }),
      404,
      "Not Found",
    );
  });
});
