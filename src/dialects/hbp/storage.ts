/**
 * api/hbp.txt, Storage: /storage/o/<path> (files, and a zip of a directory with a trailing slash)
 * and /storage/m/<path> (metadata, and a directory's list with a trailing slash). Paths are taken
 * from the raw URL and normalised by core before any rule is checked.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { AuthError } from "../../core/errors";
import { parseImageParams } from "../../core/images/params";
import { fileName, normaliseKey } from "../../core/storage/keys";
import { isDirectoryOnly, type StorageCaller } from "../../core/storage/rules";
import { isRisky } from "../../core/storage/sniff";
import type { FileRead, StoredFile, VariantRead } from "../../core/storage/storage.service";
import { timingSafeEqual } from "../../lib/crypto";
import { utf8 } from "../../lib/encoding";
import { op } from "../shared/openapi";
import type { AppEnv } from "../shared/types";
import { boom } from "./errors";
import { fileMetadata } from "./openapi";
import { metadataActionBody } from "./schemas";
import { hbpPrincipal } from "./session";

export const storage = new Hono<AppEnv>();

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

/** Sandboxing CSP for anything served from storage that a browser could render as a document. */
const SANDBOX_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** RFC 6266 / RFC 8187 Content-Disposition with a UTF-8 file name and an ASCII fallback. */
function contentDisposition(kind: "inline" | "attachment", name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** The safe-serving headers of a stored file: nosniff, attachments for risky types, private caching. */
function fileHeaders(file: StoredFile, visibility: "public" | "private"): Headers {
  const h = new Headers();
  h.set("Content-Type", file.contentType);
  h.set("ETag", file.etag);
  h.set("Last-Modified", file.uploaded.toUTCString());
  h.set("Accept-Ranges", "bytes");
  // Public files may be cached but must be revalidated (an overwrite or delete shows at once);
  // private ones are never stored by a shared or browser cache.
  h.set("Cache-Control", visibility === "public" ? "public, no-cache" : "private, no-store");
  h.set("X-Content-Type-Options", "nosniff");
  const risky = isRisky(file.contentType) || file.contentType === "application/octet-stream";
  h.set("Content-Disposition", contentDisposition(risky ? "attachment" : "inline", fileName(file.key)));
  if (risky) h.set("Content-Security-Policy", SANDBOX_CSP);
  return h;
}

/** A file read as its HTTP answer: 200, 206, 304 or 416, with the safe-serving headers. */
function fileResponse(read: FileRead): Response {
  const { file } = read;
  const headers = fileHeaders(file, read.isPublic ? "public" : "private");
  if (read.kind === "not_modified") {
    for (const h of ["Content-Type", "Content-Disposition", "Content-Security-Policy"]) headers.delete(h);
    return new Response(null, { status: 304, headers });
  }
  if (read.kind === "range_not_satisfiable") {
    headers.set("Content-Range", `bytes */${file.size}`);
    return new Response(null, { status: 416, headers });
  }
  const { range } = read;
  if (range) {
    headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${file.size}`);
    headers.set("Content-Length", String(range.length));
    return new Response(read.body, { status: 206, headers });
  }
  headers.set("Content-Length", String(file.size));
  return new Response(read.body, { status: 200, headers });
}

/** An image variant as its HTTP answer: 200, or 304 when the client's copy is current. */
function variantResponse(v: VariantRead): Response {
  const headers = new Headers({
    "Content-Type": `image/${v.format}`,
    ETag: v.etag,
    "Last-Modified": v.uploaded.toUTCString(),
    "Cache-Control": v.isPublic ? "public, no-cache" : "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Disposition": contentDisposition(
      "inline",
      `${fileName(v.key).replace(/\.[^.]*$/, "")}.${v.format === "jpeg" ? "jpg" : v.format}`,
    ),
  });
  if (v.varyAccept) headers.set("Vary", "Accept");
  if (!v.body) return new Response(null, { status: 304, headers });
  headers.set("Content-Length", String(v.body.size));
  return new Response(v.body.data, { status: 200, headers });
}

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
storage.post(
  "/o/*",
  op({
    summary: "Upload a file (multipart/form-data, field `file`)",
    description:
      "Access is decided by STORAGE_RULES; the default lets a user write under `user/<their id>/`.",
    auth: ["bearer", "cookie"],
    responses: {
      200: { description: "The stored file's metadata", body: fileMetadata },
      401: "A bad access token",
      403: "Not allowed by STORAGE_RULES",
      413: "Larger than STORAGE_MAX_UPLOAD_BYTES",
    },
  }),
  async (c) => {
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
  },
);

storage.get(
  "/o/*",
  op({
    summary: "Download a file, an image variant (`w h q f r b`), or a directory as zip (trailing slash)",
    auth: ["bearer", "cookie"],
    query: z.object({
      token: z.string().optional().describe("the file's Metadata.token, for rules that allow `token`"),
      w: z.string().optional(),
      h: z.string().optional(),
      q: z.string().optional(),
      f: z.string().optional(),
      r: z.string().optional(),
      b: z.string().optional(),
    }),
    responses: {
      200: { description: "The file, variant or zip", contentType: "application/octet-stream" },
      206: "A byte range of the file",
      304: "Not modified",
      403: "Not allowed by STORAGE_RULES",
      404: "No such file",
    },
  }),
  async (c) => {
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
    if (!params) return fileResponse(await c.var.services.storage.download(input));
    const read = await c.var.services.storage.variant({ ...input, params });
    return read.kind === "variant" ? variantResponse(read) : fileResponse(read);
  },
);

storage.get(
  "/m/*",
  op({
    summary: "A file's metadata, or a directory's list (trailing slash)",
    auth: ["bearer", "cookie"],
    query: z.object({ token: z.string().optional() }),
    responses: {
      200: {
        description: "The metadata object, or an array of them",
        body: fileMetadata.or(z.array(fileMetadata)),
      },
      403: "Not allowed by STORAGE_RULES",
      404: "No such file",
    },
  }),
  async (c) => {
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
  },
);

/**
 * compat(hbp): `POST /storage/m/<path>` with `{"action": "revoke-token"}` gives the file a new
 * token (HBP's upload.ts). The action is checked first (400), then the right (403), then the file
 * (404); the answer is the file's metadata object with the new token.
 */
const revokeToken = op({
  summary: 'Give a file a new token (`{"action": "revoke-token"}`)',
  body: metadataActionBody,
  auth: ["bearer", "cookie"],
  responses: {
    200: { description: "The metadata with the new token", body: fileMetadata },
    400: "Unknown action",
    403: "Not allowed (write right, ADMIN_SECRET or STORAGE_ADMIN_ROLE)",
    404: "No such file",
  },
});

storage.post("/m/*", revokeToken, async (c) => {
  const { raw, isDir } = rawPath(c);
  if (isDir) throw new AuthError("NOT_FOUND");
  const key = normaliseKey(raw, "file");
  await revokeToken.body(c);
  const caller = await callerOf(c);
  const file = await c.var.services.storage.rotateToken(key, caller, isAdmin(c, caller));
  c.header("Cache-Control", "private, no-store");
  return c.json(presentFile(file));
});

storage.delete(
  "/o/*",
  op({
    summary: "Delete a file",
    auth: ["bearer", "cookie"],
    responses: { 204: "Deleted", 403: "Not allowed by STORAGE_RULES", 404: "No such file" },
  }),
  async (c) => {
    const { raw } = rawPath(c);
    await c.var.services.storage.remove(normaliseKey(raw, "file"), await callerOf(c));
    return c.body(null, 204);
  },
);

storage.all("*", (c) => boom(c, 404, "Not Found"));
