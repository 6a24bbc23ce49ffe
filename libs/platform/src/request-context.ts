import { randomUUID } from 'node:crypto';
import type { Logger } from './logger.ts';
import type { Principal } from './auth.ts';
import type { ValidatedInput } from '@mrp/schemas';

/** What every request carries through the middleware chain. */
export interface AppState<Input = ValidatedInput> {
  requestId: string;
  log: Logger;
  principal?: Principal;
  input: Input;
}

// A client-sent request ID is kept only when it is safe to log and to echo back.
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** Keeps Envoy's (or the caller's) `X-Request-Id` when it is well formed, otherwise makes a new one. */
export function resolveRequestId(header: string | undefined): string {
  return header && SAFE_REQUEST_ID.test(header) ? header : randomUUID();
}
