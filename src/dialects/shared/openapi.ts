/**
 * OpenAPI 3.1 documents generated from the routes themselves. A route declares itself with `op()`:
 * the declaration is the first handler of the route, so Hono's own route table (`app.routes`)
 * gives its method and full path, and it holds the zod schemas the route validates with
 * (`await decl.body(c)`, `decl.query(c)`, `decl.params(c)`), so the document cannot drift from
 * what the route accepts. `openApiDocument()` walks a sub-app's routes and turns every declared
 * one into an operation; the schemas become JSON Schema 2020-12 (OpenAPI 3.1's dialect) through
 * `z.toJSONSchema`. Documents are built once per isolate and key (no D1).
 */
import type { Context, Handler, Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import { readBody, validate } from "./http";
import type { AppEnv } from "./types";

/** A response of an operation: its description, and the shape of its JSON body when it has one. */
export type OpResponse = string | { description: string; body?: z.ZodType; contentType?: string };

export interface OpSpec<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> {
  summary: string;
  description?: string;
  /** The request body (JSON or form-urlencoded, as the dialect reads them). */
  body?: B;
  /** Query parameters (a z.object). */
  query?: Q;
  /** Path parameters (a z.object); parameters without a schema are documented as strings. */
  params?: P;
  /** Names of the dialect's security schemes, any one of which authenticates; none: public. */
  auth?: string[];
  /**
   * Status -> response. Error statuses get the dialect's error body (components.schemas.Error)
   * unless they name their own.
   */
  responses: Record<number, OpResponse>;
}

const OP = Symbol("openapi-op");

export type Op<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> = MiddlewareHandler<AppEnv> & {
  [OP]: OpSpec<B, Q, P>;
  /** The request body, read (json or form, size-capped) and validated with the declared schema. */
  body(c: Context<AppEnv>): Promise<z.output<B>>;
  /** The query string validated with the declared schema. */
  query(c: Context<AppEnv>): z.output<Q>;
  /** The path parameters validated with the declared schema. */
  params(c: Context<AppEnv>): z.output<P>;
};

/**
 * Declares a route: `auth.post("/login", login, ...)` with `const login = op({...})`. As a handler it
 * only passes the request on; validation happens where the route calls `body`/`query`/`params`, so
 * each route keeps its order of checks (origin, rate limit, then the body).
 */
export function op<
  B extends z.ZodType = z.ZodNever,
  Q extends z.ZodType = z.ZodNever,
  P extends z.ZodType = z.ZodNever,
>(spec: OpSpec<B, Q, P>): Op<B, Q, P> {
  const handler: MiddlewareHandler<AppEnv> = (_c, next) => next();
  const need = <S>(s: S | undefined, what: string): S => {
    if (!s) throw new Error(`op "${spec.summary}" declares no ${what} schema`);
    return s;
  };
  return Object.assign(handler, {
    [OP]: spec,
    body: async (c: Context<AppEnv>) => validate(need(spec.body, "body"), await readBody(c)),
    query: (c: Context<AppEnv>) => validate(need(spec.query, "query"), c.req.query()),
    params: (c: Context<AppEnv>) => validate(need(spec.params, "params"), c.req.param()),
  });
}

/** What a dialect's document says about the whole API. */
export interface DocInfo {
  title: string;
  version: string;
  description: string;
  /** Media types the dialect reads request bodies as. */
  bodyTypes: string[];
  /** OpenAPI security schemes by name (op `auth` refers to them). */
  securitySchemes: Record<string, Record<string, unknown>>;
  /** The dialect's error body. */
  errorBody: z.ZodType;
}

type Json = Record<string, unknown>;

/** JSON Schema 2020-12 of what a client sends (input side: before transforms). */
function schemaOf(s: z.ZodType): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Json;
  return rest;
}

/** Hono's `/a/:id/*` -> OpenAPI's `/a/{id}/{path}`, and the names of its parameters. */
export function openApiPath(honoPath: string): { path: string; names: string[] } {
  const names: string[] = [];
  const path = honoPath
    .split("/")
    .map((seg) => {
      if (seg.startsWith(":")) {
        const name = seg.slice(1).replace(/\{.*\}$/, "");
        names.push(name);
        return `{${name}}`;
      }
      if (seg === "*") {
        names.push("path");
        return "{path}";
      }
      return seg;
    })
    .join("/");
  return { path: path || "/", names };
}

/**
 * The declaration behind a registered handler. `app.route()` wraps the handlers of a sub-app that
 * has its own error handler, and keeps the original under Hono's COMPOSED_HANDLER key.
 */
function specOf(handler: unknown): OpSpec<z.ZodType, z.ZodType, z.ZodType> | undefined {
  let h = handler as Record<string | symbol, unknown> | undefined;
  for (let depth = 0; h && depth < 10; depth++) {
    const spec = h[OP] as OpSpec<z.ZodType, z.ZodType, z.ZodType> | undefined;
    if (spec) return spec;
    h = h[COMPOSED_HANDLER] as Record<string | symbol, unknown> | undefined;
  }
  return undefined;
}

/** hono/utils/constants COMPOSED_HANDLER (not exported from the package's entry points). */
const COMPOSED_HANDLER = "__COMPOSED_HANDLER";

/** The operations an app declares: method (lower case), OpenAPI path, spec. */
export function declaredOps(app: Hono<AppEnv>, prefix = "") {
  const out: {
    method: string;
    path: string;
    honoPath: string;
    spec: OpSpec<z.ZodType, z.ZodType, z.ZodType>;
  }[] = [];
  for (const r of app.routes) {
    const spec = specOf(r.handler);
    if (!spec) continue;
    const honoPath = `${prefix}${r.path}`;
    out.push({ method: r.method.toLowerCase(), path: openApiPath(honoPath).path, honoPath, spec });
  }
  return out;
}

function parameters(spec: OpSpec<z.ZodType, z.ZodType, z.ZodType>, pathNames: string[]): Json[] {
  const list: Json[] = [];
  const props = (s: z.ZodType | undefined) => {
    if (!s) return { properties: {} as Record<string, Json>, required: [] as string[] };
    const js = schemaOf(s);
    return {
      properties: (js.properties ?? {}) as Record<string, Json>,
      required: (js.required ?? []) as string[],
    };
  };
  const path = props(spec.params);
  for (const name of pathNames) {
    const schema = path.properties[name] ?? { type: "string" };
    const p: Json = { name, in: "path", required: true, schema };
    if (name === "path") p.description = "the rest of the path, slashes included";
    list.push(p);
  }
  const query = props(spec.query);
  for (const [name, schema] of Object.entries(query.properties)) {
    list.push({ name, in: "query", required: query.required.includes(name), schema });
  }
  return list;
}

function operation(
  spec: OpSpec<z.ZodType, z.ZodType, z.ZodType>,
  info: DocInfo,
  operationId: string,
  pathNames: string[],
): Json {
  const o: Json = { operationId, summary: spec.summary };
  if (spec.description) o.description = spec.description;
  const params = parameters(spec, pathNames);
  if (params.length) o.parameters = params;
  if (spec.body) {
    const schema = schemaOf(spec.body);
    o.requestBody = {
      required: true,
      content: Object.fromEntries(info.bodyTypes.map((t) => [t, { schema }])),
    };
  }
  const error = { $ref: "#/components/schemas/Error" };
  const responses: Json = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    const entry = typeof r === "string" ? { description: r } : r;
    const res: Json = { description: entry.description };
    const body = entry.body ? schemaOf(entry.body) : Number(status) >= 400 ? error : undefined;
    if (body) res.content = { [entry.contentType ?? "application/json"]: { schema: body } };
    else if (entry.contentType) res.content = { [entry.contentType]: {} };
    responses[status] = res;
  }
  o.responses = responses;
  o.security = spec.auth?.length ? spec.auth.map((name) => ({ [name]: [] })) : [];
  return o;
}

/** `post /auth/mfa/totp` -> `postAuthMfaTotp`. */
function operationIdOf(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return method + words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");
}

/** The OpenAPI 3.1 document of every route `app` declares, with `prefix` before each path. */
export function openApiDocument(
  app: Hono<AppEnv>,
  info: DocInfo,
  opts: { prefix?: string; serverUrl?: string } = {},
) {
  const paths: Record<string, Json> = {};
  for (const { method, path, honoPath, spec } of declaredOps(app, opts.prefix)) {
    const item = paths[path] ?? {};
    paths[path] = item;
    item[method] = operation(spec, info, operationIdOf(method, path), openApiPath(honoPath).names);
  }
  return {
    openapi: "3.1.0",
    info: { title: info.title, version: info.version, description: info.description },
    ...(opts.serverUrl ? { servers: [{ url: opts.serverUrl }] } : {}),
    paths,
    components: { schemas: { Error: schemaOf(info.errorBody) }, securitySchemes: info.securitySchemes },
  };
}

/**
 * The handler that serves a dialect's document, built on first request and kept for the isolate's
 * life (per prefix and public URL, the only configuration it depends on).
 */
export function serveOpenApi(
  app: () => Hono<AppEnv>,
  info: DocInfo,
  prefixOf: (c: Context<AppEnv>) => string = () => "",
): Handler<AppEnv> {
  const built = new Map<string, string>();
  return (c) => {
    const prefix = prefixOf(c);
    const serverUrl = new URL(c.var.config.publicUrl).href.replace(/\/$/, "");
    const key = `${prefix}\n${serverUrl}`;
    let doc = built.get(key);
    if (doc === undefined) {
      doc = JSON.stringify(openApiDocument(app(), info, { prefix, serverUrl }));
      built.set(key, doc);
    }
    c.header("Cache-Control", "public, max-age=300");
    return c.body(doc, 200, { "Content-Type": "application/json; charset=utf-8" });
  };
}

/** The bearer access token scheme every dialect shares (a JWT from any dialect). */
export const BEARER_SCHEME = {
  type: "http",
  scheme: "bearer",
  bearerFormat: "JWT",
  description: "An access token from any dialect (same issuer, same keys).",
};
