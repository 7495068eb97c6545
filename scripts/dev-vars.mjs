// The development settings, in one place: `npm run dev`, the vitest pool, the e2e suites and the
// bench all start the Worker with these on top of the production-shaped wrangler.toml.
export const DEFAULT_DEV_PORT = 8787;

/** Variables that turn the production configuration into a local development one. */
export function developmentVars(publicUrl) {
  return {
    ENVIRONMENT: "development",
    PUBLIC_URL: publicUrl,
    MAIL_TRANSPORT: "outbox",
  };
}
