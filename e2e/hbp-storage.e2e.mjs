// e2e-vars: AUTO_ACTIVATE_NEW_USERS=true
// HBP storage with the real client, nhost-js-sdk@3.1.0, in Chromium (its multipart upload relies on
// the browser's FormData; shared/notes/real-clients.md §3): register, storage.put and putString, a
// 6 MB upload (R2's multipart path), getMetadata, download with the file token and no Authorization
// header, an image variant decoded by the browser, another user refused, storage.delete. Then HBP's
// cookie mode (`useCookies: true`: the SDK sends no Authorization header at all): sign in, upload
// by the SDK and by a plain HTML form, an <img> of an owner-only file loads by the session cookie,
// sign out, the image no longer loads. The SDK is bundled for the browser with esbuild and injected
// into a page of the Worker's own origin, so every call is same-origin.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { build } from "esbuild";
import { API, launchChromium, step } from "./steps.mjs";

const bundle = await build({
  stdin: { contents: 'export { NhostClient } from "nhost-js-sdk";', resolveDir: process.cwd() },
  bundle: true,
  format: "iife",
  globalName: "NhostSDK",
  platform: "browser",
  write: false,
  logLevel: "silent",
});
const sdkSource = bundle.outputFiles[0].text;

const context = await launchChromium("chromium");

/** A page of the Worker's origin with the SDK loaded and a signed-in client as `window.nhost`. */
async function signedInPage() {
  const page = await context.newPage();
  // Any document of the origin will do.
  await page.goto(`${new URL(API).origin}/storage/m/public/`);
  await page.addScriptTag({ content: sdkSource });
  const email = `e2e-storage-${randomUUID().slice(0, 8)}@example.com`;
  const userId = await page.evaluate(
    async ({ email }) => {
      const nhost = new window.NhostSDK.NhostClient({
        baseURL: location.origin,
        ssr: false,
        clientStorage: window.localStorage,
        clientStorageType: "web",
        autoLogin: false,
        useCookies: false,
      });
      window.nhost = nhost;
      const { user } = await nhost.auth.register({ email, password: "correct horse battery" });
      return user.id;
    },
    { email },
  );
  assert.match(userId, /^[0-9a-f-]{36}$/);
  return { page, userId };
}

try {
  const { page, userId } = await signedInPage();
  const dir = `/user/${userId}/docs`;
  let meta;

  await step("storage.put(path, File) uploads multipart and answers the metadata object", async () => {
    meta = await page.evaluate(async (path) => {
      const file = new File(["hello from chromium"], "hello.txt", { type: "text/plain" });
      return window.nhost.storage.put(path, file);
    }, `${dir}/hello.txt`);
    assert.deepEqual(Object.keys(meta).sort(), [
      "AcceptRanges",
      "ContentLength",
      "ContentType",
      "ETag",
      "LastModified",
      "Metadata",
      "key",
    ]);
    assert.equal(meta.key, `user/${userId}/docs/hello.txt`);
    assert.equal(meta.ContentLength, 19);
    assert.equal(meta.ContentType, "text/plain; charset=utf-8");
    assert.match(meta.Metadata.token, /^[A-Za-z0-9_-]{43}$/);
  });

  await step("storage.putString(path, str) is stored too", async () => {
    const m = await page.evaluate((path) => window.nhost.storage.putString(path, "a string"), `${dir}/s.txt`);
    assert.equal(m.ContentLength, 8);
  });

  await step("a 6 MB file goes through R2's multipart path and comes back byte for byte", async () => {
    const r = await page.evaluate(async (path) => {
      const bytes = new Uint8Array(6 * 1024 * 1024 + 7);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 13) & 0xff;
      const m = await window.nhost.storage.put(path, new File([bytes], "big.bin"));
      const res = await fetch(`/storage/o${path}?token=${m.Metadata.token}`);
      const back = new Uint8Array(await res.arrayBuffer());
      return {
        length: m.ContentLength,
        etag: m.ETag,
        same: back.length === bytes.length && back.every((v, i) => v === bytes[i]),
      };
    }, `${dir}/big.bin`);
    assert.equal(r.length, 6 * 1024 * 1024 + 7);
    assert.match(r.etag, /-2"$/);
    assert.equal(r.same, true);
  });

  await step("storage.getMetadata(path) answers the same object", async () => {
    const m = await page.evaluate((path) => window.nhost.storage.getMetadata(path), `${dir}/hello.txt`);
    assert.deepEqual(m, meta);
  });

  await step("download with ?token= and no Authorization header", async () => {
    const r = await page.evaluate(async (url) => {
      const res = await fetch(url);
      return { status: res.status, text: await res.text(), cc: res.headers.get("cache-control") };
    }, `/storage/o${dir}/hello.txt?token=${meta.Metadata.token}`);
    assert.deepEqual(r, { status: 200, text: "hello from chromium", cc: "private, no-store" });
  });

  await step("an image variant (?w=16&f=webp) decodes in the browser at the asked size", async () => {
    const size = await page.evaluate(async (path) => {
      const canvas = new OffscreenCanvas(64, 48);
      const g = canvas.getContext("2d");
      g.fillStyle = "#c00";
      g.fillRect(0, 0, 64, 48);
      const blob = await canvas.convertToBlob({ type: "image/png" });
      const m = await window.nhost.storage.put(path, new File([blob], "p.png", { type: "image/png" }));
      const res = await fetch(`/storage/o${path}?w=16&f=webp&token=${m.Metadata.token}`);
      const bitmap = await createImageBitmap(await res.blob());
      return { type: res.headers.get("content-type"), w: bitmap.width, h: bitmap.height };
    }, `${dir}/p.png`);
    assert.deepEqual(size, { type: "image/webp", w: 16, h: 12 });
  });

  await step("another signed-in user cannot read the file", async () => {
    const other = await signedInPage();
    const status = await other.page.evaluate(async (path) => {
      try {
        await window.nhost.storage.getMetadata(path);
        return 200;
      } catch (e) {
        return e.response?.status;
      }
    }, `${dir}/hello.txt`);
    assert.equal(status, 403);
    await other.page.close();
  });

  await step("storage.delete(path), then the file is gone", async () => {
    const status = await page.evaluate(async (path) => {
      await window.nhost.storage.delete(path);
      try {
        await window.nhost.storage.getMetadata(path);
        return 200;
      } catch (e) {
        return e.response?.status;
      }
    }, `${dir}/hello.txt`);
    assert.equal(status, 404);
  });

  await cookieMode();
} finally {
  await context.close();
}
console.log("hbp storage e2e: all steps passed");

/** The cookie-only browser flow of HBP's cookie mode. */
async function cookieMode() {
  const page = await context.newPage();
  await page.goto(`${new URL(API).origin}/storage/m/public/`);
  await page.addScriptTag({ content: sdkSource });
  const email = `e2e-cookie-${randomUUID().slice(0, 8)}@example.com`;
  let userId;

  await step(
    "cookie mode: register and sign in with useCookies; the session lives in HttpOnly cookies",
    async () => {
      const r = await page.evaluate(
        async ({ email }) => {
          const nhost = new window.NhostSDK.NhostClient({
            baseURL: location.origin,
            ssr: false,
            clientStorage: window.localStorage,
            clientStorageType: "web",
            autoLogin: false,
            useCookies: true,
          });
          window.nhost = nhost;
          await nhost.auth.register({ email, password: "correct horse battery" });
          const { user, session } = await nhost.auth.login({ email, password: "correct horse battery" });
          return { id: user.id, refreshInBody: "refresh_token" in session, jsCookies: document.cookie };
        },
        { email },
      );
      userId = r.id;
      assert.equal(r.refreshInBody, false);
      assert.equal(r.jsCookies, "");
      const names = (await context.cookies()).map((c) => `${c.name}:${c.httpOnly}:${c.sameSite}`);
      assert.ok(names.includes("permission_variables:true:Strict"), names.join(" "));
      assert.ok(names.includes("refresh_token:true:Strict"), names.join(" "));
    },
  );

  const png = `/user/${userId}/avatar.png`;
  await step("cookie mode: storage.put sends no Authorization header and the cookie uploads", async () => {
    const sent = [];
    const listen = (req) => {
      if (req.url().includes("/storage/o/")) sent.push(req.headers().authorization ?? null);
    };
    page.on("request", listen);
    const meta = await page.evaluate(async (path) => {
      const canvas = new OffscreenCanvas(40, 30);
      const g = canvas.getContext("2d");
      g.fillStyle = "#08c";
      g.fillRect(0, 0, 40, 30);
      const blob = await canvas.convertToBlob({ type: "image/png" });
      return window.nhost.storage.put(path, new File([blob], "avatar.png", { type: "image/png" }));
    }, png);
    page.off("request", listen);
    assert.equal(meta.key, png.slice(1));
    assert.deepEqual(sent, [null]);
  });

  await step("cookie mode: an <img> of the owner-only file loads by the cookie, with no token", async () => {
    const size = await page.evaluate(
      (src) =>
        new Promise((resolve) => {
          const img = new Image();
          img.onload = () => resolve({ w: img.naturalWidth, h: img.naturalHeight });
          img.onerror = () => resolve(null);
          img.src = src;
        }),
      `/storage/o${png}`,
    );
    assert.deepEqual(size, { w: 40, h: 30 });
  });

  await step(
    "cookie mode: a plain HTML form uploads a file (a navigation POST with the cookie)",
    async () => {
      await page.setContent(
        `<form method="post" enctype="multipart/form-data" action="/storage/o/user/${userId}/form.txt">
         <input type="file" name="file"><button>Upload</button></form>`,
      );
      await page.setInputFiles("input[type=file]", {
        name: "form.txt",
        mimeType: "text/plain",
        buffer: Buffer.from("uploaded by a form"),
      });
      const [res] = await Promise.all([page.waitForNavigation(), page.click("button")]);
      assert.equal(res.status(), 200);
      const meta = JSON.parse(await page.textContent("body"));
      assert.equal(meta.key, `user/${userId}/form.txt`);
      const back = await page.evaluate(
        async (u) => (await fetch(u)).text(),
        `/storage/o/user/${userId}/form.txt`,
      );
      assert.equal(back, "uploaded by a form");
    },
  );

  await step("cookie mode: sign out, and the same <img> no longer loads", async () => {
    await page.goto(`${new URL(API).origin}/storage/m/public/`);
    await page.addScriptTag({ content: sdkSource });
    const r = await page.evaluate(async (src) => {
      const nhost = new window.NhostSDK.NhostClient({
        baseURL: location.origin,
        ssr: false,
        clientStorage: window.localStorage,
        clientStorageType: "web",
        autoLogin: false,
        useCookies: true,
      });
      await nhost.auth.logout();
      const loads = await new Promise((resolve) => {
        const img = new Image();
        img.onload = () => resolve(true);
        img.onerror = () => resolve(false);
        img.src = `${src}?after=logout`;
      });
      const res = await fetch(src);
      return { loads, status: res.status };
    }, `/storage/o${png}`);
    assert.deepEqual(r, { loads: false, status: 403 });
    const left = (await context.cookies()).map((c) => c.name);
    assert.ok(!left.includes("permission_variables") && !left.includes("refresh_token"), left.join(" "));
  });
  await page.close();
}
