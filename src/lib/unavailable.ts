/**
 * Whether an error says D1 or R2 could not answer now (D1's `D1_ERROR: Network connection lost`, an
 * overloaded or restarting database, R2's "internal error, try again", a simulated fault of the
 * development meter), as opposed to a statement the database refused (a constraint, bad SQL), which
 * is a bug and stays a 500. Dialects answer the former with 503 and Retry-After: the request ran
 * whole statements and batches only, so it can be repeated. Other outside services (a mail API)
 * keep their own handling.
 */
export function isBackendUnavailable(e: unknown): boolean {
  for (let err = e, depth = 0; err instanceof Error && depth < 4; err = err.cause, depth++) {
    const m = err.message;
    if (/constraint failed|syntax error|no such (table|column)|SQLITE_MISMATCH/i.test(m)) return false;
    if (/D1_ERROR|D1_EXEC_ERROR|D1 DB is overloaded/.test(m)) return true;
    if (/^R2 operation failed|We encountered an internal error\. Please try again|\(10001\)/.test(m))
      return true;
  }
  return false;
}
