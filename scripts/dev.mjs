#!/usr/bin/env node
// `npm run dev [-- <wrangler dev args>]`: check the development configuration, apply the local D1
// migrations, then start `wrangler dev`.
//
// wrangler.toml is the production configuration; the development settings (scripts/dev-vars.mjs)
// are passed here as `--var`s, with PUBLIC_URL taken from the port served on (`--port N`, default
// 8787). A key set in `.dev.vars` (or `.dev.vars.<env>`) or given as `--var KEY:VALUE` wins over
// those defaults. The merged configuration is checked with the Worker's own parser first, so a bad
// value is reported (key and why, never the value) before wrangler prints "Ready".
//
// `wrangler d1 migrations apply` asks "continue?" when stdin and stdout are a TTY. It is run here
// with stdin closed and CI=true, so it takes its non-interactive answer (yes) and never waits.
// Arguments that choose the config, environment or local state (--config/-c, --env/-e,
// --persist-to) are given to the migration step as well, so both use the same database.
//
// The example SPA (examples/spa, docs/spa.md) is built first and served by the same server as
// Workers static assets, from wrangler.dev.toml (wrangler.toml plus an [assets] table; see
// scripts/spa.mjs): http://localhost:8787/ is the app, the API paths are the Worker's. `--no-spa`,
// or a `--config` of your own, starts the Worker alone.
import { spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { configProblem, declaredBindings, readDotVars } from "./config-check.mjs";
import { DEFAULT_DEV_PORT, developmentVars } from "./dev-vars.mjs";
import { prepareSpa, SPA_DEV_VARS } from "./spa.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
const argv = process.argv.slice(2);
const args = argv.filter((a) => a !== "--no-spa");

/** Every value of the flag `names` in argv (`--flag v` and `--flag=v`). */
function flagValues(argv, names) {
  const out = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf("=");
    const name = eq === -1 ? a : a.slice(0, eq);
    if (!names.includes(name)) continue;
    if (eq !== -1) out.push(a.slice(eq + 1));
    else if (i + 1 < argv.length) out.push(argv[++i]);
  }
  return out;
}

/** The subset of `args` that the migration step must share with `wrangler dev`. */
function sharedArgs(argv) {
  const out = [];
  for (const name of ["--config", "--env", "--persist-to"]) {
    const short = { "--config": "-c", "--env": "-e" }[name];
    for (const v of flagValues(argv, short ? [name, short] : [name])) out.push(name, v);
  }
  return out;
}

const port = Number(flagValues(args, ["--port"]).at(-1) ?? DEFAULT_DEV_PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error("dev: --port must be a port number");
  process.exit(1);
}
const configPath = flagValues(args, ["--config", "-c"]).at(-1) ?? join(root, "wrangler.toml");
const envName = flagValues(args, ["--env", "-e"]).at(-1);

// What wrangler dev will see, in its order of precedence: wrangler.toml < .dev.vars < --var.
const { unstable_readConfig } = await import("wrangler");
const wranglerConfig = unstable_readConfig({ config: configPath, env: envName }, { hideWarnings: true });
const dotVars = readDotVars(join(dirname(configPath), envName ? `.dev.vars.${envName}` : ".dev.vars"));
const cliVars = {};
for (const kv of flagValues(args, ["--var"])) {
  const i = kv.indexOf(":");
  if (i > 0) cliVars[kv.slice(0, i)] = kv.slice(i + 1);
}
// The SPA, unless the caller chose a configuration or asked for none; it brings its own defaults
// (SPA_DEV_VARS: where the Hanko dialect goes, so that `/` is the app's).
const withSpa = !argv.includes("--no-spa") && !flagValues(args, ["--config", "-c"]).length;
const defaults = Object.entries({
  ...developmentVars(`http://localhost:${port}`),
  ...(withSpa ? SPA_DEV_VARS : {}),
}).filter(([k]) => !(k in dotVars) && !(k in cliVars));
const merged = { ...wranglerConfig.vars, ...Object.fromEntries(defaults), ...dotVars, ...cliVars };
const problem = await configProblem(root, merged, declaredBindings(wranglerConfig));
if (problem) {
  console.error(`dev: Configuration error: ${problem}`);
  process.exit(1);
}

// The SPA is built for the Worker's variables (where the Hanko dialect is mounted), then served
// through wrangler.dev.toml.
const spaConfig = [];
if (withSpa) {
  try {
    spaConfig.push("--config", await prepareSpa(root, merged));
  } catch (e) {
    console.error(`dev: building the example SPA failed: ${e instanceof Error ? e.message : e}`);
    console.error("dev: `npm run dev -- --no-spa` starts the Worker without it.");
    process.exit(1);
  }
}

const migrate = spawnSync(
  process.execPath,
  [wrangler, "d1", "migrations", "apply", "DB", "--local", ...spaConfig, ...sharedArgs(args)],
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

const devArgs = [...spaConfig, ...args, ...defaults.flatMap(([k, v]) => ["--var", `${k}:${v}`])];
if (!flagValues(args, ["--port"]).length) devArgs.push("--port", String(port));
const dev = spawn(process.execPath, [wrangler, "dev", ...devArgs], { cwd: root, stdio: "inherit" });
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    if (dev.exitCode === null) dev.kill(sig);
  });
}
dev.on("exit", (code, signal) => {
  process.exit(code ?? (signal ? 1 : 0));
});
