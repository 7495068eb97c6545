/**
 * An address another account holds only as an unverified secondary address (added, never proven)
 * is no hold on it: it must not keep the address's owner from signing up or from changing to it,
 * in any dialect, with existence hints on or off. A verified address is never freed.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { A, uniqueName } from "../formauth/helpers";
import { V } from "../vault/helpers";
import { activeUser, call, json, lastMail, PASSWORD, uniqueEmail } from "./helpers";

const HINTS = { ACCOUNT_EXISTENCE_HINTS: "true" };
const NO_HINTS = { ACCOUNT_EXISTENCE_HINTS: "false" };
const DIRECT = { VERIFY_EMAILS: "false" };

/** `address` added to `userId` as a secondary address, verified or not. */
async function addSecondary(userId: string, address: string, verified: boolean) {
  await env.DB.prepare(
    "INSERT INTO emails (id, user_id, address, is_primary, verified, created_at, updated_at) VALUES (?, ?, ?, 0, ?, 0, 0)",
  )
    .bind(crypto.randomUUID(), userId, address, verified ? 1 : 0)
    .run();
}

/** Who holds `address` now, and how. */
const holder = (address: string) =>
  env.DB.prepare("SELECT user_id AS userId, is_primary AS p, verified AS v FROM emails WHERE address = ?")
    .bind(address)
    .first<{ userId: string; p: number; v: number }>();

/** An address squatted by another account (unverified secondary), and that account. */
async function squatted() {
  const squatter = await activeUser();
  const address = uniqueEmail("victim");
  await addSecondary(squatter.userId, address, false);
  return { squatter, address };
}

describe("an unverified secondary address does not block its owner", () => {
  for (const [name, vars] of [
    ["hints on", HINTS],
    ["hints off", NO_HINTS],
  ] as const) {
    it(`hbp /auth/register takes it (${name}): the new account holds it as its primary address`, async () => {
      const { squatter, address } = await squatted();
      const res = await call("/auth/register", { json: { email: address, password: PASSWORD }, vars });
      expect(res.status, await res.clone().text()).toBe(200);
      const { user } = await json(res);
      const row = await holder(address);
      expect(row).toMatchObject({ p: 1, v: 0 });
      expect(row!.userId).not.toBe(squatter.userId);
      expect(row!.userId).toBe(user.id);
      // The owner activates the account from the mail the sign-up sent.
      expect((await lastMail(address, "activation")).data.ticket).toBeTruthy();
    });

    it(`hbp /auth/change-email (VERIFY_EMAILS off) changes to it (${name})`, async () => {
      const { squatter, address } = await squatted();
      const owner = await activeUser();
      const res = await call("/auth/change-email", {
        json: { new_email: address },
        token: owner.jwt,
        vars: { ...DIRECT, ...vars },
      });
      expect(res.status, await res.clone().text()).toBe(204);
      expect(await holder(address)).toEqual({ userId: owner.userId, p: 1, v: 0 });
      expect(squatter.userId).not.toBe(owner.userId);
    });

    it(`hbp email change with verification: the request mails the link and the confirmation takes it (${name})`, async () => {
      const { address } = await squatted();
      const owner = await activeUser();
      const req = await call("/auth/change-email/request", {
        json: { new_email: address },
        token: owner.jwt,
        vars,
      });
      expect(req.status, await req.clone().text()).toBe(204);
      const { ticket } = (await lastMail(address, "email_change")).data;
      const done = await call("/auth/change-email/change", { json: { ticket }, vars });
      expect(done.status, await done.clone().text()).toBe(204);
      expect(await holder(address)).toEqual({ userId: owner.userId, p: 1, v: 1 });
    });

    it(`formauth /register takes it (${name})`, async () => {
      const { squatter, address } = await squatted();
      const res = await call(`${A}/register`, {
        json: { email: address, password: PASSWORD, username: uniqueName() },
        vars,
      });
      expect(res.status, await res.clone().text()).toBe(200);
      const row = await holder(address);
      expect(row).toMatchObject({ p: 1 });
      expect(row!.userId).not.toBe(squatter.userId);
    });

    it(`vault /register takes it (${name})`, async () => {
      const { squatter, address } = await squatted();
      const res = await call(`${V}/register`, {
        json: { email: address, password: PASSWORD, name: "Ada" },
        vars,
      });
      expect(res.status, await res.clone().text()).toBe(200);
      const row = await holder(address);
      expect(row).toMatchObject({ p: 1 });
      expect(row!.userId).not.toBe(squatter.userId);
    });
  }
});

describe("under parallel requests", () => {
  it("10 parallel sign-ups with a squatted address: exactly one account takes it", async () => {
    const { squatter, address } = await squatted();
    const res = await Promise.all(
      Array.from({ length: 10 }, () =>
        call("/auth/register", { json: { email: address, password: PASSWORD }, vars: HINTS }),
      ),
    );
    expect(res.filter((r) => r.status === 200)).toHaveLength(1);
    expect(res.filter((r) => r.status !== 200).map((r) => r.status)).toEqual(Array(9).fill(400));
    const rows = await env.DB.prepare(
      "SELECT user_id AS userId, is_primary AS p FROM emails WHERE address = ?",
    )
      .bind(address)
      .all<{ userId: string; p: number }>();
    expect(rows.results).toHaveLength(1);
    expect(rows.results[0]!.p).toBe(1);
    expect(rows.results[0]!.userId).not.toBe(squatter.userId);
  });
});

describe("a verified address is never freed", () => {
  it("a sign-up with another account's verified secondary address is refused (hints on) and leaves it", async () => {
    const owner = await activeUser();
    const address = uniqueEmail("proven");
    await addSecondary(owner.userId, address, true);
    const res = await call("/auth/register", { json: { email: address, password: PASSWORD }, vars: HINTS });
    // hbp answers a taken address as a Boom 400 (api/hbp.txt).
    expect(res.status).toBe(400);
    expect(await holder(address)).toEqual({ userId: owner.userId, p: 0, v: 1 });
  });

  it("hints off: the sign-up answers as new, nothing is created, the owner is told and keeps the address", async () => {
    const owner = await activeUser();
    const address = uniqueEmail("proven");
    await addSecondary(owner.userId, address, true);
    const res = await call("/auth/register", {
      json: { email: address, password: PASSWORD },
      vars: NO_HINTS,
    });
    expect(res.status).toBe(200);
    expect(await holder(address)).toEqual({ userId: owner.userId, p: 0, v: 1 });
    expect((await lastMail(address, "address_taken_sign_up")).to).toBe(address);
  });

  it("a direct email change to another account's verified secondary address changes nothing", async () => {
    const owner = await activeUser();
    const address = uniqueEmail("proven");
    await addSecondary(owner.userId, address, true);
    const other = await activeUser();
    const res = await call("/auth/change-email", {
      json: { new_email: address },
      token: other.jwt,
      vars: { ...DIRECT, ...HINTS },
    });
    expect(res.status).toBe(400);
    expect(await holder(address)).toEqual({ userId: owner.userId, p: 0, v: 1 });
    const hidden = await call("/auth/change-email", {
      json: { new_email: address },
      token: other.jwt,
      vars: { ...DIRECT, ...NO_HINTS },
    });
    expect(hidden.status).toBe(204);
    expect(await holder(address)).toEqual({ userId: owner.userId, p: 0, v: 1 });
  });

  it("an unverified primary address is its account's: a sign-up does not take it", async () => {
    const address = uniqueEmail("pending");
    const first = await call("/auth/register", { json: { email: address, password: PASSWORD } });
    expect(first.status).toBe(200);
    const { user } = await json(first);
    const again = await call("/auth/register", { json: { email: address, password: PASSWORD }, vars: HINTS });
    expect(again.status).toBe(400);
    expect(await holder(address)).toEqual({ userId: user.id, p: 1, v: 0 });
  });
});
