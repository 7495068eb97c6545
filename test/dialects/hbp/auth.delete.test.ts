/** api/hbp.txt, POST /auth/delete (ALLOW_USER_SELF_DELETE). */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { variantsPrefix } from "../../../src/core/storage/storage.service";
import { activeUser, call, expectBoom, json, PASSWORD, tokenWorks, usersWithEmail } from "./helpers";
import { PNG_1PX, uploadOk } from "./storage.helpers";

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

  it("deletes the account's files and their image variants; a file token never works again", async () => {
    const s = await activeUser();
    const other = await activeUser();
    const doc = await uploadOk(`user/${s.userId}/notes/doc.txt`, "secret", s.jwt);
    const img = await uploadOk(`user/${s.userId}/pic.png`, PNG_1PX, s.jwt, "pic.png", "image/png");
    const kept = await uploadOk(`user/${other.userId}/keep.txt`, "other's", other.jwt);
    // A variant of the image is stored in R2 under _variants/.
    expect(
      (await call(`/storage/o/user/${s.userId}/pic.png?w=1&f=webp&token=${img.Metadata.token}`)).status,
    ).toBe(200);
    const variants = await variantsPrefix(`user/${s.userId}/pic.png`);
    expect((await env.FILES.list({ prefix: variants })).objects).toHaveLength(1);
    expect((await call(`/storage/o/user/${s.userId}/notes/doc.txt?token=${doc.Metadata.token}`)).status).toBe(
      200,
    );

    expect((await call("/auth/delete", { method: "POST", token: s.jwt, vars })).status).toBe(204);

    for (const [path, token] of [
      [`user/${s.userId}/notes/doc.txt`, doc.Metadata.token],
      [`user/${s.userId}/pic.png`, img.Metadata.token],
    ]) {
      const res = await call(`/storage/o/${path}?token=${token}`);
      expect([403, 404]).toContain(res.status);
      expect((await call(`/storage/m/${path}?token=${token}`)).status).not.toBe(200);
      expect((await call(`/storage/o/${path}?w=1&token=${token}`)).status).not.toBe(200);
    }
    expect((await env.FILES.list({ prefix: `user/${s.userId}/` })).objects).toEqual([]);
    expect((await env.FILES.list({ prefix: variants })).objects).toEqual([]);
    // Another user's files stay.
    const res = await call(`/storage/o/user/${other.userId}/keep.txt?token=${kept.Metadata.token}`);
    expect(await res.text()).toBe("other's");
  });

  it("a file of a deleted user that is still in R2 (removal in the background) is refused at once", async () => {
    const s = await activeUser();
    const doc = await uploadOk(`user/${s.userId}/late.txt`, "late", s.jwt);
    expect((await call("/auth/delete", { method: "POST", token: s.jwt, vars })).status).toBe(204);
    // Put the object back as if the background removal had not reached it yet.
    await env.FILES.put(`user/${s.userId}/late.txt`, "late", {
      httpMetadata: { contentType: "text/plain" },
      customMetadata: { token: doc.Metadata.token, uploader: s.userId },
    });
    const res = await call(`/storage/o/user/${s.userId}/late.txt?token=${doc.Metadata.token}`);
    expect(res.status).toBe(403);
    expect(await json(res)).toMatchObject({ statusCode: 403 });
    await env.FILES.delete(`user/${s.userId}/late.txt`);
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
