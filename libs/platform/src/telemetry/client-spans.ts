import { tracingChannel } from 'node:diagnostics_channel';
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import pg from 'pg';

/**
 * Client spans for the platform's calls to Postgres and Redis, made by the platform itself rather than by
 * OpenTelemetry's pg and ioredis instrumentations (ADR 0030). A span is made only inside a recording span
 * (a sampled request or event): background polls start no trace, and an unsampled request costs one check
 * per statement, not the instrumentations' attribute building, query cloning and non-recording spans.
 */

/** Whether the active span records, i.e. whether a client span made now would be kept. */
export function isRecording(): boolean {
  return trace.getSpan(context.active())?.isRecording() ?? false;
}

/** Ends a client span, as failed when `error` is given (with its code, such as a SQLSTATE, as error.type). */
export function endClientSpan(span: Span, error?: unknown): void {
  if (error !== undefined && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') span.setAttribute('error.type', code);
    else span.setAttribute('error.type', error instanceof Error ? error.name : 'unknown');
    if (error instanceof Error) span.recordException(error);
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : JSON.stringify(error),
    });
  }
  span.end();
}

// The tracers are looked up when a span is made (only inside a recording span), not at load: a tracer
// taken from the API before a provider is registered stays bound to the first provider ever registered.
const PG_SCOPE = '@mrp/platform/pg';
const REDIS_SCOPE = '@mrp/platform/ioredis';

// The statement's first keyword (SELECT, INSERT, BEGIN, ...), for the span's name.
const OPERATION = /^\s*([A-Za-z]+)/;

type QueryCallback = (error: Error | null, result: unknown) => void;
type Query = (this: pg.Client, ...args: unknown[]) => unknown;

/**
 * A pg Client whose statements are client spans when they run inside a recording span: named
 * `<operation> <database>` (`SELECT mrp_case`), with the statement's text (its parameters are not
 * recorded), the database, the server's address and port, and on failure the SQLSTATE as error.type.
 * Statements written as `Submittable`s (cursors, streams) and config objects with their own callback are
 * passed through untraced. Pass it as a Pool's `Client`.
 */
export class TracedPgClient extends pg.Client {
  static {
    const query = Reflect.get(pg.Client.prototype, 'query') as Query;
    // Replaces the overloaded method on the prototype: an override in the class body would have to
    // restate every overload of pg's types.
    Object.defineProperty(TracedPgClient.prototype, 'query', {
      configurable: true,
      writable: true,
      value: function tracedQuery(this: pg.Client, ...args: unknown[]): unknown {
        const first = args[0] as
          { text?: unknown; submit?: unknown; callback?: unknown } | string | undefined;
        const text = typeof first === 'string' ? first : first?.text;
        if (
          typeof text !== 'string' ||
          (typeof first === 'object' &&
            (typeof first.submit === 'function' || first.callback !== undefined)) ||
          !isRecording()
        )
          return query.apply(this, args);
        const operation = OPERATION.exec(text)?.[1]?.toUpperCase();
        const database = this.database;
        const attributes: Attributes = {
          'db.system.name': 'postgresql',
          'db.query.text': text,
          'server.address': this.host,
          'server.port': this.port,
        };
        if (operation) attributes['db.operation.name'] = operation;
        if (database) attributes['db.namespace'] = database;
        const span = trace
          .getTracer(PG_SCOPE)
          .startSpan([operation, database].filter(Boolean).join(' ') || 'postgresql', {
            kind: SpanKind.CLIENT,
            attributes,
          });
        const last = args.at(-1);
        if (typeof last === 'function') {
          const callback = last as QueryCallback;
          args[args.length - 1] = context.bind(context.active(), (error: Error | null, result: unknown) => {
            endClientSpan(span, error);
            callback(error, result);
          });
          return query.apply(this, args);
        }
        return (query.apply(this, args) as Promise<unknown>).then(
          (result) => {
            endClientSpan(span);
            return result;
          },
          (error: unknown) => {
            endClientSpan(span, error);
            throw error;
          },
        );
      },
    });
  }
}

/** What ioredis publishes on its `ioredis:command` tracing channel (ioredis 6), and the span kept on it. */
interface RedisCommandMessage {
  readonly command: string;
  /** Arguments as ioredis sanitised them: values it does not know to be safe are `?`. */
  readonly args?: readonly string[];
  readonly database?: number | string;
  readonly serverAddress?: string;
  readonly serverPort?: number;
  error?: unknown;
  span?: Span;
}

/**
 * Makes each Redis command issued inside a recording span a client span, named after the command
 * (`XADD`), with the command and its sanitised arguments as db.query.text, the database index and the
 * server. It subscribes to the tracing channel ioredis publishes every command on; returns the
 * unsubscribe.
 */
export function traceRedisCommands(): () => void {
  const channel = tracingChannel<string, RedisCommandMessage>('ioredis:command');
  const subscribers = {
    start(message: RedisCommandMessage) {
      if (!isRecording()) return;
      const operation = message.command.toUpperCase();
      const attributes: Attributes = {
        'db.system.name': 'redis',
        'db.operation.name': operation,
        'db.query.text': [operation, ...(message.args ?? [])].join(' '),
      };
      if (message.database !== undefined) attributes['db.namespace'] = String(message.database);
      if (message.serverAddress !== undefined) attributes['server.address'] = message.serverAddress;
      if (message.serverPort !== undefined) attributes['server.port'] = message.serverPort;
      message.span = trace.getTracer(REDIS_SCOPE).startSpan(operation, { kind: SpanKind.CLIENT, attributes });
    },
    asyncEnd(message: RedisCommandMessage) {
      if (message.span) endClientSpan(message.span, message.error);
    },
  };
  channel.subscribe(subscribers as Parameters<typeof channel.subscribe>[0]);
  return () => {
    channel.unsubscribe(subscribers as Parameters<typeof channel.unsubscribe>[0]);
  };
}
