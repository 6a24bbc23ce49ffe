/** Postgres errors classified: the SQLSTATEs the repositories map, and what means "unavailable". */

/** Postgres SQLSTATE codes the repositories turn into domain errors. */
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_FOREIGN_KEY_VIOLATION = '23503';

/** SQLSTATE class 22, data exceptions (a timestamp out of range, a bad number): matched as a prefix. */
export const PG_DATA_EXCEPTION_CLASS = '22';

/** Whether `error` is a Postgres error with this SQLSTATE, or in this class when given two characters. */
export function isPgError(error: unknown, code: string): error is { code: string; constraint?: string } {
  if (typeof error !== 'object' || error === null) return false;
  const actual = (error as { code?: unknown }).code;
  if (typeof actual !== 'string' || !/^[0-9A-Z]{5}$/.test(actual)) return false;
  return code.length === 2 ? actual.startsWith(code) : actual === code;
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  // canceled by statement_timeout: the database is too slow to answer now
  '57014',
]);

/**
 * Whether an error means the database could not be reached (refused, dropped, timed out, shutting
 * down) rather than that a query was wrong: such failures are answered with 503, not 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  return (
    typeof message === 'string' &&
    /timeout exceeded when trying to connect|Connection terminated|connection timeout|Query read timeout/i.test(
      message,
    )
  );
}
