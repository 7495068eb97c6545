// e2e-vars: RATE_LIMITS_ENABLED=false AUTO_ACTIVATE_NEW_USERS=true STEP_UP_MAX_AGE=2
// Step-up on the hosted account page in Chromium (CDP virtual authenticator): with the page
// session's sign-in older than STEP_UP_MAX_AGE (2 s here), deleting a passkey first asks to
// confirm; confirming with a passkey, then with the password, lets the deletion go on.
import assert from "node:assert/strict";
import { API, launchChromium, step, unique, withAuthenticator } from "./steps.mjs";

const PASSWORD = "correct horse battery";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const context = await launchChromium("stepup");
const page = await context.newPage();
await page.setExtraHTTPHeaders({ "accept-language": "en-US,en;q=0.9" });
await withAuthenticator(context, page);
const email = unique("stepup");

/** A new passkey from the account page. */
async function addPasskey() {
  await page.goto(`${API}/account`);
  const before = await page.locator("li[data-passkey]").count();
  await page.getByRole("button", { name: "Create a passkey" }).click();
  await page.waitForFunction((n) => document.querySelectorAll("li[data-passkey]").length > n, before);
}

/** Deletes the first passkey of the list once the session is stale: the confirmation page shows. */
async function deleteStale() {
  await page.goto(`${API}/account`);
  const n = await page.locator("li[data-passkey]").count();
  await sleep(2500);
  await page
    .getByRole("button", { name: /^Delete / })
    .first()
    .click();
  await page.getByRole("heading", { name: "Confirm" }).waitFor();
  return n;
}

try {
  await step("sign in with the password on the hosted page; a passkey from the account page", async () => {
    const res = await fetch(`${API}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: PASSWORD, cookie: false }),
    });
    assert.equal(res.status, 200);
    await page.goto(`${API}/login`);
    await page.getByLabel("Email address").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(/\/account/);
    // The offer page may have made one already (conditional create); one more from the account page.
    await addPasskey();
  });

  await step(
    "stale session: delete asks to confirm; the passkey confirms and the deletion goes on",
    async () => {
      const n = await deleteStale();
      assert.equal(await page.locator("li[data-passkey]").count(), 0, "the account page is not shown yet");
      await page.getByRole("button", { name: "Sign in with a passkey" }).click();
      await page.waitForURL(/\/account\?done=deleted/);
      await page.getByRole("status").filter({ hasText: "The passkey was deleted." }).waitFor();
      assert.equal(await page.locator("li[data-passkey]").count(), n - 1);
    },
  );

  await step("stale again: a wrong password asks again; the right one lets the deletion go on", async () => {
    await addPasskey();
    const n = await deleteStale();
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    await page.getByRole("alert").filter({ hasText: "The address or the password is wrong." }).waitFor();
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    await page.waitForURL(/\/account\?done=deleted/);
    assert.equal(await page.locator("li[data-passkey]").count(), n - 1);
  });
  console.log("stepup e2e: all steps passed");
} finally {
  await context.close();
}
