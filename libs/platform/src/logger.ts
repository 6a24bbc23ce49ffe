import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { activeTraceFields } from './tracing.ts';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly serviceName: string;
  readonly level?: LevelWithSilent;
  /** Where JSON lines go; stdout by default. Tests pass a stream to read what a request logged. */
  readonly destination?: DestinationStream;
}

/** Keys whose values never reach a log line, at any depth, whatever their case. */
export const REDACTED_KEYS: ReadonlySet<string> = new Set([
  'password',
  'password_hash',
  'passwordhash',
  'client_secret',
  'secret',
  'access_token',
  'refresh_token',
  'id_token',
  'token',
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
]);
const CENSOR = '[redacted]';

/**
 * `value` with every redacted key's value replaced, at any depth (plain objects and arrays; ten levels at
 * most). Returns `value` itself when there is nothing to redact, so a clean log line costs a walk and no
 * copy.
 */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (depth > 10 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const items = value as readonly unknown[];
    let copy: unknown[] | undefined;
    items.forEach((item, index) => {
      const redacted = redactDeep(item, depth + 1);
      if (redacted !== item) (copy ??= [...items])[index] = redacted;
    });
    return copy ?? value;
  }
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const redacted = REDACTED_KEYS.has(key.toLowerCase()) ? CENSOR : redactDeep(item, depth + 1);
    if (redacted !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = redacted;
  }
  return copy ?? value;
}

/**
 * JSON logs, one line per event, with `service_name` on every line; request handlers log through a
 * child that adds `request_id`. A line written while a span is active carries its `trace_id` and `span_id`
 * (nothing when tracing is off). Field names are snake_case so they read the same in every log store.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service_name: options.serviceName },
      messageKey: 'message',
      mixin: activeTraceFields,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        // Secrets, tokens, cookies and authorization headers, at any depth (REDACTED_KEYS).
        log: (object) => redactDeep(object) as Record<string, unknown>,
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
