/**
 * Outgoing mail. Three transports behind one `send`: `outbox` (stored in D1, read in development at
 * GET /_dev/outbox), `http` (a JSON mail API such as Resend or Postmark) and `cloudflare` (the
 * send_email binding). Messages are rendered by templates.ts from data that core supplies; links
 * in them are built from configured URLs only.
 */

import type { Clock } from "../../lib/clock";
import type { Config } from "../config";
import { isAuthError } from "../errors";
import type { IpLimiter } from "../rate-limit/ip-limiter";
import type { RecipientWindow } from "../rate-limit/windows.store";
import type { OutboxStore } from "./outbox.store";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** What the message is for (activation, password_reset, ...), kept by the outbox. */
  kind: string;
  /** The code, token or link the message carries, kept by the outbox for development tools. */
  data: Record<string, string>;
}

export interface Mailer {
  /** `recipientCounted`: the recipient's window was counted with the decision to mail (recipientWindow). */
  send(message: MailMessage, opts?: { recipientCounted?: boolean }): Promise<void>;
  /** The recipients' mail window, for a store to count in the batch that decides the mail; null when none. */
  recipientWindow?(): RecipientWindow | null;
}

export interface OutboxEntry extends MailMessage {
  created_at: string;
}

export interface SendEmailBinding {
  send(message: unknown): Promise<void>;
}

export function createOutboxMailer(
  store: OutboxStore,
  clock: Clock,
): Mailer & {
  list(to: string, limit?: number): Promise<OutboxEntry[]>;
} {
  return {
    async send(m) {
      await store.add({
        id: crypto.randomUUID(),
        to: m.to,
        subject: m.subject,
        text: m.text,
        html: m.html,
        kind: m.kind,
        data: m.data,
        createdAt: clock.now(),
      });
    },
    async list(to, limit = 50) {
      // /_dev/outbox shows the time as ISO 8601.
      return (await store.listFor(to, limit)).map(({ createdAt, ...m }) => ({
        ...m,
        created_at: new Date(createdAt).toISOString(),
      }));
    },
  };
}

export function createHttpMailer(mail: Config["mail"], fetcher: typeof fetch = fetch): Mailer {
  return {
    async send(m) {
      const res = await fetcher(mail.httpUrl, {
        method: "POST",
        headers: { authorization: `Bearer ${mail.httpKey}`, "content-type": "application/json" },
        body: JSON.stringify({ from: mail.from, to: [m.to], subject: m.subject, text: m.text, html: m.html }),
      });
      if (!res.ok) throw new Error(`mail API answered ${res.status}`);
    },
  };
}

/**
 * A non-ASCII header value as RFC 2047 encoded words of at most 75 characters each (whole
 * characters of at most 45 UTF-8 bytes per word), folded onto continuation lines.
 */
function encodedWords(value: string): string {
  const words: string[] = [];
  let chunk: number[] = [];
  const flush = () => {
    if (chunk.length) words.push(`=?UTF-8?B?${btoa(String.fromCharCode(...chunk))}?=`);
    chunk = [];
  };
  for (const ch of value) {
    const bytes = new TextEncoder().encode(ch);
    if (chunk.length + bytes.length > 45) flush();
    chunk.push(...bytes);
  }
  flush();
  return words.join("\r\n ");
}

/** RFC 5322 message with text and HTML parts, for the send_email binding. */
export function buildMime(from: string, m: MailMessage, boundary = `b${crypto.randomUUID()}`): string {
  const header = (s: string) => (/^[\x20-\x7e]*$/.test(s) ? s : encodedWords(s));
  return [
    `From: ${from}`,
    `To: ${m.to}`,
    `Subject: ${header(m.subject)}`,
    `Message-ID: <${crypto.randomUUID()}@latchkey>`,
    "MIME-Version: 1.0",
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=utf-8",
    "",
    m.text,
    `--${boundary}`,
    "Content-Type: text/html; charset=utf-8",
    "",
    m.html,
    `--${boundary}--`,
    "",
  ].join("\r\n");
}

export function createCloudflareMailer(
  binding: SendEmailBinding,
  from: string,
  makeMessage: (from: string, to: string, raw: string) => unknown,
): Mailer {
  const address = /<([^>]+)>/.exec(from)?.[1] ?? from;
  return {
    async send(m) {
      await binding.send(makeMessage(address, m.to, buildMime(from, m)));
    },
  };
}

/**
 * At most IP_LIMITS.recipient messages per address: past that, mail is dropped silently, so
 * nobody can flood a mailbox through reset or sign-in requests, and the answer reveals nothing.
 */
export function limitPerRecipient(inner: Mailer, limiter: IpLimiter): Mailer {
  return {
    recipientWindow: () => limiter.recipientWindow(),
    async send(m, opts) {
      if (opts?.recipientCounted) return inner.send(m);
      try {
        await limiter.hit("recipient", m.to);
      } catch (e) {
        if (isAuthError(e) && e.code === "RATE_LIMITED") {
          console.warn(`mail to one recipient over its limit; dropped a ${m.kind} message`);
          return;
        }
        throw e;
      }
      await inner.send(m);
    },
  };
}
