/**
 * D1 reports a unique-index violation as `UNIQUE constraint failed: <table>.<column>`; drizzle wraps
 * driver errors (the D1 message is then in `cause`). Stores use this to turn a lost race for a unique
 * value into a typed answer.
 */
export function isUniqueViolation(e: unknown, column?: string): boolean {
  for (let err = e, depth = 0; err instanceof Error && depth < 4; err = err.cause, depth++) {
    if (/UNIQUE constraint failed/.test(err.message) && (!column || err.message.includes(column)))
      return true;
  }
  return false;
}

/**
 * Whether an error says D1 or R2 could not be reached or could not answer now (network loss, an
 * overloaded or restarting primary, R2's "internal error, try again", a simulated fault), as opposed
 * to a statement the database refused (a constraint, bad SQL), which is a bug and stays a 500.
 * Dialects answer the former with 503 and Retry-After: the request ran whole statements and batches
 * only, so it can be repeated.
 */
export function isBackendUnavailable(e: unknown): boolean {
  for (let err = e, depth = 0; err instanceof Error && depth < 4; err = err.cause, depth++) {
    const m = err.message;
    if (/constraint failed|syntax error|no such (table|column)|SQLITE_MISMATCH/i.test(m)) return false;
    if (
      /D1_ERROR|D1_EXEC_ERROR|D1 DB|Network connection lost|overloaded|object to be reset|timed out/i.test(m)
    )
      return true;
  }
  return false;
}
