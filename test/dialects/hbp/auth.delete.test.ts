/** api/hbp.txt, POST /auth/delete (ALLOW_USER_SELF_DELETE). */
import { describe, expect, it } from "vitest";
import { activeUser, call, expectBoom, PASSWORD, tokenWorks, usersWithEmail } from "./helpers";

const vars = { ALLOW_USER_SELF_DELETE: "true" };

describe("POST /auth/delete", () => {
  it("deletes the caller's account: 204, then nothing of it works", async () => {
    const s = await activeUser();
    const res = await call("/auth/delete", { method: "POST", token: s.jwt, vars });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect(await usersWithEmail(s.email)).toBe(0);
    expect(await tokenWorks(s.jwt)).toBe(401);
    expect((await call(`/auth/token/refresh?refresh_token=${s.refresh}`)).status).toBe(401);
    await expectBoom(
      await call("/auth/login", { json: { email: s.email, password: PASSWORD } }),
      401,
      "Username and password do not match",
    );
    // The address is free again.
    expect((await activeUser({}, s.email)).email).toBe(s.email);
  });

  it("needs a bearer token", async () => {
    await expectBoom(await call("/auth/delete", { method: "POST", vars }), 401, "Not logged in");
  });

  it("a revoked session cannot delete", async () => {
    const s = await activeUser();
    await call(`/auth/logout?refresh_token=${s.refresh}`, { json: {} });
    await expectBoom(
      await call("/auth/delete", { method: "POST", token: s.jwt, vars }),
      401,
      "Invalid or expired JWT token.",
    );
    expect(await usersWithEmail(s.email)).toBe(1);
  });

  it("ALLOW_USER_SELF_DELETE=false (default): 404 and the account stays", async () => {
    const s = await activeUser();
    await expectBoom(await call("/auth/delete", { method: "POST", token: s.jwt }), 404, "Not Found");
    expect(await usersWithEmail(s.email)).toBe(1);
  });
});
