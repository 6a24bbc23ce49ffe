/**
 * The keyset cursor's codec, pure: the list endpoints' `cursor` is the JSON Schema format `keyset-cursor`
 * (registry.ts), so a cursor this API could not have issued is refused by validation, as the published
 * schema says, and never reaches a query.
 */

/** Where a keyset page starts: after the row with this timestamp (as Postgres prints timestamptz) and id. */
export interface KeysetPosition {
  readonly timestamp: string;
  readonly id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PG_TIMESTAMPTZ =
  /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?[+-](\d{2})(?::(\d{2}))?$/;

/**
 * Whether a string is a timestamptz exactly as Postgres prints it, with every field in range (month 13,
 * February 30 or hour 99 pass a naive pattern, then fail in SQL).
 */
export function isPostgresTimestamp(value: string): boolean {
  const match = PG_TIMESTAMPTZ.exec(value);
  if (!match) return false;
  // Optional groups are undefined at run time whatever the array's type says.
  const fields = match.slice(1).map((part: string | undefined) => Number(part ?? 0));
  const [
    year = 0,
    month = 0,
    day = 0,
    hour = 0,
    minute = 0,
    second = 0,
    ,
    offsetHours = 0,
    offsetMinutes = 0,
  ] = fields;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return (
    year >= 1 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHours <= 15 &&
    offsetMinutes <= 59
  );
}

/** An opaque cursor: base64url of the last row's position. */
export function encodeKeysetCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.timestamp, position.id])).toString('base64url');
}

/** The position a cursor holds, or undefined when it is not one this API could have issued. */
export function parseKeysetCursor(cursor: string): KeysetPosition | undefined {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (
    Array.isArray(decoded) &&
    decoded.length === 2 &&
    typeof decoded[0] === 'string' &&
    typeof decoded[1] === 'string' &&
    isPostgresTimestamp(decoded[0]) &&
    UUID.test(decoded[1])
  )
    return { timestamp: decoded[0], id: decoded[1] };
  return undefined;
}
