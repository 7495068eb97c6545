import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import {
  buildMime,
  createCloudflareMailer,
  createHttpMailer,
  limitPerRecipient,
  type MailMessage,
} from "../../src/core/mail/mailer";
import { createMailTemplates } from "../../src/core/mail/templates";
import { createIpLimiter } from "../../src/core/rate-limit/ip-limiter";
import { createRateWindowStore } from "../../src/core/rate-limit/windows.store";
import { createDb } from "../../src/db/client";

const templates = createMailTemplates({ product: "Latchkey", logoUrl: null, overrides: {} }, "en");
const message: MailMessage = templates.activation(
  "ada@example.com",
  "http://localhost:8787/auth/activate?ticket=T<1>",
  "T<1>",
  3600,
);

describe("mail transports", () => {
  it("http: posts a Resend-style JSON body with the bearer key, and fails on a non-2xx", async () => {
    const config = parseConfig({
      ENVIRONMENT: "test",
      MAIL_TRANSPORT: "http",
      MAIL_HTTP_KEY: "key-1",
      MAIL_HTTP_URL: "https://mail.example/send",
    });
    const seen: Request[] = [];
    // The mail API is an outside service: a recording fetch stands in for it.
    const fetcher = (async (input: RequestInfo, init?: RequestInit) => {
      seen.push(new Request(input, init));
      return new Response("{}", { status: seen.length === 1 ? 200 : 500 });
    }) as typeof fetch;
    const mailer = createHttpMailer(config.mail, fetcher);
    await mailer.send(message);
    expect(seen[0]!.url).toBe("https://mail.example/send");
    expect(seen[0]!.headers.get("authorization")).toBe("Bearer key-1");
    expect(await seen[0]!.json()).toEqual({
      from: "Latchkey <no-reply@localhost>",
      to: ["ada@example.com"],
      subject: "Confirm your email address for Latchkey",
      text: message.text,
      html: message.html,
    });
    await expect(mailer.send(message)).rejects.toThrow(/500/);
  });

  it("cloudflare: hands a MIME message to the send_email binding", async () => {
    const sent: unknown[] = [];
    const mailer = createCloudflareMailer(
      { send: async (m) => void sent.push(m) },
      "Latchkey <auth@example.com>",
      (from, to, raw) => ({ from, to, raw }),
    );
    await mailer.send(message);
    const m = sent[0] as { from: string; to: string; raw: string };
    expect(m.from).toBe("auth@example.com");
    expect(m.to).toBe("ada@example.com");
    expect(m.raw).toContain("Subject: Confirm your email address for Latchkey\r\n");
    expect(m.raw).toContain("Content-Type: text/html; charset=utf-8");
  });

  it("escapes what the HTML part interpolates and encodes non-ASCII subjects", () => {
    expect(message.html).toContain("T&lt;1&gt;");
    expect(message.html).not.toContain("T<1>");
    const mime = buildMime("a@example.com", { ...message, subject: "Bestätigen" }, "B");
    expect(mime).toMatch(/Subject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=/);
    // A long subject: encoded words of at most 75 characters, folded, decoding to the subject.
    const subject = "Die Zwei-Faktor-Authentifizierung für Ihr Konto wurde ausgeschaltet – prüfen Sie das";
    const long = buildMime("a@example.com", { ...message, subject }, "B");
    const header = /\r\nSubject: (.*?)\r\n(?! )/s.exec(long)![1]!;
    const words = header.split("\r\n ");
    expect(words.length).toBeGreaterThan(1);
    for (const w of words) expect(w.length).toBeLessThanOrEqual(75);
    const bytes = words.flatMap((w) =>
      [...atob(/^=\?UTF-8\?B\?(.*)\?=$/.exec(w)![1]!)].map((c) => c.charCodeAt(0)),
    );
    expect(new TextDecoder().decode(new Uint8Array(bytes))).toBe(subject);
  });
});

describe("per-recipient mail limit", () => {
  it("delivers at most 10 messages an hour to one address and drops the rest silently", async () => {
    const delivered: string[] = [];
    const limiter = createIpLimiter({
      windows: createRateWindowStore(createDb(env.DB)),
      bindings: {},
      clock: { now: () => Date.now() },
      enabled: true,
    });
    const mailer = limitPerRecipient({ send: async (m) => void delivered.push(m.to) }, limiter);
    const to = `flood-${crypto.randomUUID()}@example.com`;
    await Promise.all(Array.from({ length: 15 }, () => mailer.send({ ...message, to })));
    await mailer.send({ ...message, to: `other-${crypto.randomUUID()}@example.com` });
    expect(delivered.filter((t) => t === to)).toHaveLength(10);
    expect(delivered).toHaveLength(11);
  });
});
