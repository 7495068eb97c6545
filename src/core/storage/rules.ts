/**
 * Declarative access rules (HBP ran JavaScript rule strings; Workers cannot eval). A rule is a
 * path pattern and, for `read` and `write`, a list of conditions of which ANY grants access:
 *
 *   public          anyone, signed in or not
 *   authenticated   any valid access token
 *   owner           the pattern's `{userId}` parameter equals the caller's id
 *   owner:<param>   the same with another parameter name
 *   role:<name>     the caller's roles include <name>
 *   token           (read only) `?token=` equals the file's Metadata.token
 *
 * Pattern segments: a literal, `*` (one segment), `{name}` (one segment, captured) and a final
 * `**` (one or more segments). The first rule whose pattern matches the key decides; a key no rule
 * matches is refused. Rules come from STORAGE_RULES (JSON); DEFAULT_STORAGE_RULES otherwise.
 */
import { z } from "zod";

export interface StorageRule {
  path: string;
  read: string[];
  write: string[];
}

export const DEFAULT_STORAGE_RULES: StorageRule[] = [
  { path: "user/{userId}/**", read: ["owner", "token"], write: ["owner"] },
  { path: "public/**", read: ["public"], write: ["authenticated"] },
];

/** Who is asking: null when no bearer token was sent. */
export interface StorageCaller {
  userId: string;
  roles: string[];
}

type Condition =
  | { kind: "public" }
  | { kind: "authenticated" }
  | { kind: "owner"; param: string }
  | { kind: "role"; role: string }
  | { kind: "token" };

interface CompiledRule {
  segments: string[];
  read: Condition[];
  write: Condition[];
}

export type Decision = "allow" | "deny" | "token";

const ruleSchema = z
  .array(
    z
      .object({
        path: z.string().min(1).max(512),
        read: z.array(z.string()).default([]),
        write: z.array(z.string()).default([]),
      })
      .strict(),
  )
  .max(100);

function parseCondition(text: string, params: string[], op: "read" | "write"): Condition {
  if (text === "public" || text === "authenticated") return { kind: text };
  if (text === "token") {
    if (op === "write") throw new Error(`"token" grants read only`);
    return { kind: "token" };
  }
  const [head, arg] = text.split(":", 2) as [string, string | undefined];
  if (head === "owner") {
    const param = arg ?? "userId";
    if (!params.includes(param)) throw new Error(`"${text}" needs a {${param}} segment in the path`);
    return { kind: "owner", param };
  }
  if (head === "role" && arg) return { kind: "role", role: arg };
  throw new Error(`unknown condition "${text}"`);
}

/** Validates and compiles a rule list; throws Error with a message naming the problem. */
export function compileRules(rules: unknown): CompiledRule[] {
  const parsed = ruleSchema.safeParse(rules);
  if (!parsed.success) throw new Error("must be a JSON array of {path, read, write}");
  return parsed.data.map((r) => {
    const segments = r.path.replace(/^\/+/, "").split("/");
    const params: string[] = [];
    segments.forEach((seg, i) => {
      if (seg === "") throw new Error(`"${r.path}": empty segment`);
      if (seg === "**" && i !== segments.length - 1) throw new Error(`"${r.path}": ** must come last`);
      const m = /^\{(\w+)\}$/.exec(seg);
      if (m) params.push(m[1]!);
      else if (/[{}]/.test(seg) || (seg.includes("*") && seg !== "*" && seg !== "**"))
        throw new Error(`"${r.path}": a segment is a literal, *, ** or {name}`);
    });
    return {
      segments,
      read: r.read.map((c) => parseCondition(c, params, "read")),
      write: r.write.map((c) => parseCondition(c, params, "write")),
    };
  });
}

/** Parses the STORAGE_RULES string; empty means the default rules. */
export function parseStorageRules(json: string): CompiledRule[] {
  if (json.trim() === "") return compileRules(DEFAULT_STORAGE_RULES);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error("is not valid JSON");
  }
  return compileRules(value);
}

export type CompiledRules = ReturnType<typeof parseStorageRules>;

/** The parameters captured by `rule` for `key`, or null when it does not match. */
function match(rule: CompiledRule, key: string): Record<string, string> | null {
  const parts = key.split("/");
  const params: Record<string, string> = {};
  for (let i = 0; i < rule.segments.length; i++) {
    const seg = rule.segments[i]!;
    if (seg === "**") return parts.length > i ? params : null;
    const part = parts[i];
    if (part === undefined) return null;
    if (seg === "*") continue;
    if (seg.startsWith("{")) params[seg.slice(1, -1)] = part;
    else if (seg !== part) return null;
  }
  return parts.length === rule.segments.length ? params : null;
}

/**
 * Whether `caller` may `op` the file `key` (a normalised file key). "token" means: allowed only if
 * the request carries the file's token, which the caller of this function must check.
 */
export function decide(
  rules: CompiledRules,
  op: "read" | "write",
  key: string,
  caller: StorageCaller | null,
): Decision {
  for (const rule of rules) {
    const params = match(rule, key);
    if (!params) continue;
    let viaToken = false;
    for (const c of rule[op]) {
      if (c.kind === "public") return "allow";
      if (c.kind === "token") viaToken = true;
      else if (caller) {
        if (c.kind === "authenticated") return "allow";
        if (c.kind === "owner" && params[c.param] === caller.userId) return "allow";
        if (c.kind === "role" && caller.roles.includes(c.role)) return "allow";
      }
    }
    return viaToken ? "token" : "deny";
  }
  return "deny";
}

/**
 * Whether `key` names a directory in the rules rather than a file: no rule matches it, but it is a
 * leading part of some rule's pattern (`user/<id>` of `user/{userId}/**`). HBP answered a POST to
 * such a path (a directory without a file name) with 404: no upload route exists there.
 */
export function isDirectoryOnly(rules: CompiledRules, key: string): boolean {
  if (rules.some((rule) => match(rule, key))) return false;
  const parts = key.split("/");
  return rules.some(
    (rule) =>
      rule.segments.length > parts.length &&
      parts.every((part, i) => {
        const seg = rule.segments[i]!;
        return seg === "*" || seg === "**" || seg.startsWith("{") || seg === part;
      }),
  );
}

/** Whether anyone at all may read `key` (decides public vs private caching). */
export const isPublic = (rules: CompiledRules, key: string) => decide(rules, "read", key, null) === "allow";

/**
 * The user whose files `key` holds: the value of the owner parameter of the rule that decides
 * `key` (the first match), or null when that rule has no owner condition.
 */
export function ownerOf(rules: CompiledRules, key: string): string | null {
  for (const rule of rules) {
    const params = match(rule, key);
    if (!params) continue;
    const owner = [...rule.read, ...rule.write].find((c) => c.kind === "owner");
    return owner?.kind === "owner" ? (params[owner.param] ?? null) : null;
  }
  return null;
}

/**
 * Where `userId`'s files live under the rules: for every rule with an owner condition whose path
 * is literal up to the owner parameter, the directory that parameter names (`user/<id>/`), or the
 * exact key when it is the last segment. Rules with `*` or other parameters before it have no
 * such place and are skipped.
 */
export function ownedPaths(rules: CompiledRules, userId: string): { prefixes: string[]; keys: string[] } {
  const prefixes = new Set<string>();
  const keys = new Set<string>();
  for (const rule of rules) {
    for (const c of [...rule.read, ...rule.write]) {
      if (c.kind !== "owner") continue;
      const at = rule.segments.indexOf(`{${c.param}}`);
      const before = rule.segments.slice(0, at);
      if (before.some((s) => s.includes("*") || s.startsWith("{"))) continue;
      const path = [...before, userId].join("/");
      if (at === rule.segments.length - 1) keys.add(path);
      else prefixes.add(`${path}/`);
    }
  }
  return { prefixes: [...prefixes], keys: [...keys] };
}
