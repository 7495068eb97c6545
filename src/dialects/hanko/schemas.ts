/** Request bodies of api/hanko-0.12-openapi.txt (zod). Ids are UUIDs, compared lower-cased. */
import { z } from "zod";

const uuid = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, "must be a UUID")
  .transform((s) => s.toLowerCase());

export const emailBody = z.object({ email: z.string().max(254) });
export const addressBody = z.object({ address: z.string().max(254) });
export const passwordBody = z.object({ user_id: uuid, password: z.string().max(1024) });
export const passcodeInitBody = z.object({ user_id: uuid, email_id: uuid.optional() });
export const passcodeFinalBody = z.object({ id: uuid, code: z.string().max(16) });
export const webauthnLoginInitBody = z.object({ user_id: uuid.optional() });
export const credentialNameBody = z.object({ name: z.string().trim().min(1).max(128) });
export const tokenBody = z.object({ value: z.string().min(1).max(200) });
export const idParam = uuid;
/** A credential id: base64url, at most 1023 bytes decoded. */
export const credentialIdParam = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,1400}$/, "must be a base64url credential id");

const b64url = z.string().max(16_384);
/**
 * compat(hanko): webauthn-json sends `clientDataJSON`; the OpenAPI document writes `clientDataJson`.
 * Both are accepted and handed on as `clientDataJSON`.
 */
function clientData<T extends z.ZodRawShape>(shape: T) {
  return z.preprocess(
    (v) => {
      if (typeof v !== "object" || v === null) return v;
      const { clientDataJson, ...rest } = v as Record<string, unknown>;
      return { ...rest, clientDataJSON: rest.clientDataJSON ?? clientDataJson };
    },
    z.object({ clientDataJSON: b64url, ...shape }),
  );
}

const credentialBase = {
  id: z.string().min(1).max(1400),
  rawId: z.string().min(1).max(1400),
  type: z.literal("public-key"),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).nullish(),
  clientExtensionResults: z.record(z.string(), z.unknown()).optional(),
};

export const attestationBody = z.object({
  ...credentialBase,
  response: clientData({
    attestationObject: b64url,
    transports: z.array(z.string().max(32)).max(10).optional(),
  }),
  transports: z.array(z.string().max(32)).max(10).optional(),
});

export const assertionBody = z.object({
  ...credentialBase,
  response: clientData({
    authenticatorData: b64url,
    signature: b64url,
    userHandle: b64url.nullish(),
  }),
});
