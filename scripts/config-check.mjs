// Validates a set of Worker variables with the Worker's own configuration parser (src/config.ts,
// bundled on the fly by esbuild), so `npm run dev` and the production preflight report exactly
// the message the Worker would answer with, before anything starts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

let cached;
/** The Worker's configuration module: { parseConfig, ConfigError }. */
export async function loadConfigModule(root) {
  if (!cached) {
    const out = await build({
      entryPoints: [join(root, "src", "config.ts")],
      bundle: true,
      format: "esm",
      platform: "neutral",
      mainFields: ["module", "main"],
      write: false,
      logLevel: "silent",
    });
    const code = out.outputFiles[0].text;
    cached = await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
  }
  return cached;
}

/** null when `vars` (plus the named bindings) make a valid configuration, else "KEY: why". */
export async function configProblem(root, vars, bindings = {}) {
  const { parseConfig, ConfigError } = await loadConfigModule(root);
  try {
    parseConfig({ ...bindings, ...vars });
    return null;
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
}

/**
 * Stand-ins for the bindings a wrangler configuration (unstable_readConfig) declares that the
 * configuration check looks for: SEND_EMAIL and the Rate Limiting bindings (`[[ratelimits]]`).
 */
export function declaredBindings(wranglerConfig) {
  const bindings = {};
  if (wranglerConfig.send_email?.some((b) => b.name === "SEND_EMAIL")) bindings.SEND_EMAIL = {};
  for (const r of wranglerConfig.ratelimits ?? [])
    bindings[r.name] = { limit: async () => ({ success: true }) };
  return bindings;
}

/**
 * Secrets the configuration `vars` needs beyond LATCHKEY_SECRET and JWT_PRIVATE_KEYS, because of
 * the features it turns on, each with what it is.
 */
export function featureSecrets(vars) {
  const needed = {};
  if (vars.MAIL_TRANSPORT === "http") needed.MAIL_HTTP_KEY = "the key of your mail API";
  if (String(vars.DIALECTS ?? "vault").includes("vault"))
    needed.TURNSTILE_SECRET_KEY = "your Turnstile secret";
  return needed;
}

/** A dotenv-style file (.dev.vars) as an object; {} when it does not exist. */
export function readDotVars(file) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return {};
  }
  const vars = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2];
    const quoted = /^(["'])(.*)\1$/.exec(value);
    if (quoted) value = quoted[1] === '"' ? quoted[2].replace(/\\n/g, "\n") : quoted[2];
    else value = value.replace(/\s+#.*$/, "");
    vars[m[1]] = value;
  }
  return vars;
}
