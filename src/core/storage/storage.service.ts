/**
 * Files on R2. Keys mirror the HBP paths and arrive already normalised (normaliseKey); every
 * operation checks the access rules before it touches R2. The per-file read token, the sniffed
 * Content-Type, the uploader and an image's measured size live in the object's own R2 metadata, so
 * an object and its metadata are written and deleted by one R2 operation and can never disagree.
 */
import type { Clock } from "../../lib/clock";
import { randomToken, sha256Hex, timingSafeEqual } from "../../lib/crypto";
import { utf8 } from "../../lib/encoding";
import { AuthError } from "../errors";
import type { Format } from "../images/codecs";
import { canonical, geometry, type ImageParams, resolveFormat, variesByAccept } from "../images/params";
import { type Probe, probe } from "../images/probe";
import { ENGINE_VERSION, serialized, transform, UndecodableImage } from "../images/transform";
import { MAX_KEY_BYTES, VARIANTS_PREFIX } from "./keys";
import { multipartBoundary, readFilePart } from "./multipart";
import { type CompiledRules, decide, isPublic, ownedPaths, ownerOf, type StorageCaller } from "./rules";
import { etagMatches, notModified, parseRange, type ServedFile } from "./serve";
import { SNIFF_BYTES, sniffContentType } from "./sniff";
import { zipStream } from "./zip";

export interface StoredFile extends ServedFile {
  token: string;
}

export interface StorageLimits {
  maxUploadBytes: number;
  zipMaxEntries: number;
  zipMaxBytes: number;
  /** Largest source a transform decodes, in pixels (decoding costs ~8.7 bytes per pixel). */
  imageMaxPixels: number;
  /** Largest source a transform reads, in bytes (it is buffered and copied into WASM memory). */
  imageMaxSourceBytes: number;
}

/** How many leading bytes are read to measure an image whose size was not stored at upload. */
const PROBE_BYTES = 64 * 1024;
const DECODABLE = new Set<string>(["jpeg", "png", "webp"]);

/** R2 multipart part size: all parts but the last must have this size; 5 MiB is R2's minimum. */
export const PART_SIZE = 5 * 1024 * 1024;
/** Bytes a multipart envelope may add around the file (boundaries, part headers, other fields). */
const MULTIPART_SLACK = 64 * 1024;
/** Most entries a directory listing returns, and most keys it scans to find them. */
const LIST_MAX = 1000;
const LIST_SCAN_MAX = 10_000;

export interface UploadInput {
  key: string;
  caller: StorageCaller | null;
  contentType: string | null;
  contentLength: number | null;
  body: ReadableStream<Uint8Array> | null;
}

export interface ReadInput {
  key: string;
  caller: StorageCaller | null;
  token: string | null;
  headers: Headers;
}

/** Finished variants by id, in front of R2 `_variants/` (the Workers Cache API). */
export interface VariantCache {
  match(id: string): Promise<{ body: ReadableStream<Uint8Array>; size: number } | null>;
  put(id: string, bytes: Uint8Array, format: Format): Promise<void>;
}

/** A byte range of a file: `offset` and `length` in bytes. */
export interface ByteRange {
  offset: number;
  length: number;
}

/**
 * What a read of a stored file comes to (RFC 9110): the client's copy is current, the range it
 * asked for lies outside the file, or the file's bytes (all of them or one range). `isPublic`
 * says whether the rules let anyone read it, so shared caches may keep it.
 */
export type FileRead =
  | { kind: "not_modified"; file: StoredFile; isPublic: boolean }
  | { kind: "range_not_satisfiable"; file: StoredFile; isPublic: boolean }
  | {
      kind: "content";
      file: StoredFile;
      isPublic: boolean;
      body: ReadableStream<Uint8Array>;
      range: ByteRange | null;
    };

/** An image variant of `key`; `body` is null when the client's copy (If-None-Match) is current. */
export interface VariantRead {
  kind: "variant";
  key: string;
  /** Quoted strong ETag of the variant. */
  etag: string;
  format: Format;
  /** The source's upload time. */
  uploaded: Date;
  isPublic: boolean;
  /** The format was chosen from the Accept header. */
  varyAccept: boolean;
  body: { data: ReadableStream<Uint8Array> | Uint8Array; size: number } | null;
}

export function toStoredFile(o: R2Object): StoredFile {
  return {
    key: o.key,
    size: o.size,
    etag: o.httpEtag,
    uploaded: o.uploaded,
    contentType: o.httpMetadata?.contentType ?? "application/octet-stream",
    token: o.customMetadata?.token ?? "",
  };
}

/**
 * compat(hbp): every refusal is 403, also to a caller who offered no credential at all: HBP's rules
 * simply evaluate to false then (routes/storage/*.ts `res.boom.forbidden()`), and nhost-js-sdk does
 * not tell 401 from 403 on storage calls. An invalid bearer token stays 401 (the dialect decides).
 */
const denied = () => new AuthError("FORBIDDEN");

/** Length of a variant's id, the last segment of its R2 key. */
const VARIANT_ID_CHARS = 32;

/**
 * The R2 prefix holding the variants of `key`: under the source's own directory (shortened at a
 * segment boundary when the key would pass R2's limit), so a directory's variants, such as all of
 * a deleted user's, go with one prefix.
 */
export const variantsPrefix = async (key: string) => {
  const hash = `${(await sha256Hex(key)).slice(0, 32)}/`;
  let dir = key.slice(0, key.lastIndexOf("/") + 1);
  const room = MAX_KEY_BYTES - VARIANTS_PREFIX.length - hash.length - VARIANT_ID_CHARS;
  while (utf8(dir).length > room) dir = dir.slice(0, dir.lastIndexOf("/", dir.length - 2) + 1);
  return `${VARIANTS_PREFIX}${dir}${hash}`;
};

/** List pages (of up to 1000 keys) an account deletion removes before it answers, and after. */
const PURGE_PAGES_NOW = 10;
const PURGE_PAGES_LATER = 50;

export function createStorageService(deps: {
  bucket: R2Bucket;
  rules: CompiledRules;
  limits: StorageLimits;
  clock: Clock;
  waitUntil: (p: Promise<unknown>) => void;
  /** Whether a user still exists: a file token of a deleted user's file never works. */
  userExists: (userId: string) => Promise<boolean>;
  variantCache: VariantCache | null;
}) {
  const { bucket, rules, limits, waitUntil } = deps;

  function assertWrite(key: string, caller: StorageCaller | null) {
    if (decide(rules, "write", key, caller) !== "allow") throw denied();
  }

  /** The object's head when `caller` (or `token`) may read it; 404 only once access is settled. */
  async function readableHead(key: string, caller: StorageCaller | null, token: string | null) {
    const d = decide(rules, "read", key, caller);
    if (d === "deny" || (d === "token" && !token)) throw denied();
    // A token outlives nothing: the files of a deleted account may wait in R2 for their removal.
    const owner = d === "token" ? ownerOf(rules, key) : null;
    const [head, ownerAlive] = await Promise.all([bucket.head(key), owner ? deps.userExists(owner) : true]);
    if (d === "token") {
      const stored = head?.customMetadata?.token;
      // A missing file and a wrong token look the same, so tokens cannot probe for keys.
      if (!head || !stored || !ownerAlive || !timingSafeEqual(utf8(stored), utf8(token!))) throw denied();
    }
    if (!head) throw new AuthError("NOT_FOUND");
    return head;
  }

  function purgeVariants(key: string) {
    waitUntil(
      (async () => {
        const prefix = await variantsPrefix(key);
        let cursor: string | undefined;
        do {
          const page = await bucket.list({ prefix, cursor, limit: 1000 });
          if (page.objects.length) await bucket.delete(page.objects.map((o) => o.key));
          cursor = page.truncated ? page.cursor : undefined;
        } while (cursor);
      })(),
    );
  }

  /** Deletes up to `pages` list pages below `prefix`; true when nothing is left. */
  async function deleteBelow(prefix: string, pages: number): Promise<boolean> {
    for (let i = 0; i < pages; i++) {
      // Listed from the start each time: the previous page is gone.
      const page = await bucket.list({ prefix, limit: 1000 });
      if (page.objects.length) await bucket.delete(page.objects.map((o) => o.key));
      if (!page.truncated) return true;
    }
    return false;
  }

  /** Format, size and orientation of an image: stored at upload, else probed from a range read. */
  async function measure(head: R2Object): Promise<Probe | null> {
    const img = head.customMetadata?.img;
    if (img) {
      const [format, w, h, o] = img.split(" ");
      return {
        format: format as Probe["format"],
        width: Number(w),
        height: Number(h),
        orientation: Number(o),
      };
    }
    if (!head.httpMetadata?.contentType?.startsWith("image/")) return null;
    const part = await bucket.get(head.key, {
      range: { offset: 0, length: PROBE_BYTES },
      onlyIf: { etagMatches: head.etag },
    });
    if (!part || !("body" in part)) return null;
    return probe(new Uint8Array(await part.arrayBuffer()));
  }

  /** The readable files below `prefix`, at most `max` + 1 (so callers can tell "too many"). */
  async function readableBelow(prefix: string, caller: StorageCaller | null, max: number) {
    const out: R2Object[] = [];
    let cursor: string | undefined;
    let scanned = 0;
    do {
      const page = await bucket.list({
        prefix,
        cursor,
        limit: 1000,
        include: ["httpMetadata", "customMetadata"],
      });
      for (const o of page.objects) {
        if (o.key.startsWith(VARIANTS_PREFIX)) continue;
        if (decide(rules, "read", o.key, caller) === "allow") out.push(o);
        if (out.length > max) return out;
      }
      scanned += page.objects.length;
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor && scanned < LIST_SCAN_MAX);
    return out;
  }

  return {
    /**
     * Streams the multipart field `file` to R2: one put for files up to PART_SIZE, else an R2
     * multipart upload fed one part at a time, so memory stays at about one part whatever the size.
     * Over the cap, the upload is aborted and nothing is stored (an existing file stays as it was).
     */
    async upload(input: UploadInput): Promise<StoredFile> {
      const { key, caller } = input;
      assertWrite(key, caller);
      const boundary = multipartBoundary(input.contentType);
      // compat(hbp): a request with no file attached (no multipart body at all) is a 400, as HBP
      // answers it, not a 415.
      if (!boundary || !input.body)
        throw new AuthError("INVALID_REQUEST", { detail: 'Send multipart/form-data with a "file" field.' });
      const max = limits.maxUploadBytes;
      if (input.contentLength !== null && input.contentLength > max + MULTIPART_SLACK)
        throw new AuthError("PAYLOAD_TOO_LARGE");
      const part = await readFilePart(input.body, boundary, "file");

      let carry: Uint8Array | null = null;
      let ended = false;
      let total = 0;
      // One part buffer, refilled after each part is sent: a fresh 5 MiB array per part would go to
      // V8's large-object space and stay there until a major GC, growing the isolate by the file size.
      const block = new Uint8Array(PART_SIZE);
      /** Fills `block` (from its start) with the next bytes; shorter than PART_SIZE only at the end. */
      const fill = async (): Promise<Uint8Array> => {
        let n = 0;
        while (n < PART_SIZE) {
          let chunk = carry;
          carry = null;
          if (!chunk) {
            const r = await part.chunks.next();
            if (r.done) {
              ended = true;
              break;
            }
            chunk = r.value;
            total += chunk.length;
            if (total > max) throw new AuthError("PAYLOAD_TOO_LARGE");
          }
          const take = Math.min(chunk.length, PART_SIZE - n);
          block.set(chunk.subarray(0, take), n);
          n += take;
          if (take < chunk.length) carry = chunk.subarray(take);
        }
        return block.subarray(0, n);
      };

      const first = await fill();
      const contentType = sniffContentType(first.subarray(0, SNIFF_BYTES), {
        type: part.contentType ?? undefined,
        name: part.filename ?? undefined,
      });
      const customMetadata: Record<string, string> = { token: randomToken(), uploader: caller?.userId ?? "" };
      // Dimensions measured now spare every later transform a range read of the header.
      const measured = contentType.startsWith("image/") ? probe(first) : null;
      if (measured) {
        customMetadata.img = `${measured.format} ${measured.width} ${measured.height} ${measured.orientation}`;
      }
      const options = { httpMetadata: { contentType }, customMetadata };
      let stored: R2Object | null;
      if (ended) {
        stored = await bucket.put(key, first, options);
      } else {
        const mpu = await bucket.createMultipartUpload(key, options);
        try {
          const parts: R2UploadedPart[] = [await mpu.uploadPart(1, first)];
          while (!ended) {
            const next = await fill();
            if (next.length > 0) parts.push(await mpu.uploadPart(parts.length + 1, next));
          }
          stored = await mpu.complete(parts);
        } catch (e) {
          await mpu.abort().catch(() => {});
          throw e;
        }
      }
      if (!stored) throw new AuthError("INTERNAL");
      purgeVariants(key);
      return toStoredFile(stored);
    },

    /** The metadata of one file the caller may read. */
    async metadata(key: string, caller: StorageCaller | null, token: string | null): Promise<StoredFile> {
      return toStoredFile(await readableHead(key, caller, token));
    },

    /** The metadata of every file below `prefix` the caller may read (recursive, at most 1000). */
    async list(prefix: string, caller: StorageCaller | null): Promise<StoredFile[]> {
      return (await readableBelow(prefix, caller, LIST_MAX)).slice(0, LIST_MAX).map(toStoredFile);
    },

    /** The file, a range of it, or why no bytes are due (the request's conditional and Range headers). */
    async download(input: ReadInput): Promise<FileRead> {
      const { key, caller, token, headers: req } = input;
      const open = isPublic(rules, key);
      let head = await readableHead(key, caller, token);
      for (let attempt = 0; ; attempt++) {
        const file = toStoredFile(head);
        if (notModified(req, file)) return { kind: "not_modified", file, isPublic: open };
        const range = parseRange(req, file);
        if (range === "unsatisfiable") return { kind: "range_not_satisfiable", file, isPublic: open };
        // The precondition pins the version `file` describes; an overwrite in between retries.
        const obj = await bucket.get(key, {
          onlyIf: { etagMatches: head.etag },
          ...(range ? { range } : {}),
        });
        if (obj && "body" in obj) return { kind: "content", file, isPublic: open, body: obj.body, range };
        if (attempt >= 2) throw new AuthError("BUSY");
        head = await readableHead(key, caller, token);
      }
    },

    /**
     * An image variant (notes/images.md §6): the source is measured from its header before any
     * decoding; the variant's ETag is a hash of the source key, the source ETag, the engine version
     * and the canonical parameters, so a matching If-None-Match is answered without any work, and
     * a hit in the Cache API or in R2 `_variants/` without decoding. Sources that are not JPEG, PNG
     * or WebP (GIF, SVG, anything else) are served as stored.
     */
    async variant(input: ReadInput & { params: ImageParams }): Promise<FileRead | VariantRead> {
      const { key, caller, token, headers: req, params } = input;
      const head = await readableHead(key, caller, token);
      const source = await measure(head);
      if (!source || !DECODABLE.has(source.format)) return this.download(input);
      if (source.width * source.height > limits.imageMaxPixels || head.size > limits.imageMaxSourceBytes)
        throw new AuthError("UNPROCESSABLE", { detail: "The image is too large to transform." });
      const srcFormat = source.format as Format;
      const format = resolveFormat(params, srcFormat, req.get("accept"));
      const swap = source.orientation >= 5;
      const [uprightW, uprightH] = swap ? [source.height, source.width] : [source.width, source.height];
      // Upscaling costs memory and CPU for no detail; the issue asks for a 422 rather than a variant.
      if ((params.w ?? 0) > uprightW || (params.h ?? 0) > uprightH)
        throw new AuthError("UNPROCESSABLE", {
          detail: "The requested size is larger than the source image.",
        });
      const geo = geometry(params, uprightW, uprightH);
      const id = (
        await sha256Hex(`${key}\n${head.etag}\n${ENGINE_VERSION}\n${canonical(params, format, geo)}`)
      ).slice(0, 32);
      const etag = `"${id}"`;
      const read = (body: VariantRead["body"]): VariantRead => ({
        kind: "variant",
        key,
        etag,
        format,
        uploaded: head.uploaded,
        isPublic: isPublic(rules, key),
        varyAccept: variesByAccept(params, srcFormat),
        body,
      });
      if (etagMatches(req.get("if-none-match"), etag)) return read(null);

      const cache = deps.variantCache;
      const cached = await cache?.match(id).catch(() => null);
      if (cached) return read({ data: cached.body, size: cached.size });
      const r2Key = `${await variantsPrefix(key)}${id}`;
      const stored = await bucket.get(r2Key);
      if (stored) {
        const bytes = new Uint8Array(await stored.arrayBuffer());
        if (cache) waitUntil(cache.put(id, bytes, format).catch(() => {}));
        return read({ data: bytes, size: bytes.length });
      }

      const obj = await bucket.get(key, { onlyIf: { etagMatches: head.etag } });
      if (!obj || !("body" in obj)) throw new AuthError("BUSY");
      const bytes = new Uint8Array(await obj.arrayBuffer());
      let out: Uint8Array;
      try {
        out = await serialized(() =>
          transform({ bytes, probe: { ...source, format: srcFormat }, params, format }),
        );
      } catch (e) {
        if (e instanceof UndecodableImage)
          throw new AuthError("UNPROCESSABLE", { detail: "The image cannot be decoded." });
        throw e;
      }
      waitUntil(
        Promise.all([
          bucket.put(r2Key, out, {
            httpMetadata: { contentType: `image/${format}` },
            customMetadata: { source: key },
          }),
          cache?.put(id, out, format),
        ]).catch(() => {}),
      );
      return read({ data: out, size: out.length });
    },

    /**
     * A zip (STORE, streamed) of every file below `prefix` the caller may read. The entry list is
     * settled first so limits answer 413 before any byte is sent.
     */
    async zip(
      prefix: string,
      caller: StorageCaller | null,
    ): Promise<{ stream: ReadableStream<Uint8Array>; count: number }> {
      // An empty (or unreadable) directory is an empty archive, as HBP answers it, like the listing.
      const entries = await readableBelow(prefix, caller, limits.zipMaxEntries);
      if (entries.length > limits.zipMaxEntries)
        throw new AuthError("PAYLOAD_TOO_LARGE", {
          detail: `The directory has more than ${limits.zipMaxEntries} files.`,
        });
      const bytes = entries.reduce((n, o) => n + o.size, 0);
      if (bytes > limits.zipMaxBytes)
        throw new AuthError("PAYLOAD_TOO_LARGE", {
          detail: `The directory holds more than ${limits.zipMaxBytes} bytes.`,
        });
      const stream = zipStream(
        entries.map((o) => ({
          name: o.key.slice(prefix.length),
          mtime: o.uploaded,
          // The etag pins the listed version: a file replaced meanwhile is left out, not mixed in.
          open: async () => {
            const got = await bucket.get(o.key, { onlyIf: { etagMatches: o.etag } });
            return got && "body" in got ? got.body : null;
          },
        })),
      );
      return { stream, count: entries.length };
    },

    /**
     * Removes every file of a (deleted) user with its variants: the user's directories under the
     * rules (see ownedPaths). The files go before this returns, up to PURGE_PAGES_NOW pages; the
     * rest and the variants, which nobody can reach without their source, in the background.
     * Token reads of an owner's files already fail once the user is gone (readableHead).
     */
    async removeOwned(userId: string): Promise<void> {
      const { prefixes, keys } = ownedPaths(rules, userId);
      if (keys.length) await bucket.delete(keys);
      const rest: string[] = [];
      for (const prefix of prefixes) if (!(await deleteBelow(prefix, PURGE_PAGES_NOW))) rest.push(prefix);
      waitUntil(
        (async () => {
          for (const prefix of rest)
            if (!(await deleteBelow(prefix, PURGE_PAGES_LATER)))
              console.warn("account deletion: files left in R2 for a later deletion");
          for (const prefix of prefixes) await deleteBelow(`${VARIANTS_PREFIX}${prefix}`, PURGE_PAGES_LATER);
          for (const key of keys) purgeVariants(key);
        })(),
      );
    },

    /**
     * Gives a file a new read token (HBP's `revoke-token`); the old one stops working at once, since
     * every token read compares against the object's current metadata. Allowed to whoever may write
     * the file, or to an administrator (`admin`, decided by the dialect). R2 metadata cannot be
     * changed in place, so the object is rewritten onto itself, conditional on the version read:
     * an upload in between (which brings its own new token) is never overwritten with old bytes.
     */
    async rotateToken(key: string, caller: StorageCaller | null, admin: boolean): Promise<StoredFile> {
      if (!admin) assertWrite(key, caller);
      for (let attempt = 0; attempt < 3; attempt++) {
        const obj = await bucket.get(key);
        if (!obj) throw new AuthError("NOT_FOUND");
        const stored = await bucket.put(key, obj.body, {
          httpMetadata: obj.httpMetadata,
          customMetadata: { ...obj.customMetadata, token: randomToken() },
          onlyIf: { etagMatches: obj.etag },
        });
        if (stored) {
          // Variants are keyed by the source ETag, which the rewrite changed.
          purgeVariants(key);
          return toStoredFile(stored);
        }
      }
      throw new AuthError("BUSY");
    },

    /** Deletes a file the caller may write, with its variants. */
    async remove(key: string, caller: StorageCaller | null): Promise<void> {
      assertWrite(key, caller);
      const head = await bucket.head(key);
      if (!head) throw new AuthError("NOT_FOUND");
      await bucket.delete(key);
      purgeVariants(key);
    },
  };
}

export type StorageService = ReturnType<typeof createStorageService>;
