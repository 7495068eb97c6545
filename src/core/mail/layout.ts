/**
 * The one mail layout, as HTML and as its plain-text twin. The HTML is what mail clients render
 * reliably: nested presentation tables, inline styles (Gmail drops most of <head>), a bulletproof
 * button (a coloured table cell, so Outlook's Word engine draws it too), a 560 px column that
 * shrinks on phones, and `color-scheme` plus a prefers-color-scheme block for clients with a dark
 * mode. Every string that reaches the HTML is escaped here; callers pass plain text.
 */

export interface MailContent {
  lang: string;
  product: string;
  logoUrl: string | null;
  subject: string;
  heading: string;
  /** What the mail is for. */
  intro: string;
  action?: { label: string; url: string; fallback: string };
  code?: { label: string; value: string };
  /** How long the link or code works. */
  validity?: string;
  /** Label/value rows (when, from which client). */
  facts?: [string, string][];
  /** What to do if it was not the reader. */
  notYou: string;
  footer: string;
}

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const MONO = "'SFMono-Regular',Menlo,Consolas,'Liberation Mono',monospace";
const TEXT = "#1f2937";
const MUTED = "#6b7280";
const ACCENT = "#2454d6";

const DARK_CSS = `
body{margin:0;padding:0;width:100%!important;-webkit-text-size-adjust:100%}
a{color:${ACCENT}}
@media only screen and (max-width:600px){
.lk-outer{padding:16px 8px!important}
.lk-card{padding:28px 20px!important}
.lk-code{font-size:30px!important;letter-spacing:6px!important}
.lk-btn-table{width:100%!important}
.lk-btn{display:block!important;text-align:center}
}
@media (prefers-color-scheme:dark){
.lk-bg{background-color:#0f1115!important}
.lk-card{background-color:#1b1e24!important;border-color:#2c3039!important}
.lk-text{color:#e8eaed!important}
.lk-muted{color:#a5abb5!important}
.lk-code{background-color:#262a32!important;color:#ffffff!important}
.lk-rule{border-color:#2c3039!important}
.lk-link{color:#8fb0ff!important}
}`;

const p = (cls: string, style: string, html: string) =>
  `<p class="${cls}" style="margin:0 0 16px;font-family:${FONT};${style}">${html}</p>`;

export function renderHtml(m: MailContent): string {
  const e = escapeHtml;
  const brand = m.logoUrl
    ? `<img src="${e(m.logoUrl)}" alt="${e(m.product)}" height="36" style="display:block;height:36px;width:auto;max-width:200px;border:0;outline:none;text-decoration:none;">`
    : `<span class="lk-text" style="font-family:${FONT};font-size:20px;font-weight:700;color:${TEXT};">${e(m.product)}</span>`;
  const parts: string[] = [
    `<h1 class="lk-text" style="margin:0 0 16px;font-family:${FONT};font-size:24px;line-height:1.3;font-weight:700;color:${TEXT};">${e(m.heading)}</h1>`,
    p("lk-text", `font-size:16px;line-height:1.6;color:${TEXT};`, e(m.intro)),
  ];
  if (m.action) {
    parts.push(
      `<table role="presentation" class="lk-btn-table" cellpadding="0" cellspacing="0" border="0" style="margin:8px 0 24px;"><tr>` +
        `<td align="center" bgcolor="${ACCENT}" style="border-radius:8px;background-color:${ACCENT};">` +
        `<a class="lk-btn" href="${e(m.action.url)}" target="_blank" style="display:inline-block;padding:14px 28px;font-family:${FONT};font-size:16px;line-height:1.2;font-weight:600;color:#ffffff;text-decoration:none;border-radius:8px;">${e(m.action.label)}</a>` +
        `</td></tr></table>`,
    );
  }
  if (m.code) {
    parts.push(
      `<table role="presentation" cellpadding="0" cellspacing="0" border="0" width="100%" style="margin:8px 0 24px;"><tr>` +
        `<td class="lk-code" align="center" aria-label="${e(m.code.label)}" style="padding:18px 12px;border-radius:8px;background-color:#f1f3f6;font-family:${MONO};font-size:36px;line-height:1.2;letter-spacing:8px;font-weight:700;color:#111827;">${e(m.code.value)}</td>` +
        `</tr></table>`,
    );
  }
  if (m.validity) parts.push(p("lk-muted", `font-size:14px;line-height:1.5;color:${MUTED};`, e(m.validity)));
  if (m.action) {
    parts.push(
      p(
        "lk-muted",
        `font-size:13px;line-height:1.5;color:${MUTED};`,
        `${e(m.action.fallback)}<br><a class="lk-link" href="${e(m.action.url)}" target="_blank" style="color:${ACCENT};word-break:break-all;">${e(m.action.url)}</a>`,
      ),
    );
  }
  if (m.facts?.length) {
    const rows = m.facts
      .map(
        ([k, v]) =>
          `<tr><td class="lk-muted" valign="top" style="padding:4px 16px 4px 0;font-family:${FONT};font-size:14px;line-height:1.5;color:${MUTED};white-space:nowrap;">${e(k)}</td>` +
          `<td class="lk-text" style="padding:4px 0;font-family:${FONT};font-size:14px;line-height:1.5;color:${TEXT};word-break:break-word;">${e(v)}</td></tr>`,
      )
      .join("");
    parts.push(
      `<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:0 0 16px;">${rows}</table>`,
    );
  }
  parts.push(
    `<table role="presentation" cellpadding="0" cellspacing="0" border="0" width="100%" style="margin:8px 0 0;"><tr><td class="lk-rule" style="border-top:1px solid #e5e7eb;padding-top:20px;">` +
      p("lk-text", `margin:0;font-size:14px;line-height:1.5;color:${TEXT};`, e(m.notYou)) +
      `</td></tr></table>`,
  );
  return [
    `<!DOCTYPE html>`,
    `<html lang="${e(m.lang)}" dir="ltr"><head>`,
    `<meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width,initial-scale=1">`,
    `<meta name="x-apple-disable-message-reformatting">`,
    `<meta name="color-scheme" content="light dark">`,
    `<meta name="supported-color-schemes" content="light dark">`,
    `<title>${e(m.subject)}</title>`,
    `<style>${DARK_CSS}</style>`,
    `</head>`,
    `<body class="lk-bg" style="margin:0;padding:0;background-color:#f3f4f6;">`,
    // The preview line inbox lists show next to the subject.
    `<div style="display:none;max-height:0;max-width:0;overflow:hidden;opacity:0;mso-hide:all;">${e(m.intro)}</div>`,
    `<table role="presentation" class="lk-bg" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f3f4f6;"><tr>`,
    `<td class="lk-outer" align="center" style="padding:32px 16px;">`,
    `<!--[if mso]><table role="presentation" width="560" cellpadding="0" cellspacing="0" border="0"><tr><td><![endif]-->`,
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:560px;">`,
    `<tr><td style="padding:0 4px 20px;">${brand}</td></tr>`,
    `<tr><td class="lk-card" style="padding:36px 40px;background-color:#ffffff;border:1px solid #e5e7eb;border-radius:12px;">${parts.join("")}</td></tr>`,
    `<tr><td class="lk-muted" style="padding:20px 4px 0;font-family:${FONT};font-size:12px;line-height:1.5;color:${MUTED};">${e(m.footer)}</td></tr>`,
    `</table>`,
    `<!--[if mso]></td></tr></table><![endif]-->`,
    `</td></tr></table>`,
    `</body></html>`,
  ].join("\n");
}

export function renderText(m: MailContent): string {
  const blocks = [m.heading, m.intro];
  if (m.action) blocks.push(`${m.action.label}:\n${m.action.url}`);
  if (m.code) blocks.push(`${m.code.label}: ${m.code.value}`);
  if (m.validity) blocks.push(m.validity);
  if (m.facts?.length) blocks.push(m.facts.map(([k, v]) => `${k}: ${v}`).join("\n"));
  blocks.push(m.notYou);
  blocks.push(`--\n${m.product}\n${m.footer}`);
  return `${blocks.join("\n\n")}\n`;
}
