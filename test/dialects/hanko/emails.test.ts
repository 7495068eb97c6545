import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, uniqueEmail } from "../../support/app";
import { hcall, json, OPEN, signUp, UUID } from "./support";

describe("hanko: emails", () => {
  it("lists, adds, makes primary and deletes addresses", async () => {
    const { token, email, emailId } = await signUp();
    const list = await hcall("/emails", { token });
    expect(list.status).toBe(200);
    expect(await json(list)).toEqual([{ id: emailId, address: email, is_verified: false, is_primary: true }]);

    const second = uniqueEmail("second");
    const added = await hcall("/emails", { token, json: { address: second } });
    expect(added.status).toBe(201);
    const body = await json(added);
    expect(body).toEqual({
      id: expect.stringMatching(UUID),
      address: second,
      is_verified: true,
      is_primary: false,
    });

    const primary = await hcall(`/emails/${body.id}/set_primary`, {
      method: "POST",
      token,
      headers: { "content-type": "application/json" },
    });
    expect(primary.status).toBe(201);
    expect(await json(await hcall("/emails", { token }))).toEqual([
      { id: emailId, address: email, is_verified: false, is_primary: false },
      { id: body.id, address: second, is_verified: true, is_primary: true },
    ]);

    expect((await hcall(`/emails/${body.id}`, { method: "DELETE", token })).status).toBe(409);
    const del = await hcall(`/emails/${emailId}`, { method: "DELETE", token });
    expect(del.status).toBe(201);
    expect(await json(await hcall("/emails", { token }))).toEqual([
      { id: body.id, address: second, is_verified: true, is_primary: true },
    ]);
  });

  it("a new primary address is an email change: other sessions end, both addresses are told", async () => {
    const a = await signUp();
    const second = await hcall("/password", {
      method: "PUT",
      token: a.token,
      json: { user_id: a.userId, password: "a fine password" },
    });
    expect(second.status).toBe(201);
    const login = await hcall("/password/login", {
      json: { user_id: a.userId, password: "a fine password" },
    });
    const otherToken = login.headers.get("x-auth-token")!;
    const next = uniqueEmail("primary");
    const added = await json(await hcall("/emails", { token: a.token, json: { address: next } }));
    const res = await hcall(`/emails/${added.id}/set_primary`, { method: "POST", token: a.token });
    expect(res.status).toBe(201);
    expect((await hcall("/me", { token: otherToken })).status).toBe(401);
    expect((await hcall("/me", { token: a.token })).status).toBe(200);
    for (const to of [a.email, next]) {
      const { results } = await env.DB.prepare('SELECT kind, data FROM outbox WHERE "to" = ? AND kind = ?')
        .bind(to, "email_changed")
        .all<{ kind: string; data: string }>();
      expect(results.map((r) => JSON.parse(r.data).new_email)).toEqual([next]);
    }
    // Setting the same primary again changes nothing and ends nothing.
    expect((await hcall(`/emails/${added.id}/set_primary`, { method: "POST", token: a.token })).status).toBe(
      201,
    );
    expect((await hcall("/me", { token: a.token })).status).toBe(200);
  });

  it("hints off (default): a taken address answers 201 as a free one; nothing is stored, the holder is mailed", async () => {
    const vars = {};
    const a = await signUp(uniqueEmail(), { ...OPEN, ACCOUNT_EXISTENCE_HINTS: "false" });
    const b = await signUp();
    const free = await call("/emails", { token: a.token, json: { address: uniqueEmail() }, vars });
    const taken = await call("/emails", { token: a.token, json: { address: b.email }, vars });
    expect(taken.status).toBe(free.status);
    const body = await json(taken);
    expect(Object.keys(body).sort()).toEqual(Object.keys(await json(free)).sort());
    expect(body).toMatchObject({ address: b.email, is_verified: false, is_primary: false });
    // The same id on a retry, as for an address really added.
    expect((await json(await call("/emails", { token: a.token, json: { address: b.email }, vars }))).id).toBe(
      body.id,
    );
    const list = await json(await call("/emails", { token: a.token, vars }));
    expect(list.map((e: { address: string }) => e.address)).not.toContain(b.email);
    const { results } = await env.DB.prepare('SELECT kind FROM outbox WHERE "to" = ?')
      .bind(b.email)
      .all<{ kind: string }>();
    expect(results.map((r) => r.kind)).toContain("address_taken_email_change");
    // The passcode the SDK asks for next is "sent" like any other, but no mail reaches anyone.
    const before = results.length;
    const init = await call("/passcode/login/initialize", {
      json: { user_id: a.userId, email_id: body.id },
      vars,
    });
    expect(init.status).toBe(200);
    const after = await env.DB.prepare('SELECT COUNT(*) AS n FROM outbox WHERE "to" = ?')
      .bind(b.email)
      .first<{ n: number }>();
    expect(after!.n).toBe(before);
  });

  it("hints on: 400 when the address is taken (by anyone), 409 at the maximum number", async () => {
    const a = await signUp();
    const b = await signUp();
    const taken = await hcall("/emails", { token: a.token, json: { address: b.email } });
    expect(taken.status).toBe(400);
    expect(await json(taken)).toEqual({ code: 400, message: "Bad Request" });
    expect((await hcall("/emails", { token: a.token, json: { address: a.email } })).status).toBe(400);

    const vars = { ...OPEN, MAX_EMAILS_PER_USER: "2" };
    const c = await signUp(uniqueEmail(), vars);
    expect((await call("/emails", { token: c.token, json: { address: uniqueEmail() }, vars })).status).toBe(
      201,
    );
    const full = await call("/emails", { token: c.token, json: { address: uniqueEmail() }, vars });
    expect(full.status).toBe(409);
    expect(await json(full)).toEqual({ code: 409, message: "Conflict" });
  });

  it("never goes past the maximum under parallel adds", async () => {
    const vars = { ...OPEN, MAX_EMAILS_PER_USER: "3" };
    const u = await signUp(uniqueEmail(), vars);
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        call("/emails", { token: u.token, json: { address: uniqueEmail("p") }, vars }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(2);
    expect(results.filter((r) => r.status === 409)).toHaveLength(8);
    expect(await json(await call("/emails", { token: u.token, vars }))).toHaveLength(3);
  });

  it("with verification on, a new address is unverified and cannot become primary", async () => {
    const { token, emailId } = await signUp();
    const added = await json(await call("/emails", { token, json: { address: uniqueEmail() } }));
    expect(added.is_verified).toBe(false);
    expect((await call(`/emails/${added.id}/set_primary`, { method: "POST", token })).status).toBe(403);
    expect((await call(`/emails/${emailId}/set_primary`, { method: "POST", token })).status).toBe(201);
  });

  it("never touches another user's addresses", async () => {
    const a = await signUp();
    const b = await signUp();
    expect((await hcall(`/emails/${b.emailId}/set_primary`, { method: "POST", token: a.token })).status).toBe(
      404,
    );
    expect((await hcall(`/emails/${b.emailId}`, { method: "DELETE", token: a.token })).status).toBe(404);
    expect(await json(await hcall("/emails", { token: b.token }))).toEqual([
      { id: b.emailId, address: b.email, is_verified: false, is_primary: true },
    ]);
    expect((await hcall("/emails")).status).toBe(401);
    expect((await hcall("/emails/not-a-uuid", { method: "DELETE", token: a.token })).status).toBe(400);
  });

  it("an address added without proof neither leads to that account nor blocks its owner", async () => {
    const attacker = await signUp();
    const victim = uniqueEmail("victim");
    // Verification on (default): the address stays unverified on the attacker's account.
    const added = await json(await call("/emails", { token: attacker.token, json: { address: victim } }));
    expect(added.is_verified).toBe(false);
    const hints = { ACCOUNT_EXISTENCE_HINTS: "true" };
    expect((await call("/user", { json: { email: victim }, vars: hints })).status).toBe(404);
    const lookup = await json(await call("/user", { json: { email: victim } }));
    expect(lookup.id).not.toBe(attacker.userId);
    const signup = await call("/users", { json: { email: victim }, vars: hints });
    expect(signup.status).toBe(200);
    expect((await json(signup)).user_id).not.toBe(attacker.userId);
    expect(
      (await json(await call("/emails", { token: attacker.token }))).map(
        (e: { address: string }) => e.address,
      ),
    ).toEqual([attacker.email]);
  });
});
