#!/usr/bin/env node
// `npm run dev [-- <wrangler dev args>]`: apply the local D1 migrations, then start `wrangler dev`.
//
// `wrangler d1 migrations apply` asks "continue?" when stdin and stdout are a TTY. It is run here
// with stdin closed and CI=true, so it takes its non-interactive answer (yes) and never waits.
// Arguments that choose the config, environment or local state (--config/-c, --env/-e,
// --persist-to) are given to the migration step as well, so both use the same database.
import { spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
const args = process.argv.slice(2);

/** The subset of `args` that the migration step must share with `wrangler dev`. */
function sharedArgs(argv) {
  const out = [];
  const withValue = new Set(["--config", "-c", "--env", "-e", "--persist-to"]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf("=");
    const name = eq === -1 ? a : a.slice(0, eq);
    if (!withValue.has(name)) continue;
    if (eq !== -1) out.push(a);
    else if (i + 1 < argv.length) out.push(a, argv[++i]);
  }
  return out;
}

const migrate = spawnSync(
  process.execPath,
  [wrangler, "d1", "migrations", "apply", "DB", "--local", ...sharedArgs(args)],
  { cwd: root, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, CI: "true" } },
);
if (migrate.error) {
  console.error(`dev: could not run wrangler: ${migrate.error.message}`);
  process.exit(1);
}
if (migrate.status !== 0) {
  console.error(`dev: applying the local D1 migrations failed (exit ${migrate.status ?? migrate.signal})`);
  process.exit(migrate.status || 1);
}

const dev = spawn(process.execPath, [wrangler, "dev", ...args], { cwd: root, stdio: "inherit" });
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    if (dev.exitCode === null) dev.kill(sig);
  });
}
dev.on("exit", (code, signal) => {
  process.exit(code ?? (signal ? 1 : 0));
});
