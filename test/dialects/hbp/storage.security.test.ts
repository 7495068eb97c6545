/** Storage security: ownership, tokens, traversal, upload caps, custom rules. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { activeUser, call, expectBoom, json } from "./helpers";
import { fileForm, text, unzip, upload, uploadOk } from "./storage.helpers";

async function twoUsers() {
  const a = await activeUser();
  const b = await activeUser();
  const meta = await uploadOk(`user/${a.userId}/secret/s.txt`, "A's secret", a.jwt);
  return { a, b, meta, key: `user/${a.userId}/secret/s.txt` };
}

describe("one user and another's files", () => {
  it("cannot read, list, zip, overwrite or delete them", async () => {
    const { a, b, key } = await twoUsers();
    await expectBoom(await call(`/storage/o/${key}`, { token: b.jwt }), 403, "Forbidden");
    await expectBoom(await call(`/storage/m/${key}`, { token: b.jwt }), 403, "Forbidden");
    expect(await json(await call(`/storage/m/user/${a.userId}/`, { token: b.jwt }))).toEqual([]);
    expect(await json(await call(`/storage/m/user/${a.userId}/secret/`, { token: b.jwt }))).toEqual([]);
    expect(await unzip(await call(`/storage/o/user/${a.userId}/`, { token: b.jwt }))).toEqual({});
    await expectBoom(await upload(key, "overwritten", { token: b.jwt }), 403, "Forbidden");
    await expectBoom(await call(`/storage/o/${key}`, { method: "DELETE", token: b.jwt }), 403, "Forbidden");
    // Unchanged.
    expect(await (await env.FILES.get(key))!.text()).toBe("A's secret");
  });

  it("a missing file of another user is 403 too, so keys cannot be probed", async () => {
    const { a, b } = await twoUsers();
    await expectBoom(await call(`/storage/o/user/${a.userId}/none.txt`, { token: b.jwt }), 403, "Forbidden");
  });

  it("listing and zipping the root or user/ return only the caller's files", async () => {
    const { b } = await twoUsers();
    const own = await uploadOk(`user/${b.userId}/mine.txt`, "mine", b.jwt);
    const list = await json(await call("/storage/m/user/", { token: b.jwt }));
    expect(list.every((f: { key: string }) => f.key.startsWith(`user/${b.userId}/`))).toBe(true);
    expect(list).toContainEqual(own);
    const root = await json(await call("/storage/m/", { token: b.jwt }));
    expect(
      root.every(
        (f: { key: string }) => f.key.startsWith(`user/${b.userId}/`) || f.key.startsWith("public/"),
      ),
    ).toBe(true);
  });

  // compat(hbp): HBP refused an anonymous caller with 403 like anyone else without the right.
  it("without a token: 403 for every route", async () => {
    const { key, a } = await twoUsers();
    await expectBoom(await call(`/storage/o/${key}`), 403, "Forbidden");
    await expectBoom(await call(`/storage/m/${key}`), 403, "Forbidden");
    await expectBoom(await call(`/storage/o/${key}`, { method: "DELETE" }), 403, "Forbidden");
    await expectBoom(await upload(key, "x"), 403, "Forbidden");
    expect(await json(await call(`/storage/m/user/${a.userId}/`))).toEqual([]);
  });

  it("an invalid bearer token is 401, never anonymous access (even to public files)", async () => {
    const u = await activeUser();
    const path = `public/${crypto.randomUUID()}.txt`;
    await uploadOk(path, "pub", u.jwt);
    await expectBoom(
      await call(`/storage/o/${path}`, { token: "not.a.jwt" }),
      401,
      "Invalid or expired JWT token.",
    );
    await expectBoom(
      await call(`/storage/o/${path}`, { headers: { authorization: "Basic abc" } }),
      401,
      "Invalid or expired JWT token.",
    );
  });

  it("a revoked session's token no longer reads", async () => {
    const a = await activeUser();
    await uploadOk(`user/${a.userId}/r.txt`, "r", a.jwt);
    expect((await call(`/auth/logout?refresh_token=${a.refresh}`, { method: "POST", json: {} })).status).toBe(
      204,
    );
    await expectBoom(
      await call(`/storage/o/user/${a.userId}/r.txt`, { token: a.jwt }),
      401,
      "Invalid or expired JWT token.",
    );
  });
});

describe("the per-file token", () => {
  it("grants read of its own file only", async () => {
    const { a, meta, key } = await twoUsers();
    const other = await uploadOk(`user/${a.userId}/secret/t.txt`, "other", a.jwt);
    expect((await call(`/storage/o/${key}?token=${meta.Metadata.token}`)).status).toBe(200);
    await expectBoom(
      await call(`/storage/o/user/${a.userId}/secret/t.txt?token=${meta.Metadata.token}`),
      403,
      "Forbidden",
    );
    expect(
      (await call(`/storage/o/user/${a.userId}/secret/t.txt?token=${other.Metadata.token}`)).status,
    ).toBe(200);
  });

  it("grants neither listing, zipping, writing nor deleting", async () => {
    const { a, meta, key } = await twoUsers();
    const t = meta.Metadata.token;
    expect(await json(await call(`/storage/m/user/${a.userId}/secret/?token=${t}`))).toEqual([]);
    expect(await unzip(await call(`/storage/o/user/${a.userId}/secret/?token=${t}`))).toEqual({});
    await expectBoom(await call(`/storage/o/${key}?token=${t}`, { method: "DELETE" }), 403, "Forbidden");
    await expectBoom(
      await call(`/storage/o/${key}?token=${t}`, { method: "POST", body: fileForm("x") }),
      403,
      "Forbidden",
    );
  });

  it("a wrong or stale token is refused; an overwrite revokes the old token", async () => {
    const { a, meta, key } = await twoUsers();
    await expectBoom(await call(`/storage/o/${key}?token=${"x".repeat(43)}`), 403, "Forbidden");
    await expectBoom(await call(`/storage/o/${key}?token=`), 403, "Forbidden");
    await uploadOk(key, "new", a.jwt);
    await expectBoom(await call(`/storage/o/${key}?token=${meta.Metadata.token}`), 403, "Forbidden");
  });
});

describe("path normalisation", () => {
  it("refuses encoded separators, dot segments, backslashes, NUL and control characters with 400", async () => {
    const { a, b } = await twoUsers();
    const paths = [
      `user/${b.userId}/..%2f..%2fuser%2f${a.userId}%2fsecret%2fs.txt`,
      `user/${b.userId}/a%5c..%5cb`,
      `user/${b.userId}/a%00.txt`,
      `user/${b.userId}/a%0d%0aSet-Cookie:x`,
      `user/${b.userId}/%ff%fe`,
      `user/${b.userId}//double`,
      `_variants/abc/def`,
    ];
    for (const p of paths) {
      for (const [method, route] of [
        ["GET", "o"],
        ["GET", "m"],
        ["DELETE", "o"],
      ] as const) {
        const res = await call(`/storage/${route}/${p}`, { method, token: b.jwt });
        expect(res.status, `${method} ${route} ${p}`).toBe(400);
        expect((await json(res)).error).toBe("Bad Request");
      }
      expect((await upload(p, "x", { token: b.jwt })).status, p).toBe(400);
    }
  });

  it("refuses overlong segments and keys", async () => {
    const u = await activeUser();
    const seg = "s".repeat(256);
    await expectBoom(
      await upload(`user/${u.userId}/${seg}`, "x", { token: u.jwt }),
      400,
      "A path segment is too long.",
    );
    const long = Array.from({ length: 6 }, () => "d".repeat(200)).join("/");
    await expectBoom(
      await upload(`user/${u.userId}/${long}`, "x", { token: u.jwt }),
      400,
      "The path is too long.",
    );
    expect((await upload(`user/${u.userId}/${"s".repeat(255)}`, "x", { token: u.jwt })).status).toBe(200);
  });

  it("plain ../ is resolved by URL parsing before routing, and the rules then apply to the result", async () => {
    const { a, b, key } = await twoUsers();
    for (const dots of ["..", "%2e%2e", ".%2e", "%2E%2E"]) {
      const res = await call(`/storage/o/user/${b.userId}/${dots}/${a.userId}/secret/s.txt`, {
        token: b.jwt,
      });
      expect(res.status, dots).toBe(403);
    }
    expect((await call(`/storage/o/${key}`, { token: a.jwt })).status).toBe(200);
  });
});

describe("upload size cap", () => {
  const vars = { STORAGE_MAX_UPLOAD_BYTES: "1000" };

  it("413 for a declared body over the cap, and nothing stored", async () => {
    const u = await activeUser();
    const key = `user/${u.userId}/big.bin`;
    const res = await upload(key, new Uint8Array(80_000), { token: u.jwt, vars });
    await expectBoom(res, 413, "Request body is too large.");
    expect(await env.FILES.head(key)).toBeNull();
  });

  it("413 for a streamed body (no Content-Length) over the cap; an existing file stays", async () => {
    const u = await activeUser();
    const key = `user/${u.userId}/s.bin`;
    await uploadOk(key, "original", u.jwt);
    const boundary = "----latchkeyboundary";
    const head = text(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="s.bin"\r\n\r\n`,
    );
    const tail = text(`\r\n--${boundary}--\r\n`);
    const stream = new ReadableStream<Uint8Array>({
      start(ctl) {
        ctl.enqueue(head);
        for (let i = 0; i < 4; i++) ctl.enqueue(new Uint8Array(500).fill(65));
        ctl.enqueue(tail);
        ctl.close();
      },
    });
    const res = await call(`/storage/o/${key}`, {
      method: "POST",
      body: stream,
      token: u.jwt,
      vars,
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    });
    await expectBoom(res, 413, "Request body is too large.");
    expect(await (await env.FILES.get(key))!.text()).toBe("original");
  });

  it("a file of exactly the cap is accepted", async () => {
    const u = await activeUser();
    const res = await upload(`user/${u.userId}/exact.bin`, new Uint8Array(1000), { token: u.jwt, vars });
    expect(res.status).toBe(200);
  });

  it("over the cap in the multipart-upload path: aborted, nothing stored", async () => {
    const u = await activeUser();
    const key = `user/${u.userId}/huge.bin`;
    const boundary = "b0undary";
    const chunk = new Uint8Array(1024 * 1024).fill(66);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (sent === 0)
          ctl.enqueue(text(`--${boundary}\r\nContent-Disposition: form-data; name="file"\r\n\r\n`));
        if (sent < 8) ctl.enqueue(chunk);
        else {
          ctl.enqueue(text(`\r\n--${boundary}--\r\n`));
          ctl.close();
        }
        sent++;
      },
    });
    const res = await call(`/storage/o/${key}`, {
      method: "POST",
      body: stream,
      token: u.jwt,
      vars: { STORAGE_MAX_UPLOAD_BYTES: String(6 * 1024 * 1024) },
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    });
    await expectBoom(res, 413, "Request body is too large.");
    expect(await env.FILES.head(key)).toBeNull();
  });
});

describe("STORAGE_RULES", () => {
  const rules = JSON.stringify([
    { path: "teams/{team}/**", read: ["role:editor"], write: ["role:editor"] },
    { path: "drop/{userId}/*", read: ["owner"], write: ["authenticated"] },
    { path: "open/**", read: ["public"], write: ["public"] },
  ]);

  it("role:<name> grants by the token's allowed roles", async () => {
    const vars = { STORAGE_RULES: rules, DEFAULT_ALLOWED_USER_ROLES: "user,editor" };
    const editor = await activeUser(vars);
    const res = await upload("teams/t1/plan.txt", "plan", { token: editor.jwt, vars });
    expect(res.status).toBe(200);
    const plain = await activeUser({ STORAGE_RULES: rules });
    await expectBoom(
      await upload("teams/t1/plan.txt", "x", { token: plain.jwt, vars: { STORAGE_RULES: rules } }),
      403,
      "Forbidden",
    );
    const read = await call("/storage/o/teams/t1/plan.txt", {
      token: plain.jwt,
      vars: { STORAGE_RULES: rules },
    });
    expect(read.status).toBe(403);
  });

  it("an unmatched path is refused; `*` matches one segment only; user/** is closed when not listed", async () => {
    const vars = { STORAGE_RULES: rules };
    const u = await activeUser(vars);
    expect((await upload(`drop/${u.userId}/x.txt`, "x", { token: u.jwt, vars })).status).toBe(200);
    await expectBoom(await upload(`drop/${u.userId}/a/x.txt`, "x", { token: u.jwt, vars }), 403, "Forbidden");
    await expectBoom(await upload(`user/${u.userId}/x.txt`, "x", { token: u.jwt, vars }), 403, "Forbidden");
    expect((await upload(`open/${crypto.randomUUID()}`, "x", { vars })).status).toBe(200);
  });

  it("listing and zipping a mixed directory give only the entries the caller may read", async () => {
    const vars = {
      STORAGE_RULES: JSON.stringify([
        { path: "mix/{userId}/private/**", read: ["owner"], write: ["owner"] },
        { path: "mix/{userId}/**", read: ["authenticated"], write: ["owner"] },
      ]),
    };
    const a = await activeUser(vars);
    const b = await activeUser(vars);
    const pub = await json(await upload(`mix/${a.userId}/pub.txt`, "for everyone", { token: a.jwt, vars }));
    await upload(`mix/${a.userId}/private/s.txt`, "only A", { token: a.jwt, vars });
    const list = await call(`/storage/m/mix/${a.userId}/`, { token: b.jwt, vars });
    expect(await json(list)).toEqual([pub]);
    const zip = await call(`/storage/o/mix/${a.userId}/`, { token: b.jwt, vars });
    expect(await unzip(zip)).toEqual({ "pub.txt": "for everyone" });
    const own = await call(`/storage/o/mix/${a.userId}/`, { token: a.jwt, vars });
    expect(await unzip(own)).toEqual({ "pub.txt": "for everyone", "private/s.txt": "only A" });
  });

  it("an invalid rule list fails configuration with the key's name", async () => {
    for (const bad of [
      "not json",
      '[{"path":"a/**/b","read":[],"write":[]}]',
      '[{"path":"a/*","read":["owner"]}]',
    ]) {
      const res = await call("/health", { vars: { STORAGE_RULES: bad } });
      expect(res.status).toBe(500);
      const { error } = (await res.json()) as { error: string };
      // The key and why, never the value.
      expect(error).toMatch(/^Configuration error: STORAGE_RULES: \S/);
      expect(error).not.toContain(bad);
    }
  });
});
