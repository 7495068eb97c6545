/** Following a mailed link the way a person does: open its page, then press its one button. */
import { expect } from "vitest";
import { call, type Vars } from "./app";

const unescapeHtml = (s: string) => s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)));

/** The form of a confirmation page: where it posts and the fields it sends. */
export async function confirmForm(res: Response) {
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/html/);
  const html = await res.text();
  const action = /<form method="post" action="([^"]*)">/.exec(html)?.[1];
  const input = /<input type="hidden" name="([^"]*)" value="([^"]*)">/.exec(html);
  expect(action && input, html).toBeTruthy();
  return { action: unescapeHtml(action!), fields: { [unescapeHtml(input![1]!)]: unescapeHtml(input![2]!) } };
}

/** GETs a mailed link's page, then submits its form; the answer to the submission. */
export async function confirmLink(link: string, vars: Vars = {}): Promise<Response> {
  const url = new URL(link);
  const { action, fields } = await confirmForm(await call(url.pathname + url.search, { vars }));
  const target = new URL(action);
  return call(target.pathname + target.search, { form: fields, vars });
}
