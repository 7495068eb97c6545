/**
 * scrypt password hashing with native node:crypto (BoringSSL in workerd), stored as PHC strings
 * `$scrypt$ln=14,r=8,p=5$<salt>$<hash>` so parameters can change: verify() reports when a stored
 * hash used other parameters and should be replaced. scrypt blocks the isolate thread for ~170 ms,
 * so the requests that may hash in one isolate at once are capped (MAX_PENDING_HASHES) and the
 * surplus refused at once (BUSY). A credential route reserves its slot synchronously when it is
 * admitted, before any await, so a flood is refused before it can queue behind the hashes.
 */
import { scrypt } from "node:crypto";
import { timingSafeEqual } from "../../lib/crypto";
import { fromBase64Url, toBase64Url } from "../../lib/encoding";
import { AuthError } from "../errors";
import { isForeignHash, verifyForeign } from "./foreign";

export interface ScryptParams {
  logN: number;
  r: number;
  p: number;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /**
   * `needsRehash` is true when the stored hash used other parameters than the current ones, or is
   * an imported foreign hash (foreign.ts): a successful login then replaces it with scrypt.
   */
  verify(password: string, phc: string): Promise<{ ok: boolean; needsRehash: boolean }>;
  /** Spends the cost of one verification, for unknown users, so timing reveals nothing. */
  burn(password: string): Promise<void>;
  /**
   * Reserves one of the isolate's hash slots for this request, synchronously; BUSY when none is
   * free. The request's hashes then run under it until release().
   */
  reserve(): void;
  /** Gives the reserved slot back (at the end of the request); harmless when none is held. */
  release(): void;
  /** Notes that a credential request arrived (admitted or not): hashes wait while they keep coming. */
  noteArrival(): void;
}

const KEY_LEN = 32;
const SALT_LEN = 16;
/**
 * scrypt runs synchronously and blocks the isolate. A hash first yields MIN_YIELD_MS; when other
 * credential requests arrived after this one (a flood), it then waits for a quiet moment: until
 * none has arrived for YIELD_MS, so the flood is answered 429/503 first (each in a few ms), but never
 * more than MAX_DEFER_MS, so a sustained flood cannot starve logins. A lone login only pays the
 * first yield. Hashes of the isolate run one at a time, so other requests (`/health`, reads) wait
 * for about one hash at most.
 */
const MIN_YIELD_MS = 5;
const YIELD_MS = 20;
const MAX_DEFER_MS = 250;
let arrivals = 0;
let hashTail: Promise<unknown> = Promise.resolve();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function quietMoment(since: number): Promise<void> {
  // First let what has arrived meanwhile be read and counted.
  await sleep(MIN_YIELD_MS);
  if (arrivals === since) return;
  let waited = 0;
  let seen = arrivals;
  do {
    await sleep(YIELD_MS);
    waited += YIELD_MS;
    if (arrivals === seen) return;
    seen = arrivals;
  } while (waited < MAX_DEFER_MS);
}

/**
 * Runs `work` after the isolate's earlier hashes and a quiet moment, so hashes (ours and imported
 * foreign ones) run one at a time. `since`: the isolate's credential-request count when this
 * request arrived.
 */
function serial<T>(since: number, work: () => Promise<T>): Promise<T> {
  const run = hashTail.then(() => quietMoment(since)).then(work);
  hashTail = run.catch(() => {});
  return run;
}

function derive(
  password: string,
  salt: Uint8Array,
  p: ScryptParams,
  keyLen: number,
  since: number,
): Promise<Uint8Array> {
  const N = 2 ** p.logN;
  // Node's rule: 128 * r * (N + p + 2) must fit maxmem; give it what these parameters need.
  const maxmem = 128 * p.r * (N + p.p + 2) + 1024 * 1024;
  return serial(
    since,
    () =>
      new Promise<Uint8Array>((resolve, reject) => {
        scrypt(password.normalize("NFKC"), salt, keyLen, { N, r: p.r, p: p.p, maxmem }, (err, key) =>
          err ? reject(err) : resolve(new Uint8Array(key)),
        );
      }),
  );
}

function parse(phc: string): { params: ScryptParams; salt: Uint8Array; hash: Uint8Array } | null {
  const m = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(phc);
  if (!m) return null;
  const params = { logN: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (params.logN > 20 || params.r > 32 || params.p > 16) return null;
  return { params, salt: fromBase64Url(m[4]!), hash: fromBase64Url(m[5]!) };
}

/** Slots in use in this isolate: reservations plus hashes running without one. */
let pending = 0;

export function createPasswordHasher(current: ScryptParams, maxPending: number): PasswordHasher {
  let reserved = false;
  // Requests that did not note their arrival count from their first hash.
  let arrivedAt: number | undefined;
  async function limited<T>(work: () => Promise<T>): Promise<T> {
    if (reserved) return work();
    if (pending >= maxPending) throw new AuthError("BUSY", { retryAfter: 1 });
    pending++;
    try {
      return await work();
    } finally {
      pending--;
    }
  }
  const same = (a: ScryptParams) => a.logN === current.logN && a.r === current.r && a.p === current.p;
  const dummySalt = new Uint8Array(SALT_LEN);

  return {
    hash: (password) =>
      limited(async () => {
        const salt = crypto.getRandomValues(new Uint8Array(SALT_LEN));
        const key = await derive(password, salt, current, KEY_LEN, arrivedAt ?? arrivals);
        return `$scrypt$ln=${current.logN},r=${current.r},p=${current.p}$${toBase64Url(salt)}$${toBase64Url(key)}`;
      }),
    verify: (password, phc) =>
      limited(async () => {
        if (isForeignHash(phc)) {
          const ok = await serial(arrivedAt ?? arrivals, () => verifyForeign(password, phc));
          if (ok !== null) return { ok, needsRehash: ok };
        }
        const parsed = parse(phc);
        if (!parsed) {
          await derive(password, dummySalt, current, KEY_LEN, arrivedAt ?? arrivals);
          return { ok: false, needsRehash: false };
        }
        const key = await derive(
          password,
          parsed.salt,
          parsed.params,
          parsed.hash.length,
          arrivedAt ?? arrivals,
        );
        // Prevent any possibility of a timing attack by using a constant-time comparison.
        const ok = timingSafeEqual(key, parsed.hash);
        return { ok, needsRehash: ok && !same(parsed.params) };
      }),
    burn: (password) =>
      limited(async () => {
        await derive(password, dummySalt, current, KEY_LEN, arrivedAt ?? arrivals);
      }),
    reserve() {
      if (reserved) return;
      if (pending >= maxPending) throw new AuthError("BUSY", { retryAfter: 1 });
      pending++;
      reserved = true;
    },
    release() {
      if (!reserved) return;
      reserved = false;
      pending--;
    },
    noteArrival() {
      arrivals++;
      arrivedAt = arrivals;
    },
  };
}
