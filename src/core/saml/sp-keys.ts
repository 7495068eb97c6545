/**
 * The service provider's key pair: signs AuthnRequests, decrypts EncryptedAssertions, and its
 * certificate goes in the metadata. Production: SAML_SP_PRIVATE_KEY (PKCS#8 PEM) and
 * SAML_SP_CERTIFICATE (secrets). Elsewhere, with none set, an RSA key and a self-signed
 * certificate are generated on first use and kept in D1 next to the development JWT keys
 * (insert-or-ignore, then read back, so racing isolates agree), as the JWT keys are.
 */
import type { Clock } from "../../lib/clock";
import { type CertificateOptions, fromPem, pemBody, selfSignedCertificate, toPem } from "../../lib/x509";
import type { SigningKeyStore } from "../tokens/keys.store";

export interface SpKeys {
  signingKey: CryptoKey;
  /** The key for RSA-OAEP with SHA-1 (rsa-oaep-mgf1p) and with SHA-256 (xmlenc11#rsa-oaep, mgf1sha256). */
  decryptionKeys: { "SHA-1": CryptoKey; "SHA-256": CryptoKey };
  /** Base64 DER of the certificate (no armour). */
  certificate: string;
  certificatePem: string;
}

const DEV_KEY_NAME = "saml-sp";
const TEN_YEARS_MS = 10 * 365 * 24 * 3600_000;

async function fromPkcs8(pkcs8: Uint8Array, certificatePem: string): Promise<SpKeys> {
  const signingKey = await crypto.subtle.importKey(
    "pkcs8",
    pkcs8,
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    false,
    ["sign"],
  );
  // rsa-oaep-mgf1p uses SHA-1 inside OAEP (xmlenc §5.4.2); xmlenc11#rsa-oaep names its own digest.
  const oaep = (hash: string) =>
    crypto.subtle.importKey("pkcs8", pkcs8, { name: "RSA-OAEP", hash }, false, ["decrypt"]);
  const decryptionKeys = { "SHA-1": await oaep("SHA-1"), "SHA-256": await oaep("SHA-256") };
  const certificate = pemBody(certificatePem, "CERTIFICATE");
  if (!certificate) throw new Error("SAML_SP_CERTIFICATE: not a PEM certificate");
  return { signingKey, decryptionKeys, certificate, certificatePem };
}

/**
 * A new RSA key pair (2048 bits, RSASSA-PKCS1-v1_5 with SHA-256) and a self-signed certificate
 * for it: the private key as PKCS#8 PEM and the certificate as PEM.
 */
export async function selfSignedKeyPair(
  opts: CertificateOptions,
): Promise<{ privateKey: string; certificate: string }> {
  const keys = (await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const der = await selfSignedCertificate(keys, opts);
  const pkcs8 = new Uint8Array((await crypto.subtle.exportKey("pkcs8", keys.privateKey)) as ArrayBuffer);
  return { privateKey: toPem("PRIVATE KEY", pkcs8), certificate: toPem("CERTIFICATE", der) };
}

async function generate(clock: Clock): Promise<string> {
  const now = clock.now();
  const pair = await selfSignedKeyPair({
    commonName: "Latchkey SAML SP (development)",
    notBefore: now - 60_000,
    notAfter: now + TEN_YEARS_MS,
  });
  return JSON.stringify(pair);
}

const cache = new Map<string, Promise<SpKeys>>();

export function loadSpKeys(opts: {
  privateKeyPem: string;
  certificatePem: string;
  allowDevKeys: boolean;
  store: SigningKeyStore;
  clock: Clock;
}): Promise<SpKeys> {
  const cacheKey = opts.privateKeyPem ? `${opts.privateKeyPem}\n${opts.certificatePem}` : "dev";
  let keys = cache.get(cacheKey);
  if (!keys) {
    keys = (async () => {
      if (opts.privateKeyPem) {
        const der = fromPem(opts.privateKeyPem, "PRIVATE KEY");
        if (!der) throw new Error("SAML_SP_PRIVATE_KEY: not a PKCS#8 PEM key");
        return fromPkcs8(der, opts.certificatePem);
      }
      if (!opts.allowDevKeys) throw new Error("SAML_SP_PRIVATE_KEY: required in production");
      let stored = await opts.store.find(DEV_KEY_NAME);
      if (!stored) {
        await opts.store.addIfAbsent({
          alg: DEV_KEY_NAME,
          privateJwk: await generate(opts.clock),
          createdAt: opts.clock.now(),
        });
        stored = (await opts.store.find(DEV_KEY_NAME))!;
      }
      const { privateKey, certificate } = JSON.parse(stored) as { privateKey: string; certificate: string };
      return fromPkcs8(fromPem(privateKey, "PRIVATE KEY")!, certificate);
    })();
    // A failed load (D1 hiccup) is retried by the next request instead of being remembered.
    keys.catch(() => cache.delete(cacheKey));
    cache.set(cacheKey, keys);
  }
  return keys;
}
