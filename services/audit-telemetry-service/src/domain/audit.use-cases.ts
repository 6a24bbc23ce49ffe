import { decodeKeysetCursor, encodeKeysetCursor, errors, type FieldError } from '@mrp/platform';
import type { EventEnvelope } from '@mrp/events';
import type { AuditQuery } from '@mrp/schemas';
import {
  type AuditEventRecord,
  type AuditEventRepository,
  type AuditFilter,
  type NewAuditEvent,
  type PagePosition,
} from '../data/audit-event.repository.ts';

/** Opaque page cursors: the platform's keyset cursor over (occurred_at, event_id). */
export function encodeCursor(position: PagePosition): string {
  return encodeKeysetCursor({ timestamp: position.occurredAtKey, id: position.eventId });
}

export function decodeCursor(cursor: string): PagePosition {
  const { timestamp, id } = decodeKeysetCursor(cursor);
  return { occurredAtKey: timestamp, eventId: id };
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Milliseconds since the epoch of an RFC 3339 date-time that passed the `date-time` format, counting a
 * leap second (:60) as the next second the way Postgres does; undefined for the one format-valid value
 * Postgres refuses (year 0000).
 */
export function parseInstant(value: string): number | undefined {
  const match = DATE_TIME.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction = '', zone = 'Z'] = match;
  if (Number(year) === 0) return undefined;
  const leap = second === '60' ? 1000 : 0;
  const normalised = `${year}-${month}-${day}T${hour}:${minute}:${leap ? '59' : second}${fraction.slice(0, 4)}${zone.toUpperCase()}`;
  const ms = Date.parse(normalised);
  return Number.isNaN(ms) ? undefined : ms + leap;
}

/** The filters of a list query, checked for what the schema cannot say; throws a 400 listing every problem. */
export function assertFilter(query: AuditQuery): AuditFilter {
  const problems: FieldError[] = [];
  const problem = (name: string, message: string) =>
    problems.push({ in: 'query', pointer: `/${name}`, message });
  if (query.case_id !== undefined && query.subject !== undefined)
    problem('case_id', 'give subject or case_id (shorthand for subject=case:<id>), not both');
  const since = query.since === undefined ? undefined : parseInstant(query.since);
  const until = query.until === undefined ? undefined : parseInstant(query.until);
  if (query.since !== undefined && since === undefined)
    problem('since', 'is not a date-time that can be stored');
  if (query.until !== undefined && until === undefined)
    problem('until', 'is not a date-time that can be stored');
  if (since !== undefined && until !== undefined && since > until)
    problem('until', 'must not be before since');
  if (problems.length > 0) throw errors.badRequest('the query parameters do not fit together', problems);
  return {
    type: query.type,
    subject: query.case_id === undefined ? query.subject : `case:${query.case_id.toLowerCase()}`,
    actor: query.actor,
    source: query.source,
    since: query.since,
    until: query.until,
  };
}

/** Where an event was read from: its stream and entry id. */
export interface EventOrigin {
  readonly stream: string;
  readonly entryId: string;
}

function toNewAuditEvent(event: EventEnvelope, origin: EventOrigin): NewAuditEvent {
  return {
    eventId: event.id,
    type: event.type,
    version: event.version,
    source: event.source,
    subject: event.subject,
    actor: event.actor,
    requestId: event.request_id,
    traceparent: event.traceparent,
    occurredAt: event.time,
    stream: origin.stream,
    streamEntryId: origin.entryId,
    data: event.data,
  };
}

/** The use cases of the audit log, in the words of the spec. */
export class AuditUseCases {
  readonly #events: AuditEventRepository;

  constructor(events: AuditEventRepository) {
    this.#events = events;
  }

  /** Stores an event once, whatever how often it is delivered; resolves whether it was new. */
  async recordEvent(event: EventEnvelope, origin: EventOrigin): Promise<boolean> {
    return this.#events.insertIfAbsent(toNewAuditEvent(event, origin));
  }

  /**
   * Stores several events at once (one commit), each once; resolves how many were new. If one of them
   * cannot be stored, none is.
   */
  async recordEvents(events: readonly { event: EventEnvelope; origin: EventOrigin }[]): Promise<number> {
    return this.#events.insertManyIfAbsent(events.map(({ event, origin }) => toNewAuditEvent(event, origin)));
  }

  /** A page of matching events, newest first. */
  async listEvents(query: AuditQuery): Promise<{ events: AuditEventRecord[]; nextCursor: string | null }> {
    const filter = assertFilter(query);
    const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    // One extra row tells whether another page exists.
    const rows = await this.#events.page(filter, query.limit + 1, before);
    const events = rows.slice(0, query.limit);
    const last = events.at(-1);
    return { events, nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null };
  }

  async getEvent(id: string): Promise<AuditEventRecord> {
    const event = await this.#events.findById(id);
    if (!event) throw errors.notFound(`no audit event with id ${id}`);
    return event;
  }
}
