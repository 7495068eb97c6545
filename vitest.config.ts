import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { developmentVars } from "./scripts/dev-vars.mjs";

export default defineConfig({
  plugins: [
    cloudflareTest(async () => ({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        // wrangler.toml is the production configuration: tests run on the development settings,
        // as ENVIRONMENT=test (no /_dev routes, development key fallbacks still allowed).
        bindings: {
          ...developmentVars("http://localhost:8787"),
          ENVIRONMENT: "test",
          TEST_MIGRATIONS: await readD1Migrations("./migrations"),
        },
      },
    })),
  ],
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    isolate: false,
    setupFiles: ["./test/setup.ts"],
    testTimeout: 30_000,
    // Every request writes one JSON log line (src/dialects/shared/log.ts); test/observability.test.ts
    // reads them itself, the rest of the suite does not need them on its output.
    onConsoleLog: (log) => !log.startsWith('{"msg":"request"'),
    hookTimeout: 30_000,
  },
});
