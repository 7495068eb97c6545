/**
 * Cloudflare Turnstile server-side validation (siteverify). Fails closed: no secret, an empty
 * response, a network error or an unexpected answer all count as "not human".
 * https://developers.cloudflare.com/turnstile/get-started/server-side-validation/
 */
export interface CaptchaVerifier {
  verify(response: string, remoteIp: string): Promise<boolean>;
}

export function createTurnstileVerifier(deps: {
  secretKey: string;
  verifyUrl: string;
  fetch: typeof fetch;
}): CaptchaVerifier {
  return {
    async verify(response, remoteIp) {
      if (!deps.secretKey || !response || response.length > 2048) return false;
      const form = new URLSearchParams({ secret: deps.secretKey, response });
      if (remoteIp && remoteIp !== "unknown") form.set("remoteip", remoteIp);
      try {
        const res = await deps.fetch(deps.verifyUrl, { method: "POST", body: form });
        if (!res.ok) return false;
        const body = (await res.json()) as { success?: unknown };
        return body.success === true;
      } catch (e) {
        console.error("turnstile siteverify failed", e);
        return false;
      }
    },
  };
}
