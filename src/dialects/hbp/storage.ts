/**
 * api/hbp.txt, Storage: /storage/o/<path> (files, and a zip of a directory with a trailing slash)
 * and /storage/m/<path> (metadata, and a directory's list with a trailing slash). Paths are taken
 * from the raw URL and normalised by core before any rule is checked.
 */
import { type Context, Hono } from "hono";
import { AuthError } from "../../core/errors";
import { parseImageParams } from "../../core/images/params";
import { normaliseKey } from "../../core/storage/keys";
import type { StorageCaller } from "../../core/storage/rules";
import { contentDisposition } from "../../core/storage/serve";
import type { StoredFile } from "../../core/storage/storage.service";
import { authenticateBearer, bearerChallenge, bearerToken } from "../shared/http";
import type { AppEnv } from "../shared/types";
import { boom, renderHbpError } from "./errors";

export const storage = new Hono<AppEnv>();
storage.onError(renderHbpError);

/** The metadata object of api/hbp.txt (S3 headObject's field names, as HBP 2 answered them). */
export const presentFile = (f: StoredFile) => ({
  key: f.key,
  AcceptRanges: "bytes",
  LastModified: f.uploaded.toISOString(),
  ContentLength: f.size,
  ETag: f.etag,
  ContentType: f.contentType,
  Metadata: { token: f.token },
});

/** The signed-in caller, or null without a bearer token; a bad token is a 401, never anonymous. */
async function callerOf(c: Context<AppEnv>): Promise<StorageCaller | null> {
  const token = bearerToken(c);
  if (!token) {
    if (!c.req.header("authorization")) return null;
    const err = new AuthError("INVALID_TOKEN");
    bearerChallenge(c, err);
    throw err;
  }
  const p = await authenticateBearer(c, token);
  const ns = c.var.config.jwt.claimsNamespace;
  const hasura = ns ? (p.claims[ns] as Record<string, unknown> | undefined) : undefined;
  const allowed = hasura?.["x-hasura-allowed-roles"];
  return {
    userId: p.userId,
    roles: Array.isArray(allowed) ? allowed.filter((r) => typeof r === "string") : [],
  };
}

/** The still-encoded path after /storage/o/ or /storage/m/, and whether it names a directory. */
function rawPath(c: Context<AppEnv>) {
  const pathname = new URL(c.req.url).pathname;
  const raw = pathname.replace(/^\/storage\/[om](\/|$)/, "");
  return { raw, isDir: raw === "" || raw.endsWith("/") };
}

const tokenParam = (c: Context<AppEnv>) => {
  const t = c.req.query("token");
  return t && t.length <= 256 ? t : null;
};

// api/hbp.txt writes the upload path with a trailing slash; nhost-js-sdk sends none. Both name the file.
storage.post("/o/*", async (c) => {
  const { raw } = rawPath(c);
  const key = normaliseKey(raw.replace(/\/$/, ""), "file");
  const caller = await callerOf(c);
  const length = c.req.header("content-length");
  const file = await c.var.services.storage.upload({
    key,
    caller,
    contentType: c.req.header("content-type") ?? null,
    contentLength: length && /^\d+$/.test(length) ? Number(length) : null,
    body: c.req.raw.body,
  });
  return c.json(presentFile(file));
});

storage.get("/o/*", async (c) => {
  const { raw, isDir } = rawPath(c);
  const caller = await callerOf(c);
  if (isDir) {
    const prefix = normaliseKey(raw, "dir");
    const { stream } = await c.var.services.storage.zip(prefix, caller);
    const name = `${prefix.replace(/\/$/, "").split("/").pop() || "files"}.zip`;
    return new Response(stream, {
      headers: {
        "Content-Type": "application/zip",
        "Content-Disposition": contentDisposition("attachment", name),
        "Cache-Control": "private, no-store",
      },
    });
  }
  const key = normaliseKey(raw, "file");
  const input = { key, caller, token: tokenParam(c), headers: c.req.raw.headers };
  const params = parseImageParams((name) => c.req.queries(name));
  if (!params) return c.var.services.storage.download(input);
  const out = await c.var.services.storage.variant({ ...input, params });
  if (out instanceof Response) return out;
  return c.json({ statusCode: 422, error: "Unprocessable Entity", message: out.unprocessable }, 422);
});

storage.get("/m/*", async (c) => {
  const { raw, isDir } = rawPath(c);
  const caller = await callerOf(c);
  if (isDir) {
    const files = await c.var.services.storage.list(normaliseKey(raw, "dir"), caller);
    c.header("Cache-Control", "private, no-store");
    return c.json(files.map(presentFile));
  }
  const file = await c.var.services.storage.metadata(normaliseKey(raw, "file"), caller, tokenParam(c));
  c.header("Cache-Control", "private, no-store");
  return c.json(presentFile(file));
});

storage.delete("/o/*", async (c) => {
  const { raw } = rawPath(c);
  await c.var.services.storage.remove(normaliseKey(raw, "file"), await callerOf(c));
  return c.body(null, 204);
});

storage.all("*", (c) => boom(c, 404, "Not Found"));
