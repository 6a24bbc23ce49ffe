import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { activeTraceFields } from './tracing.ts';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly serviceName: string;
  readonly level?: LevelWithSilent;
  /** Where JSON lines go; stdout by default. Tests pass a stream to read what a request logged. */
  readonly destination?: DestinationStream;
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
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          'password',
          '*.password',
          'req.headers.authorization',
          'headers.authorization',
          'password_hash',
        ],
        censor: '[redacted]',
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
