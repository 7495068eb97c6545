/**
 * The OpenAPI document each dialect serves: every route its sub-app registers (Hono's own route
 * table, catch-alls aside) is an operation of the document and every operation is a registered
 * route, and the document has the shape OpenAPI 3.1 asks for.
 */
import type { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { directusRoutes } from "../../src/dialects/directus";
import { formauth } from "../../src/dialects/formauth";
import { hbp } from "../../src/dialects/hbp";
import { openApiPath } from "../../src/dialects/shared/openapi";
import type { AppEnv } from "../../src/dialects/shared/types";
import { vault } from "../../src/dialects/vault";
import { call } from "../support/app";
import { measured } from "../support/meter";

type Doc = {
  openapi: string;
  info: { title: string; version: string };
  servers?: { url: string }[];
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};

const DIALECTS: {
  name: string;
  app: Hono<AppEnv>;
  doc: string;
  prefix: string;
  vars?: Record<string, string>;
}[] = [
  { name: "hbp", app: hbp, doc: "/auth/openapi.json", prefix: "" },
  { name: "directus", app: directusRoutes, doc: "/directus/openapi.json", prefix: "/directus" },
  { name: "formauth", app: formauth, doc: "/api/auth/openapi.json", prefix: "" },
  { name: "vault", app: vault, doc: "/api/openapi.json", prefix: "" },
];

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** `METHOD /path` of every route the app registers; `ALL` entries are middleware and catch-alls. */
function registered(app: Hono<AppEnv>, prefix: string): string[] {
  const set = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue;
    set.add(`${r.method} ${openApiPath(`${prefix}${r.path}`).path}`);
  }
  return [...set].sort();
}

function documented(doc: Doc): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

async function fetchDoc(path: string, vars?: Record<string, string>): Promise<Doc> {
  const res = await call(path, { vars });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return (await res.json()) as Doc;
}

describe.each(DIALECTS)("$name OpenAPI document", ({ app, doc: docPath, prefix, vars }) => {
  it(`is served at ${docPath} and lists exactly the registered routes`, async () => {
    const doc = await fetchDoc(docPath, vars);
    const routes = registered(app, prefix);
    expect(routes.length).toBeGreaterThan(3);
    expect(documented(doc)).toEqual(routes);
  });

  it("has the shape of OpenAPI 3.1: paths, operations, responses, parameters, security", async () => {
    const doc = await fetchDoc(docPath, vars);
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toBeTruthy();
    expect(doc.servers?.[0]?.url).toMatch(/^https?:\/\//);
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      expect(path).toMatch(/^\//);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, operation] of Object.entries(item)) {
        expect(METHODS).toContain(method);
        const o = operation as {
          operationId: string;
          summary: string;
          parameters?: { name: string; in: string; required?: boolean; schema: unknown }[];
          requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
          responses: Record<string, { description: string; content?: Record<string, unknown> }>;
          security: Record<string, string[]>[];
        };
        expect(o.summary, `${method} ${path}`).toBeTruthy();
        expect(ids.has(o.operationId), `duplicate operationId ${o.operationId}`).toBe(false);
        ids.add(o.operationId);
        // Every templated segment is a required path parameter, and there are no others.
        const inPath = (o.parameters ?? []).filter((p) => p.in === "path");
        expect(inPath.map((p) => p.name).sort()).toEqual([...templated].sort());
        for (const p of inPath) expect(p.required).toBe(true);
        for (const p of o.parameters ?? []) {
          expect(["path", "query", "header", "cookie"]).toContain(p.in);
          expect(p.schema).toBeTypeOf("object");
        }
        if (o.requestBody) {
          expect(Object.keys(o.requestBody.content).length).toBeGreaterThan(0);
          for (const media of Object.values(o.requestBody.content)) {
            expect(media.schema).toBeTypeOf("object");
            expect(media.schema.$schema).toBeUndefined();
          }
        }
        const statuses = Object.keys(o.responses);
        expect(statuses.length, `${method} ${path} has no responses`).toBeGreaterThan(0);
        for (const status of statuses) {
          expect(status).toMatch(/^[1-5]\d\d$/);
          expect(o.responses[status]!.description).toBeTruthy();
        }
        expect(
          statuses.some((s) => /^[23]/.test(s)),
          `${method} ${path} has no success`,
        ).toBe(true);
        // Every $ref points into components.
        for (const ref of JSON.stringify(o).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g))
          expect(doc.components.schemas).toHaveProperty(ref[1]!);
        for (const requirement of o.security) {
          for (const scheme of Object.keys(requirement))
            expect(doc.components.securitySchemes).toHaveProperty(scheme);
        }
      }
    }
  });

  it("documents request bodies with the schema the route validates with", async () => {
    const doc = await fetchDoc(docPath, vars);
    const withBody = Object.values(doc.paths).flatMap((item) =>
      Object.values(item).filter((o) => (o as { requestBody?: unknown }).requestBody),
    );
    expect(withBody.length).toBeGreaterThan(0);
  });
});

describe("documents follow the configuration", () => {
  it("the Directus document lives under DIRECTUS_PREFIX and names its paths with it", async () => {
    const doc = await fetchDoc("/id/openapi.json", { DIRECTUS_PREFIX: "/id" });
    expect(Object.keys(doc.paths)).toContain("/id/auth/login");
    expect(Object.keys(doc.paths).every((p) => p.startsWith("/id/"))).toBe(true);
    expect((await call("/directus/openapi.json", { vars: { DIRECTUS_PREFIX: "/id" } })).status).toBe(404);
  });

  it("the server URL is PUBLIC_URL", async () => {
    const doc = await fetchDoc("/api/auth/openapi.json", { PUBLIC_URL: "https://auth.example.com" });
    expect(doc.servers).toEqual([{ url: "https://auth.example.com" }]);
  });

  it("documents hbp's register body as the zod schema's JSON Schema", async () => {
    const doc = await fetchDoc("/auth/openapi.json");
    const register = doc.paths["/auth/register"]!.post as {
      requestBody: { content: Record<string, { schema: { required: string[]; properties: object } }> };
    };
    const schema = register.requestBody.content["application/json"]!.schema;
    expect(schema.required).toEqual(["email"]);
    expect(Object.keys(schema.properties)).toEqual([
      "email",
      "password",
      "cookie",
      "user_data",
      "register_options",
    ]);
  });

  it("costs no D1, KV or R2 call, and is the same document on every request", async () => {
    const first = await call("/auth/openapi.json");
    const second = await call("/auth/openapi.json");
    expect(measured(first)).toMatchObject({ d1: 0, kvReads: 0, kvWrites: 0, r2: 0 });
    expect(measured(second)).toMatchObject({ d1: 0, kvReads: 0, kvWrites: 0, r2: 0 });
    expect(await second.text()).toBe(await first.text());
    expect(first.headers.get("cache-control")).toBe("public, max-age=300");
  });

  it("a turned-off dialect serves no document", async () => {
    const res = await call("/api/auth/openapi.json", { vars: { DIALECTS: "hbp" } });
    expect(res.status).toBe(404);
  });
});
