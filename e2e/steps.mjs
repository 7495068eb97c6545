/** What every e2e suite shares: the server under test, numbered TAP-like steps, unique addresses. */

export const API = process.env.LATCHKEY_URL;
if (!API) throw new Error("LATCHKEY_URL is not set (run through `npm run test:e2e`)");

let stepNo = 0;
/** Runs one named step; prints `ok N - name (ms)`, or `not ok N - name` and rethrows. */
export async function step(name, fn) {
  stepNo++;
  const t = Date.now();
  try {
    await fn();
  } catch (e) {
    console.error(`  not ok ${stepNo} - ${name}`);
    throw e;
  }
  console.log(`  ok ${stepNo} - ${name} (${Date.now() - t} ms)`);
}

/** How many steps have passed so far. */
export const stepsPassed = () => stepNo;

export const unique = (tag) => `${tag}-${Math.random().toString(36).slice(2, 10)}@example.com`;
