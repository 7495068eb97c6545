/**
 * api/hbp.txt, Storage: /storage/o/<path> (files, and a zip of a directory with a trailing slash)
 * and /storage/m/<path> (metadata, and a directory's list with a trailing slash). Paths are taken
 * from the raw URL and normalised by core before any rule is checked.
 */
import { type Context, Hono } from "hono";
import { AuthError } from "../../core/errors";
import { parseImageParams } from "../../core/images/params";
import { normaliseKey } from "../../core/storage/keys";
import { isDirectoryOnly, type StorageCaller } from "../../core/storage/rules";
import { contentDisposition } from "../../core/storage/serve";
import type { StoredFile } from "../../core/storage/storage.service";
import { timingSafeEqual } from "../../lib/crypto";
import { utf8 } from "../../lib/encoding";
import { readBody, validate } from "../shared/http";
import type { AppEnv } from "../shared/types";
import { boom, renderHbpError } from "./errors";
import { metadataActionBody } from "./schemas";
import { hbpPrincipal } from "./session";

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

/**
 * The signed-in caller (bearer token, else the session cookie), or null; a bad bearer token is a
 * 401, never anonymous.
 */
async function callerOf(c: Context<AppEnv>): Promise<StorageCaller | null> {
  const p = await hbpPrincipal(c, "INVALID_TOKEN");
  return p ? { userId: p.userId, roles: p.roles } : null;
}

/**
 * compat(hbp): HBP's admin secret header (`x-admin-secret`, compared with ADMIN_SECRET in constant
 * time), or a caller holding STORAGE_ADMIN_ROLE.
 */
function isAdmin(c: Context<AppEnv>, caller: StorageCaller | null): boolean {
  const { adminSecret, adminRole } = c.var.config.storage;
  const sent = c.req.header("x-admin-secret");
  if (adminSecret && sent !== undefined && timingSafeEqual(utf8(sent), utf8(adminSecret))) return true;
  return !!adminRole && !!caller?.roles.includes(adminRole);
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
// compat(hbp): a path that is a directory in the rules (`user/<id>/`, no file name) is a 404, as
// HBP had no upload route there.
storage.post("/o/*", async (c) => {
  const { raw } = rawPath(c);
  if (raw === "" || raw === "/") throw new AuthError("NOT_FOUND");
  const key = normaliseKey(raw.replace(/\/$/, ""), "file");
  if (isDirectoryOnly(c.var.config.storage.rules, key)) throw new AuthError("NOT_FOUND");
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
  return c.var.services.storage.variant({ ...input, params });
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

/**
 * compat(hbp): `POST /storage/m/<path>` with `{"action": "revoke-token"}` gives the file a new
 * token (HBP's upload.ts). The action is checked first (400), then the right (403), then the file
 * (404); the answer is the file's metadata object with the new token.
 */
storage.post("/m/*", async (c) => {
  const { raw, isDir } = rawPath(c);
  if (isDir) throw new AuthError("NOT_FOUND");
  const key = normaliseKey(raw, "file");
  validate(metadataActionBody, await readBody(c));
  const caller = await callerOf(c);
  const file = await c.var.services.storage.rotateToken(key, caller, isAdmin(c, caller));
  c.header("Cache-Control", "private, no-store");
  return c.json(presentFile(file));
});

storage.delete("/o/*", async (c) => {
  const { raw } = rawPath(c);
  await c.var.services.storage.remove(normaliseKey(raw, "file"), await callerOf(c));
  return c.body(null, 204);
});

storage.all("*", (c) => boom(c, 404, "Not Found"));
