/**
 * What the two Hanko suites share (hanko.e2e.mjs at the origin root, hanko-prefix.e2e.mjs under
 * HANKO_PREFIX): the application's origin serving the real client bundles, a real OpenID provider
 * on this machine, the virtual authenticator, running SDK code in the page, and codes from the
 * outbox. `api` is the Hanko API URL the clients are given (the origin, or origin + prefix).
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Provider from "oidc-provider";
import { API } from "./steps.mjs";

// The bundles are not in the packages' export maps: read them from node_modules directly.
const modules = join(dirname(fileURLToPath(import.meta.url)), "..", "node_modules", "@teamhanko");
const sdkFile = join(modules, "hanko-frontend-sdk", "dist", "sdk.umd.js");
const elementsFile = join(modules, "hanko-elements", "dist", "elements.js");

/** The newest code of mail `kind` the outbox holds for `to` (GET /_dev/outbox, development only). */
export async function codeFor(to, kind = "passcode") {
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${API}/_dev/outbox?to=${encodeURIComponent(to)}`);
    const mail = (await res.json()).find((m) => m.kind === kind);
    if (mail) return mail.data.code;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${kind} mailed to ${to}`);
}

/** The application's origin on `port`: `/` loads the SDK, `/elements` shows <hanko-auth> for `api`. */
export async function startPages(port, api) {
  const page = `http://localhost:${port}`;
  const pages = {
    "/": `<!doctype html><meta charset="utf-8"><title>sdk</title><script src="/sdk.umd.js"></script>`,
    "/elements": `<!doctype html><meta charset="utf-8"><title>elements</title>
<hanko-auth></hanko-auth>
<script type="module">
  import { register } from "/elements.js";
  window.completed = 0;
  document.addEventListener("hanko-auth-flow-completed", () => { window.completed++; });
  await register(${JSON.stringify(api)}, { shadow: false });
  window.ready = true;
</script>`,
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url, page).pathname;
    if (path === "/sdk.umd.js" || path === "/elements.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      return res.end(readFileSync(path === "/elements.js" ? elementsFile : sdkFile));
    }
    if (pages[path] === undefined) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { "content-type": "text/html" });
    res.end(pages[path]);
  });
  await new Promise((r) => server.listen(port, "localhost", r));
  return { url: page, close: () => server.close() };
}

/** A real OpenID provider on `port`: any login name is accepted and becomes a verified email. */
export async function startIdp(port, redirectUri) {
  const idp = new Provider(`http://localhost:${port}`, {
    clients: [
      {
        client_id: "latchkey-e2e",
        client_secret: "e2e-secret-0123456789abcdef",
        redirect_uris: [redirectUri],
        token_endpoint_auth_method: "client_secret_post",
      },
    ],
    claims: { openid: ["sub"], email: ["email", "email_verified"] },
    cookies: { keys: ["latchkey-e2e-cookie-key"] },
    ttl: {
      Interaction: 600,
      Session: 600,
      Grant: 600,
      AccessToken: 600,
      IdToken: 600,
      AuthorizationCode: 60,
    },
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: `sub-${id}`, email: id, email_verified: true }),
    }),
  });
  const server = createServer(idp.callback());
  await new Promise((r) => server.listen(port, "localhost", r));
  return { close: () => server.close() };
}

/** Logs in at the provider's interaction pages (login name `email`) after a redirect there. */
export async function loginAtIdp(page, idpPort, email) {
  const interaction = new RegExp(`localhost:${idpPort}/interaction/`);
  await page.waitForURL(interaction, { timeout: 20_000 });
  await page.fill('input[name="login"]', email);
  await page.fill('input[name="password"]', "anything");
  await page.click('button[type="submit"]');
  await page.waitForURL(new RegExp(`${interaction.source}|hanko_token=`), { timeout: 20_000 });
  if (!page.url().includes("hanko_token=")) await page.click('button[type="submit"]');
}

export { withAuthenticator } from "./steps.mjs";

/**
 * `inPage(page, fn, arg)` runs `fn(hanko, sdk, helpers, arg)` in the page with a fresh Hanko client
 * for `api` (state is in cookies/localStorage); `helpers.errorOf(p)` names the SDK error class a
 * promise rejects with, or null.
 */
export function inPageFor(api) {
  return (page, fn, arg) =>
    page.evaluate(
      async ([apiUrl, src, a]) => {
        const sdk = window.hankoFrontendSdk;
        const hanko = new sdk.Hanko(apiUrl);
        const errorOf = async (p) => {
          try {
            await p;
            return null;
          } catch (e) {
            const name = Object.keys(sdk).find(
              (k) => k.endsWith("Error") && Object.getPrototypeOf(e) === sdk[k].prototype,
            );
            return name ?? String(e);
          }
        };
        const run = new Function(`return (${src})`)();
        return run(hanko, sdk, { errorOf }, a);
      },
      [api, fn.toString(), arg],
    );
}

/** <hanko-auth> helpers on `ui`: the element, a button by its exact name, and a signed-out open. */
export function elementsOn(context, ui, pageUrl) {
  const auth = () => ui.locator("hanko-auth");
  return {
    auth,
    button: (name) => auth().getByRole("button", { name, exact: true }),
    /** Opens the page signed out: no cookie, no client session in localStorage. */
    async open() {
      await context.clearCookies();
      await ui.goto(`${pageUrl}/`);
      await ui.evaluate(() => localStorage.clear());
      await ui.goto(`${pageUrl}/elements`);
      await ui.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
    },
    /** Types a 6-digit code into the passcode page (six digits submit the form by themselves). */
    async typeCode(code) {
      await auth().locator('input[inputmode="numeric"]').first().click();
      await ui.keyboard.type(code);
    },
  };
}
