import { randomUUID } from 'node:crypto';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import {
  getValidator,
  type EventEnvelope as EventEnvelopeContract,
  type RequestFieldError,
} from '@mrp/schemas';

/** Every event type, the version of its data schema, and the contract its data must match. */
export const EVENT_TYPES = {
  case_created: { version: 1, dataSchema: 'CaseCreatedData' },
  case_updated: { version: 1, dataSchema: 'CaseUpdatedData' },
  score_updated: { version: 1, dataSchema: 'ScoreUpdatedData' },
  score_pending: { version: 1, dataSchema: 'ScorePendingData' },
} as const satisfies Record<EventEnvelopeContract['type'], unknown>;

export type EventType = keyof typeof EVENT_TYPES;

/**
 * The common envelope of every event: the EventEnvelope contract's type (libs/schemas/json/events, generated),
 * with `type` narrowed to one event type.
 */
export type EventEnvelope<T extends EventType = EventType> = Omit<EventEnvelopeContract, 'type'> & {
  type: T;
};

export interface NewEvent<T extends EventType = EventType> {
  readonly type: T;
  readonly source: string;
  readonly subject: string;
  readonly data: Record<string, unknown>;
  readonly requestId?: string | null | undefined;
  readonly actor?: string | null | undefined;
  readonly traceparent?: string | null | undefined;
}

/** Raised when an event does not match the envelope or its type's data contract. */
export class InvalidEventError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid event: ${problems.join('; ')}`);
    this.name = 'InvalidEventError';
    this.problems = problems;
  }
}

function problems(schema: string, value: unknown, prefix: string): string[] {
  const validate = getValidator(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map(
    (error) => `${prefix}${error.instancePath || '/'} ${error.message ?? 'is invalid'}`,
  );
}

/** Checks an envelope and its data; throws InvalidEventError listing every problem. */
export function assertValidEnvelope(value: unknown): asserts value is EventEnvelope {
  const found = problems('EventEnvelope', value, 'envelope');
  if (found.length === 0) {
    const envelope = value as EventEnvelope;
    const spec = EVENT_TYPES[envelope.type];
    if (envelope.version !== spec.version)
      found.push(`${envelope.type} version ${envelope.version} is not supported`);
    else found.push(...problems(spec.dataSchema, envelope.data, 'data'));
  }
  if (found.length > 0) throw new InvalidEventError(found);
}

/**
 * The W3C `traceparent` (`00-<trace id>-<span id>-<flags>`) of the active span, or null when there is none
 * (tracing off, or no span around the caller).
 */
export function activeTraceparent(): string | null {
  const span = trace.getActiveSpan();
  if (!span) return null;
  const context = span.spanContext();
  if (!isSpanContextValid(context)) return null;
  return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * Builds and validates a new event: a fresh id, the type's current version, the time now, and the caller's
 * trace context (`traceparent` as passed, else the active span's) so consumers continue the trace.
 */
export function createEvent<T extends EventType>(event: NewEvent<T>): EventEnvelope<T> {
  const envelope: EventEnvelope<T> = {
    id: randomUUID(),
    type: event.type,
    version: EVENT_TYPES[event.type].version,
    source: event.source,
    subject: event.subject,
    time: new Date().toISOString(),
    request_id: event.requestId ?? null,
    actor: event.actor ?? null,
    traceparent: event.traceparent ?? activeTraceparent(),
    data: event.data,
  };
  assertValidEnvelope(envelope);
  return envelope;
}

/** Parses an event as read from a stream (JSON text); throws InvalidEventError when it is not a valid event. */
export function parseEvent(raw: string): EventEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new InvalidEventError(['not JSON']);
  }
  assertValidEnvelope(value);
  return value;
}

export type { RequestFieldError };
