/** Shared steps for the HBP storage tests: uploads, bytes, zip reading. */
import { unzipSync } from "fflate";
import { expect } from "vitest";
import { call, json } from "./helpers";

export const PNG_1PX = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="),
  (ch) => ch.charCodeAt(0),
);

export const text = (s: string) => new TextEncoder().encode(s);

/** A multipart body with the field `file` (nhost-js-sdk's shape). */
export function fileForm(bytes: Uint8Array | string, name = "file.bin", type = "application/octet-stream") {
  const form = new FormData();
  const data = typeof bytes === "string" ? text(bytes) : bytes;
  form.append("file", new File([data], name, { type }));
  return form;
}

export async function upload(
  path: string,
  bytes: Uint8Array | string,
  opts: { token?: string; name?: string; type?: string; vars?: Record<string, string> } = {},
) {
  return call(`/storage/o/${path}`, {
    method: "POST",
    body: fileForm(bytes, opts.name, opts.type),
    token: opts.token,
    vars: opts.vars,
  });
}

/** Uploads and asserts success; returns the metadata object. */
export async function uploadOk(
  path: string,
  bytes: Uint8Array | string,
  token: string,
  name?: string,
  type?: string,
) {
  const res = await upload(path, bytes, { token, name, type });
  const body = await json(res);
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

export const bytesOf = async (res: Response) => new Uint8Array(await res.arrayBuffer());

export async function unzip(res: Response): Promise<Record<string, string>> {
  const files = unzipSync(await bytesOf(res));
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [k, new TextDecoder().decode(v)]));
}
