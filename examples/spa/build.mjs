#!/usr/bin/env node
// Builds the example SPA into examples/spa/dist/: src/main.ts bundled by esbuild (the one wrangler
// ships, node_modules/esbuild) into app.js, next to the static files copied as they are.
// `node examples/spa/build.mjs [--hanko-prefix /hanko]`; scripts/dev.mjs and the e2e runner call
// buildSpa() before `wrangler dev` serves dist/ as Workers static assets (docs/spa.md).
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
export const SPA_DIST = join(here, "dist");
const STATIC_FILES = ["index.html", "style.css", "_headers"];

/**
 * Builds the SPA for a Worker whose Hanko dialect is mounted at `hankoPrefix` ("" for the origin
 * root; HANKO_PREFIX). The prefix is compiled in: the app calls same-origin paths only.
 */
export async function buildSpa({ hankoPrefix = "", outDir = SPA_DIST } = {}) {
  if (hankoPrefix !== "" && !/^\/[\w./-]*[^/]$/.test(hankoPrefix)) {
    throw new Error(`buildSpa: hankoPrefix must be empty or a path like /hanko (got ${hankoPrefix})`);
  }
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(here, "src", "main.ts")],
    bundle: true,
    format: "esm",
    target: "es2022",
    minify: true,
    sourcemap: true,
    outfile: join(outDir, "app.js"),
    define: { LATCHKEY_HANKO_PREFIX: JSON.stringify(hankoPrefix) },
    logLevel: "warning",
  });
  for (const f of STATIC_FILES) copyFileSync(join(here, f), join(outDir, f));
  return outDir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf("--hanko-prefix");
  const out = await buildSpa({ hankoPrefix: i > 0 ? (process.argv[i + 1] ?? "") : "" });
  console.log(`spa: built ${out}`);
}
