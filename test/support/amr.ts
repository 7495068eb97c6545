/** The authentication methods (amr) recorded for the session an access token belongs to. */
import { env } from "cloudflare:test";
import { decodeJwt } from "jose";

export async function sessionAmr(accessToken: string): Promise<string[]> {
  const { sid } = decodeJwt(accessToken);
  const row = await env.DB.prepare("SELECT amr FROM sessions WHERE id = ?")
    .bind(sid)
    .first<{ amr: string }>();
  if (!row) throw new Error(`no session ${String(sid)}`);
  return JSON.parse(row.amr) as string[];
}
