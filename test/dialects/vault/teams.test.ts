/**
 * The default team is a core rule of activation (core/users, core/teams): an account activated
 * through any dialect has one, which vault's API shows as a vaultToken scoped to it.
 */
import { env } from "cloudflare:test";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { call, json, lastMail, PASSWORD, statuses, uniqueEmail } from "../hbp/helpers";
import { V } from "./helpers";

const teamsOf = async (userId: string) =>
  (await env.DB.prepare("SELECT COUNT(*) AS n FROM teams WHERE owner_id = ?")
    .bind(userId)
    .first<{ n: number }>())!.n;

/** Registers through hbp (not activated) and returns the activation link's path. */
async function hbpPending() {
  const email = uniqueEmail();
  const res = await call("/auth/register", { json: { email, password: PASSWORD } });
  expect(res.status).toBe(200);
  const { ticket } = (await lastMail(email, "activation")).data;
  return { email, path: `/auth/activate?ticket=${encodeURIComponent(ticket!)}` };
}

const vaultLogin = (email: string) => call(`${V}/login`, { json: { email, password: PASSWORD } });

describe("default team after activation through another dialect", () => {
  it("a user activated through hbp's link gets a team: vault login answers a vaultToken for it", async () => {
    const { email, path } = await hbpPending();
    const before = await json(await vaultLogin(email));
    expect(before.vaultToken).toBeNull();

    expect((await call(path)).status).toBe(302);
    const res = await vaultLogin(email);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.vaultToken).toEqual(expect.any(String));
    const claims = decodeJwt(body.vaultToken);
    const userId = decodeJwt(body.userToken).sub!;
    expect(claims.sub).toBe(userId);
    const team = await env.DB.prepare(
      "SELECT t.id, p.id AS project FROM teams t JOIN projects p ON p.team_id = t.id WHERE t.owner_id = ?",
    )
      .bind(userId)
      .first<{ id: string; project: string }>();
    expect({ team: claims.team, project: claims.project }).toEqual({
      team: team!.id,
      project: team!.project,
    });
  });

  it("30 parallel openings of hbp's activation link: one activation, one team", async () => {
    const { email, path } = await hbpPending();
    const rs = await Promise.all(Array.from({ length: 30 }, () => call(path)));
    expect(statuses(rs)[302]).toBe(1);
    const userId = decodeJwt((await json(await vaultLogin(email))).userToken).sub!;
    expect(await teamsOf(userId)).toBe(1);
  });
});
