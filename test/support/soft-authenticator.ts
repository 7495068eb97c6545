/**
 * A software WebAuthn authenticator for tests inside workerd (no browser there): ES256 key pairs,
 * "none" attestation, authenticator data with the flags and counter a test asks for, DER
 * signatures over authData || SHA-256(clientDataJSON), exactly as a platform authenticator and the
 * browser would produce them. Outputs the JSON that webauthn-json sends (base64url fields).
 */

const enc = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function fromB64url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) {
    out.set(p, i);
    i += p.length;
  }
  return out;
};
const sha256 = async (b: Uint8Array) => new Uint8Array(await crypto.subtle.digest("SHA-256", b));

// Minimal CBOR (RFC 8949) for maps, byte and text strings, and integers.
type Cbor = number | string | Uint8Array | Map<Cbor, Cbor>;
function head(major: number, n: number): Uint8Array {
  if (n < 24) return Uint8Array.of((major << 5) | n);
  if (n < 256) return Uint8Array.of((major << 5) | 24, n);
  if (n < 65536) return Uint8Array.of((major << 5) | 25, n >> 8, n & 255);
  return Uint8Array.of((major << 5) | 26, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255);
}
function cbor(v: Cbor): Uint8Array {
  if (typeof v === "number") return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === "string") {
    const b = enc.encode(v);
    return concat(head(3, b.length), b);
  }
  if (v instanceof Uint8Array) return concat(head(2, v.length), v);
  const parts: Uint8Array[] = [head(5, v.size)];
  for (const [k, val] of v) parts.push(cbor(k), cbor(val));
  return concat(...parts);
}

/** Raw r||s (WebCrypto) -> ASN.1 DER ECDSA signature (what authenticators send). */
function derSignature(raw: Uint8Array): Uint8Array {
  const int = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    let v = b.slice(i);
    if (v[0]! & 0x80) v = concat(Uint8Array.of(0), v);
    return concat(Uint8Array.of(0x02, v.length), v);
  };
  const body = concat(int(raw.slice(0, 32)), int(raw.slice(32)));
  return concat(Uint8Array.of(0x30, body.length), body);
}

export const AAGUID = "01020304-0506-0708-0102-030405060708";

export interface SoftCredential {
  id: string;
  rawId: Uint8Array;
  userHandle: string;
  keys: CryptoKeyPair;
  counter: number;
  backupEligible: boolean;
}

interface CeremonyOpts {
  origin?: string;
  rpId?: string;
  userVerified?: boolean;
  /** Override the challenge put in clientDataJSON. */
  challenge?: string;
}

type Options = { publicKey: Record<string, unknown> };

async function authData(rpId: string, flags: number, counter: number, attested?: Uint8Array) {
  return concat(
    await sha256(enc.encode(rpId)),
    Uint8Array.of(flags),
    Uint8Array.of((counter >>> 24) & 255, (counter >> 16) & 255, (counter >> 8) & 255, counter & 255),
    attested ?? new Uint8Array(),
  );
}

function flagsFor(cred: SoftCredential, uv: boolean, attested: boolean) {
  return 0x01 | (uv ? 0x04 : 0) | (cred.backupEligible ? 0x18 : 0) | (attested ? 0x40 : 0);
}

export async function createCredential(
  options: Options,
  opts: CeremonyOpts & { backupEligible?: boolean; aaguid?: string } = {},
): Promise<{ credential: SoftCredential; response: Record<string, unknown> }> {
  const pk = options.publicKey as { challenge: string; rp: { id: string }; user: { id: string } };
  const rpId = opts.rpId ?? pk.rp.id;
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", keys.publicKey)) as JsonWebKey;
  const rawId = crypto.getRandomValues(new Uint8Array(32));
  const credential: SoftCredential = {
    id: b64url(rawId),
    rawId,
    userHandle: pk.user.id,
    keys,
    counter: 1,
    backupEligible: opts.backupEligible ?? false,
  };
  const cose = cbor(
    new Map<Cbor, Cbor>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, fromB64url(jwk.x!)],
      [-3, fromB64url(jwk.y!)],
    ]),
  );
  const aaguid = Uint8Array.from(
    (opts.aaguid ?? AAGUID)
      .replace(/-/g, "")
      .match(/../g)!
      .map((h) => Number.parseInt(h, 16)),
  );
  const attested = concat(aaguid, Uint8Array.of(rawId.length >> 8, rawId.length & 255), rawId, cose);
  const data = await authData(rpId, flagsFor(credential, opts.userVerified ?? true, true), 1, attested);
  const clientDataJSON = enc.encode(
    JSON.stringify({
      type: "webauthn.create",
      challenge: opts.challenge ?? pk.challenge,
      origin: opts.origin ?? "http://localhost:8787",
      crossOrigin: false,
    }),
  );
  const attestationObject = cbor(
    new Map<Cbor, Cbor>([
      ["fmt", "none"],
      ["attStmt", new Map()],
      ["authData", data],
    ]),
  );
  return {
    credential,
    response: {
      id: credential.id,
      rawId: credential.id,
      type: "public-key",
      authenticatorAttachment: "platform",
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: ["internal"],
      },
      clientExtensionResults: {},
      transports: ["internal"],
    },
  };
}

export async function getAssertion(
  options: Options,
  credential: SoftCredential,
  opts: CeremonyOpts & { counter?: number; userHandle?: string | null } = {},
): Promise<Record<string, unknown>> {
  const pk = options.publicKey as { challenge: string; rpId: string };
  credential.counter = opts.counter ?? credential.counter + 1;
  const data = await authData(
    opts.rpId ?? pk.rpId,
    flagsFor(credential, opts.userVerified ?? true, false),
    credential.counter,
  );
  const clientDataJSON = enc.encode(
    JSON.stringify({
      type: "webauthn.get",
      challenge: opts.challenge ?? pk.challenge,
      origin: opts.origin ?? "http://localhost:8787",
      crossOrigin: false,
    }),
  );
  const signed = concat(data, await sha256(clientDataJSON));
  const raw = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, credential.keys.privateKey, signed),
  );
  return {
    id: credential.id,
    rawId: credential.id,
    type: "public-key",
    authenticatorAttachment: "platform",
    response: {
      clientDataJSON: b64url(clientDataJSON),
      authenticatorData: b64url(data),
      signature: b64url(derSignature(raw)),
      userHandle: opts.userHandle === undefined ? credential.userHandle : opts.userHandle,
    },
    clientExtensionResults: {},
  };
}
