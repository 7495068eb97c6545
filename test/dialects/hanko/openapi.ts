/**
 * Reads response schemas out of api/hanko-0.12-openapi.txt itself (docs/api/, copied from the
 * shared contract) to check response bodies against them. The copy lost its YAML indentation, so
 * nesting cannot be recovered exactly; each schema is read as the set of property names it
 * declares at any depth, each with its documented type, format or $ref, plus its `required` list.
 * A body passes when every key it has (at any depth) is declared with a matching type and format,
 * and the required keys are there. Deviations the 0.12 SDK needs are passed in explicitly by the
 * tests, each with its reason.
 */
import doc from "../../../docs/api/hanko-0.12-openapi.txt?raw";

const lines = doc.split("\n").map((l) => l.trim());

// Keywords that stand alone on their line; `type:` or `format:` alone is a property so named.
const KEYWORDS = new Set([
  "description",
  "example",
  "examples",
  "properties",
  "items",
  "allOf",
  "oneOf",
  "anyOf",
  "enum",
  "required",
  "externalDocs",
  "content",
  "schema",
  "application/json",
  "headers",
  "value",
  "non-disco",
  "disco",
]);

interface Field {
  type?: string;
  format?: string;
  ref?: string;
}
export interface Schema {
  name: string;
  type?: string;
  format?: string;
  ref?: string;
  fields: Map<string, Field>;
  required: string[];
}

function parseBlock(name: string, block: string[]): Schema {
  const schema: Schema = { name, fields: new Map(), required: [] };
  let current: Field | null = null;
  let inRequired = false;
  for (const line of block) {
    const listItem = /^- ([\w-]+)$/.exec(line);
    if (inRequired && listItem) {
      schema.required.push(listItem[1]!);
      continue;
    }
    inRequired = line === "required:";
    if (inRequired) continue;
    const bare = /^([A-Za-z_][\w-]*):$/.exec(line);
    if (bare && !KEYWORDS.has(bare[1]!)) {
      current = schema.fields.get(bare[1]!) ?? {};
      schema.fields.set(bare[1]!, current);
      continue;
    }
    const target: Field = current ?? schema;
    const ref = /^(?:- )?\$ref: '#\/components\/schemas\/([\w-]+)'$/.exec(line);
    if (ref) target.ref ??= ref[1];
    const type = /^type: (\w+)$/.exec(line);
    if (type) target.type ??= type[1];
    const format = /^format: ([\w-]+)$/.exec(line);
    if (format) target.format ??= format[1];
  }
  return schema;
}

const componentsAt = lines.indexOf("schemas:");

export function component(name: string): Schema {
  const start = lines.indexOf(`${name}:`, componentsAt);
  if (start < 0) throw new Error(`no component schema ${name}`);
  let end = start + 1;
  while (end < lines.length && !/^[A-Z][\w-]*:$/.test(lines[end]!) && lines[end] !== "securitySchemes:")
    end++;
  return parseBlock(name, lines.slice(start + 1, end));
}

function operation(operationId: string) {
  const start = lines.indexOf(`operationId: ${operationId}`);
  if (start < 0) throw new Error(`no operation ${operationId}`);
  let end = start + 1;
  while (end < lines.length && !/^operationId: /.test(lines[end]!) && lines[end] !== "components:") end++;
  return { start, end };
}

/** The statuses an operation documents. */
export function statuses(operationId: string): number[] {
  const { start, end } = operation(operationId);
  return lines
    .slice(start, end)
    .map((l) => /^'(\d{3})':$/.exec(l)?.[1])
    .filter((s): s is string => !!s)
    .map(Number);
}

/** The documented body schema of one response, or null when the document gives none. */
export function responseSchema(operationId: string, status: number): Schema | null {
  const { start, end } = operation(operationId);
  const at = lines.indexOf(`'${status}':`, start);
  if (at < 0 || at > end) throw new Error(`${operationId} documents no ${status}`);
  let stop = at + 1;
  while (stop < end && !/^'\d{3}':$/.test(lines[stop]!)) stop++;
  const block = lines.slice(at + 1, stop);
  const ref = /^\$ref: '#\/components\/responses\/(\w+)'$/.exec(block[0] ?? "");
  if (ref) return component("Error");
  // The body's schema, not a header's: the first `schema:` after `content:`.
  const content = block.indexOf("content:");
  const s = content < 0 ? -1 : block.indexOf("schema:", content);
  if (s < 0) return null;
  const body = block.slice(s + 1);
  const direct = /^\$ref: '#\/components\/schemas\/([\w-]+)'$/.exec(body[0] ?? "");
  return direct ? component(direct[1]!) : parseBlock(`${operationId} ${status}`, body);
}

export interface CheckOptions {
  /** Keys the document does not declare but the 0.12 SDK needs (with the reason in the test). */
  extra?: string[];
  /** Types the document gets wrong, by key. */
  types?: Record<string, string>;
}

const FORMATS: Record<string, RegExp> = {
  uuid4: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  "date-time": /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
  email: /^[^@\s]+@[^@\s]+$/,
  base64url: /^[A-Za-z0-9_-]*$/,
  // The document writes `base64` for credential ids that the SDK and Hanko send as base64url.
  base64: /^[A-Za-z0-9_+/=-]*$/,
};

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function matches(v: unknown, type: string | undefined): boolean {
  if (!type) return true;
  const t = typeOf(v);
  return t === type || (type === "number" && t === "integer");
}

/** Problems of `value` against `schema`; an empty list means it conforms. */
export function check(value: unknown, schema: Schema, opts: CheckOptions = {}): string[] {
  const problems: string[] = [];
  const visit = (v: unknown, s: Schema, path: string) => {
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) visit(x, s, `${path}[${i}]`);
      return;
    }
    if (typeOf(v) !== "object") return;
    const obj = v as Record<string, unknown>;
    for (const key of s.required) if (!(key in obj)) problems.push(`${path}.${key}: required by ${s.name}`);
    for (const [key, val] of Object.entries(obj)) {
      const at = `${path}.${key}`;
      const field = s.fields.get(key);
      if (!field) {
        if (!opts.extra?.includes(key)) problems.push(`${at}: not declared in ${s.name}`);
        continue;
      }
      let { type, format } = field;
      if (field.ref) {
        const target = component(field.ref);
        if (target.fields.size > 0) {
          visit(val, target, at);
          continue;
        }
        type ??= target.type;
        format ??= target.format;
      }
      type = opts.types?.[key] ?? type;
      if (!matches(val, type)) problems.push(`${at}: ${typeOf(val)} where ${s.name} says ${type}`);
      else if (typeof val === "string" && format && FORMATS[format] && !FORMATS[format]!.test(val))
        problems.push(`${at}: "${val}" is not ${format}`);
      else if (type === "array" || type === "object") visit(val, s, at);
    }
  };
  if (schema.type && !matches(value, schema.type))
    problems.push(`body: ${typeOf(value)} where ${schema.name} says ${schema.type}`);
  visit(value, schema, "body");
  return problems;
}
