/**
 * Security notices: after a change to how an account signs in (password, email address, TOTP,
 * passkeys) the user is told what happened, when and from which client, and, for the changes
 * that could lock the owner out or keep an intruder in, every other session ends (the one that
 * made the change stays). A notice that cannot be sent never undoes the change it reports; notices
 * go out after the response, so the change does not wait for the mail API.
 */
import type { Clock } from "../../lib/clock";
import type { Mailer } from "../mail/mailer";
import type { ClientInfo, MailTemplates, SecurityEvent } from "../mail/templates";
import type { SessionContext, SessionService } from "../sessions/sessions.service";

export type { SecurityEvent };

export interface SecurityNotices {
  /**
   * Mails the notice of `event` to each of `to` (the addresses, deduplicated); with
   * `endOtherSessions`, first ends every session of the user but `keepSessionId`.
   */
  changed(input: {
    userId: string;
    event: SecurityEvent;
    to: (string | null | undefined)[];
    ctx?: SessionContext;
    endOtherSessions?: boolean;
    keepSessionId?: string | null;
    data?: Record<string, string>;
  }): Promise<void>;
}

/**
 * The client as a mail may name it: user agent, and the network (IPv4 /24, IPv6 /48) not the host;
 * null where unknown (the mail says so in its language).
 */
export function describeClient(ctx: SessionContext | undefined): ClientInfo {
  const agent = ctx?.userAgent?.replace(/[\r\n]+/g, " ").slice(0, 200) || null;
  const ip = ctx?.ip ?? "";
  let network: string | null = null;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) network = `${ip.split(".").slice(0, 3).join(".")}.0/24`;
  else if (ip.includes(":")) {
    const groups = ip.split("::")[0]!.split(":").slice(0, 3);
    if (groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) network = `${groups.join(":")}::/48`;
  }
  return { agent, network };
}

export function createSecurityNotices(deps: {
  clock: Clock;
  sessions: SessionService;
  mailer: Mailer;
  /** Mail in the language of the request that made the change (the notice goes out after it). */
  templates: MailTemplates;
  /** Runs the mailing after the response (the request does not wait for the mail API or its D1 windows). */
  later: (work: () => Promise<void>) => void;
}): SecurityNotices {
  return {
    async changed({ userId, event, to, ctx, endOtherSessions, keepSessionId, data }) {
      if (endOtherSessions)
        await deps.sessions.revokeAll(userId, keepSessionId ?? undefined, "security_change");
      const when = new Date(deps.clock.now()).toISOString();
      const client = describeClient(ctx);
      const addresses = [...new Set(to.filter((a): a is string => !!a))];
      deps.later(async () => {
        for (const address of addresses) {
          try {
            await deps.mailer.send(deps.templates.securityNotice(address, event, { when, client, data }));
          } catch (e) {
            console.error(`security notice (${event}) not sent`, e);
          }
        }
      });
    },
  };
}
