// The curl quick starts of docs/<dialect>.md, replayed against `wrangler dev` on the development
// settings the docs assume (`npm run dev`). For each doc, its ```sh blocks run in order in one bash
// (`set -euo pipefail`, so a failed command or pipe stops it), with $LATCHKEY set to the server.
// Shell variables carry values from one block to the next, as they do for a reader pasting them.
//
// A step "answers other than documented" when:
// - curl gets an HTTP error: the runner defines `curl` as `command curl --fail-with-body`, so a
//   4xx or 5xx fails the step (a reader sees the error body instead);
// - the block is followed by a ```json block and its output is not JSON of the same shape: the
//   same keys at every level and the same types (string, number, boolean, null, array, object);
//   a documented true or false must match exactly (numbers and strings only need their type);
// - the block is followed by a ```text block and its output differs line by line, where `...`
//   in the documented line stands for any text.
// Each step's output is printed, so the log shows what a reader would see.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { API, step, stepsPassed } from "./steps.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// QUICKSTART_DOCS=hbp,vault runs only those (while writing a doc against a running `npm run dev`).
const DIALECTS = process.env.QUICKSTART_DOCS?.split(",") ?? ["hbp", "hanko", "directus", "formauth", "vault"];

/** The fenced blocks of a markdown file, in order: language, body, and the line it starts on. */
export function fencedBlocks(markdown) {
  const blocks = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    const body = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    blocks.push({ lang: open[1], body: body.join("\n"), line: start });
  }
  return blocks;
}

/** The ```sh steps, each with the ```json or ```text block right after it (its expected output). */
export function quickStartSteps(markdown) {
  const blocks = fencedBlocks(markdown);
  const steps = [];
  for (let i = 0; i < blocks.length; i++) {
    if (blocks[i].lang !== "sh") continue;
    const next = blocks[i + 1];
    const expect = next && (next.lang === "json" || next.lang === "text") ? next : null;
    steps.push({ ...blocks[i], expect });
  }
  return steps;
}

const typeOf = (v) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

/** Differences between a JSON value and the documented one (shape and non-string literals). */
export function shapeDiff(actual, documented, at = "$") {
  const ta = typeOf(actual);
  const td = typeOf(documented);
  if (ta !== td) return [`${at}: ${ta} where the doc shows ${td}`];
  if (td === "boolean" && actual !== documented)
    return [`${at}: ${actual} where the doc shows ${documented}`];
  if (td === "array") {
    if (documented.length === 0) return actual.length === 0 ? [] : [`${at}: items where the doc shows none`];
    if (actual.length === 0) return [`${at}: empty where the doc shows items`];
    return actual.flatMap((item, i) => shapeDiff(item, documented[0], `${at}[${i}]`));
  }
  if (td === "object") {
    const out = [];
    for (const k of Object.keys(documented)) {
      if (!(k in actual)) out.push(`${at}.${k}: missing`);
      else out.push(...shapeDiff(actual[k], documented[k], `${at}.${k}`));
    }
    for (const k of Object.keys(actual)) if (!(k in documented)) out.push(`${at}.${k}: not in the doc`);
    return out;
  }
  return [];
}

function textDiff(actual, documented) {
  const a = actual.trimEnd().split("\n");
  const d = documented.trimEnd().split("\n");
  if (a.length !== d.length) return [`${a.length} lines where the doc shows ${d.length}`];
  const out = [];
  d.forEach((line, i) => {
    const pattern = new RegExp(
      `^${line
        .split("...")
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*")}$`,
    );
    if (!pattern.test(a[i])) out.push(`line ${i + 1}: "${a[i]}" where the doc shows "${line}"`);
  });
  return out;
}

/** Checks one step's output against its documented answer; returns the differences. */
function checkOutput(output, expect) {
  if (!expect) return [];
  if (expect.lang === "text") return textDiff(output, expect.body);
  let actual;
  try {
    actual = JSON.parse(output);
  } catch {
    return [`the output is not JSON: ${output.slice(0, 300)}`];
  }
  return shapeDiff(actual, JSON.parse(expect.body));
}

/**
 * Runs a doc's steps in one bash. Each step's stdout goes to its own file and a marker to stderr
 * after it, so the runner knows which step stopped the script.
 */
function runDoc(name, steps, dir) {
  const parts = [
    "set -euo pipefail",
    `export LATCHKEY=${JSON.stringify(API)}`,
    'curl() { command curl --fail-with-body "$@"; }',
  ];
  steps.forEach((s, i) => {
    parts.push(`echo "::step ${i}" >&2`);
    parts.push(`{\n${s.body}\n} > ${JSON.stringify(join(dir, `${name}.${i}.out`))}`);
  });
  parts.push('echo "::end" >&2');
  const script = join(dir, `${name}.sh`);
  writeFileSync(script, `${parts.join("\n")}\n`);
  const run = spawnSync("bash", [script], { cwd: dir, encoding: "utf8", timeout: 120_000 });
  const markers = [...run.stderr.matchAll(/^::step (\d+)$/gm)].map((m) => Number(m[1]));
  const reached = markers.length ? markers[markers.length - 1] : -1;
  const finished = /^::end$/m.test(run.stderr) && run.status === 0;
  return { finished, reached, stderr: run.stderr.replace(/^::(step \d+|end)\n/gm, ""), status: run.status };
}

const output = (dir, name, i) => {
  try {
    return readFileSync(join(dir, `${name}.${i}.out`), "utf8");
  } catch {
    return "";
  }
};

const dir = mkdtempSync(join(process.env.E2E_TMP ?? tmpdir(), "quickstart-"));
try {
  for (const name of DIALECTS) {
    const file = `docs/${name}.md`;
    const steps = quickStartSteps(readFileSync(join(root, file), "utf8"));
    await step(`${file}: the quick start has steps, each a sh block`, () => {
      if (steps.length < 4) throw new Error(`${file} has ${steps.length} sh blocks`);
    });
    const result = runDoc(name, steps, dir);
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i];
      const label =
        `${file}:${s.line} ${s.body.split("\n").find((l) => l && !l.startsWith("#")) ?? ""}`.slice(0, 110);
      await step(label, () => {
        const out = output(dir, name, i);
        if (out.trim()) console.log(out.trimEnd().replace(/^/gm, "    | ").slice(0, 2000));
        if (i > result.reached || (i === result.reached && !result.finished)) {
          throw new Error(
            i === result.reached
              ? `the step failed (bash exit ${result.status}):\n${result.stderr.trim().slice(-2000)}`
              : "not reached",
          );
        }
        const diff = checkOutput(out, s.expect);
        if (diff.length)
          throw new Error(`answered other than documented (${file}:${s.expect.line}):\n${diff.join("\n")}`);
      });
    }
  }
  console.log(`quickstart: ${stepsPassed()} steps passed`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
