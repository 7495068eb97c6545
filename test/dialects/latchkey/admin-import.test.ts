/** POST /v1/admin/users/import: who may call it, per-row results, limits, and the imported user's first login. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, uniqueEmail } from "../../support/app";

const KEY = "k".repeat(43);
const ADMIN = { ADMIN_API_KEY: KEY };
const BCRYPT = {
  password: "rasmuslerdorf",
  hash: "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
};

const post = (json: unknown, token: string | undefined = KEY) =>
  call("/v1/admin/users/import", { json, token, vars: ADMIN });

async function userToken() {
  const email = uniqueEmail();
  const res = await call("/auth/register", {
    json: { email, password: "correct horse battery", cookie: false },
    vars: { AUTO_ACTIVATE_NEW_USERS: "true" },
  });
  return ((await res.json()) as { jwt_token: string }).jwt_token;
}

describe("POST /v1/admin/users/import", () => {
  it("refuses callers without credentials (401) and users who are not admins (403)", async () => {
    const body = { users: [{ email: uniqueEmail() }] };
    const none = await call("/v1/admin/users/import", { json: body, vars: ADMIN });
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe("UNAUTHENTICATED");
    const wrongKey = await post(body, "x".repeat(43));
    expect(wrongKey.status).toBe(401);
    const user = await post(body, await userToken());
    expect(user.status).toBe(403);
    expect(await user.json()).toEqual({ error: { code: "FORBIDDEN", message: expect.any(String) } });
  });

  it("answers one result per row; the imported user signs in with the old password, once rehashed", async () => {
    const email = uniqueEmail("imp");
    const res = await post({
      users: [
        { email, email_verified: true, display_name: "Ada", password_hash: BCRYPT.hash },
        { email: 42 },
        { email, password_hash: BCRYPT.hash },
        { email: uniqueEmail("imp"), password_hash: "md5:5f4dcc3b5aa765d61d8327deb882cf99" },
        {
          email: uniqueEmail("fb"),
          password_hash: {
            algorithm: "firebase_scrypt",
            hash: "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
            salt: "42xEC+ixf3L2lw==",
            signer_key:
              "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
            salt_separator: "Bw==",
            rounds: 8,
            mem_cost: 14,
          },
        },
      ],
    });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: Record<string, unknown>[] };
    expect(results).toEqual([
      { index: 0, status: "created", id: expect.any(String), email },
      { index: 1, status: "invalid", error: "email: Invalid input: expected string, received number" },
      { index: 2, status: "duplicate", email },
      {
        index: 3,
        status: "invalid",
        email: expect.stringContaining("imp-"),
        error: expect.stringMatching(/^password_hash: unrecognised password hash/),
      },
      { index: 4, status: "created", id: expect.any(String), email: expect.stringContaining("fb-") },
    ]);
    const login = await call("/auth/login", { json: { email, password: BCRYPT.password } });
    expect(login.status).toBe(200);
    const row = await env.DB.prepare(
      "SELECT u.password_hash AS h, u.display_name AS n FROM users u JOIN emails e ON e.user_id = u.id WHERE e.address = ?",
    )
      .bind(email)
      .first<{ h: string; n: string }>();
    expect(row?.n).toBe("Ada");
    expect(row?.h).toMatch(/^\$scrypt\$/);
  });

  it("refuses a batch over 500 users (400) and a body over 1 MiB (413) as a whole", async () => {
    const many = await post({
      users: Array.from({ length: 501 }, (_, i) => ({ email: `u${i}@example.com` })),
    });
    expect(many.status).toBe(400);
    const huge = await post({
      users: [{ email: uniqueEmail(), metadata: { blob: "x".repeat(1024 * 1024) } }],
    });
    expect(huge.status).toBe(413);
    const empty = await post({ users: [] });
    expect(empty.status).toBe(400);
  });

  it("is listed in the /v1 OpenAPI document with its body schema", async () => {
    const doc = (await (await call("/v1/openapi.json")).json()) as {
      paths: Record<string, { post?: { requestBody?: unknown } }>;
    };
    expect(doc.paths["/v1/admin/users/import"]?.post?.requestBody).toBeDefined();
  });
});
