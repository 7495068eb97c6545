// Which paths `wrangler dev` sends to the Worker before the SPA's static files (scripts/spa.mjs).
// No imports: test/spa-routes.test.ts loads it inside workerd.

/**
 * The Hanko dialect's root paths (src/dialects/hanko HANKO_PATHS) without "/" itself, which is the
 * SPA's. test/spa-routes.test.ts checks this list against the dialect's routes.
 */
const HANKO_ROOT_PATHS = [
  "/me",
  "/logout",
  "/user",
  "/users",
  "/emails",
  "/passcode",
  "/password",
  "/webauthn",
  "/thirdparty",
  "/token",
  "/saml",
  "/.well-known",
];

/**
 * The `run_worker_first` patterns: every path the Worker answers goes to it, everything else to
 * the SPA's files (and unknown paths to its index.html). A pattern `/x/*` does not match `/x`
 * itself, so each prefix is listed both ways. `vars` are the Worker's variables (HANKO_PREFIX,
 * DIRECTUS_PREFIX; empty or absent: their defaults).
 */
export function workerFirstPatterns(vars = {}) {
  // Under a prefix the dialect keeps one root path: the 0.12 SDK's /thirdparty/auth (a redirect).
  const hanko = vars.HANKO_PREFIX ? [vars.HANKO_PREFIX, "/thirdparty/auth"] : HANKO_ROOT_PATHS;
  const prefixes = [
    "/auth", // hbp
    "/storage", // hbp
    "/health",
    vars.DIRECTUS_PREFIX || "/directus",
    "/api", // formauth (/api/auth) and vault (/api/...)
    "/v1", // Latchkey's own API
    ...hanko,
    "/_dev", // development routes (404 unless ENVIRONMENT=development)
  ];
  return prefixes.flatMap((p) => [p, `${p}/*`]);
}

/**
 * Whether a `run_worker_first` pattern list sends `path` to the Worker, as Cloudflare reads it:
 * `*` matches any run of characters, `/`s included; a pattern starting with `!` excludes.
 */
export function runsWorkerFirst(patterns, path) {
  const re = (p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
  const excluded = patterns.filter((p) => p.startsWith("!")).some((p) => re(p.slice(1)).test(path));
  return !excluded && patterns.filter((p) => !p.startsWith("!")).some((p) => re(p).test(path));
}
