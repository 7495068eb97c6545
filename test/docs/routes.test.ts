/**
 * The route table of each docs/<dialect>.md lists exactly the routes the dialect's sub-app
 * registers (Hono's own route table; `ALL` entries are middleware and catch-alls), and the
 * OpenAPI paths the README and the docs name are the ones the Worker serves.
 */
import type { Hono } from "hono";
import { describe, expect, it } from "vitest";
import directusDoc from "../../docs/directus.md?raw";
import formauthDoc from "../../docs/formauth.md?raw";
import hankoDoc from "../../docs/hanko.md?raw";
import hbpDoc from "../../docs/hbp.md?raw";
import vaultDoc from "../../docs/vault.md?raw";
import readme from "../../README.md?raw";
import { directusRoutes } from "../../src/dialects/directus";
import { formauth } from "../../src/dialects/formauth";
import { hanko } from "../../src/dialects/hanko";
import { hbp } from "../../src/dialects/hbp";
import { openApiPath } from "../../src/dialects/shared/openapi";
import type { AppEnv } from "../../src/dialects/shared/types";
import { vault } from "../../src/dialects/vault";
import { call } from "../support/app";

const DOCS: { name: string; doc: string; app: Hono<AppEnv>; prefix: string; openapi: string | null }[] = [
  { name: "hbp", doc: hbpDoc, app: hbp, prefix: "", openapi: "/auth/openapi.json" },
  { name: "hanko", doc: hankoDoc, app: hanko, prefix: "", openapi: null },
  {
    name: "directus",
    doc: directusDoc,
    app: directusRoutes,
    prefix: "/directus",
    openapi: "/directus/openapi.json",
  },
  { name: "formauth", doc: formauthDoc, app: formauth, prefix: "", openapi: "/api/auth/openapi.json" },
  { name: "vault", doc: vaultDoc, app: vault, prefix: "", openapi: "/api/openapi.json" },
];

/** `METHOD /path` of the first cell of every row of the table under "## Routes". */
function documentedRoutes(markdown: string): string[] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith("Routes"));
  if (!section) return [];
  return section
    .split("\n")
    .map((line) => /^\|\s*`([A-Z]+ \/[^`]*)`\s*\|/.exec(line)?.[1])
    .filter((r): r is string => r !== undefined)
    .sort();
}

function registeredRoutes(app: Hono<AppEnv>, prefix: string): string[] {
  const set = new Set<string>();
  for (const r of app.routes) {
    if (r.method !== "ALL") set.add(`${r.method} ${openApiPath(`${prefix}${r.path}`).path}`);
  }
  return [...set].sort();
}

describe.each(DOCS)("docs/$name.md", ({ doc, app, prefix, openapi }) => {
  it("lists exactly the routes the dialect registers", () => {
    const documented = documentedRoutes(doc);
    expect(documented.length).toBeGreaterThan(3);
    expect(documented).toEqual(registeredRoutes(app, prefix));
  });

  it("has a curl quick start (sh blocks) that starts from $LATCHKEY and reads the dev outbox", () => {
    const sh = [...doc.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
    expect(sh.length).toBeGreaterThan(4);
    // The shell default, so a reader gets the dev server and the replay its own URL.
    expect(sh[0]).toContain(["LATCHKEY=$", "{LATCHKEY:-http://localhost:8787}"].join(""));
    expect(sh.join("\n")).toContain("/_dev/outbox?to=");
  });

  it.runIf(openapi !== null)("names the OpenAPI path the Worker serves, and so does the README", async () => {
    expect(doc).toContain(`GET ${openapi}`);
    expect(readme).toContain(openapi);
    expect((await call(openapi!)).status).toBe(200);
  });
});

describe("README", () => {
  it("links every dialect doc", () => {
    for (const { name } of DOCS) expect(readme).toContain(`(docs/${name}.md)`);
  });
});
