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

/** The hosted sign-in pages (src/pages PAGE_PATHS), under PAGES_PREFIX; the route test checks the list. */
const PAGE_PATHS = ["/login", "/register", "/reset-password", "/verify", "/account"];

/**
 * The `run_worker_first` patterns: every path the Worker answers goes to it, everything else to
 * the SPA's files (and unknown paths to its index.html). A pattern `/x/*` does not match `/x`
 * itself, so each prefix is listed both ways. `vars` are the Worker's variables (HANKO_PREFIX,
 * DIRECTUS_PREFIX, PAGES_PREFIX; empty or absent: their defaults).
 */
export function workerFirstPatterns(vars = {}) {
  // Under a prefix the dialect keeps two root paths the 0.12 SDK builds from the origin: its
  // /thirdparty/auth (a redirect) and the SAML routes.
  const hanko = vars.HANKO_PREFIX ? [vars.HANKO_PREFIX, "/thirdparty/auth", "/saml"] : HANKO_ROOT_PATHS;
  const pages = PAGE_PATHS.map((p) => `${vars.PAGES_PREFIX ?? ""}${p}`);
  const prefixes = [
    "/auth", // hbp
    "/storage", // hbp
    "/health",
    vars.DIRECTUS_PREFIX || "/directus",
    "/api", // formauth (/api/auth) and vault (/api/...)
    "/v1", // Latchkey's own API
    ...hanko,
    ...pages,
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
