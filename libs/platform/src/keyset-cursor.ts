import {
  isPostgresTimestamp,
  parseKeysetCursor,
  encodeKeysetCursor,
  type KeysetPosition,
} from '@mrp/schemas';
import { errors } from './errors.ts';

export { encodeKeysetCursor, isPostgresTimestamp, type KeysetPosition };

/**
 * Decodes a cursor this API issued; anything else is a 400 `invalid_cursor`, never a query error. Request
 * validation already refuses such a cursor (format `keyset-cursor`); this is for callers that skip it.
 */
export function decodeKeysetCursor(cursor: string): KeysetPosition {
  const position = parseKeysetCursor(cursor);
  if (position) return position;
  throw errors.invalid('invalid_cursor', 'the cursor is not one this API issued');
}
