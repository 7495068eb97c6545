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
