import type { Pool } from '@mrp/platform';

/** An audit event as the domain sees it. */
export interface AuditEventRecord {
  eventId: string;
  type: string;
  version: number;
  source: string;
  subject: string;
  actor: string | null;
  requestId: string | null;
  traceparent: string | null;
  occurredAt: Date;
  receivedAt: Date;
  stream: string;
  streamEntryId: string;
  data: Record<string, unknown>;
  /** occurred_at with full (microsecond) precision, for keyset cursors. */
  occurredAtKey: string;
}

export type NewAuditEvent = Omit<AuditEventRecord, 'receivedAt' | 'occurredAt' | 'occurredAtKey'> & {
  /** The envelope's time, as sent (ISO 8601). */
  occurredAt: string;
};

/** Every filter is optional; those given must all match. */
export interface AuditFilter {
  type?: string | undefined;
  subject?: string | undefined;
  actor?: string | undefined;
  source?: string | undefined;
  /** ISO 8601 instants, inclusive. */
  since?: string | undefined;
  until?: string | undefined;
}

/** Where a page starts: strictly older than this (occurred_at, event_id). */
export interface PagePosition {
  occurredAtKey: string;
  eventId: string;
}

interface Row {
  event_id: string;
  type: string;
  version: number;
  source: string;
  subject: string;
  actor: string | null;
  request_id: string | null;
  traceparent: string | null;
  occurred_at: Date;
  received_at: Date;
  stream: string;
  stream_entry_id: string;
  data: Record<string, unknown>;
  occurred_at_key: string;
}

const COLUMNS = `event_id, type, version, source, subject, actor, request_id, traceparent, occurred_at,
  received_at, stream, stream_entry_id, data, occurred_at::text AS occurred_at_key`;

function toRecord(row: Row): AuditEventRecord {
  return {
    eventId: row.event_id,
    type: row.type,
    version: row.version,
    source: row.source,
    subject: row.subject,
    actor: row.actor,
    requestId: row.request_id,
    traceparent: row.traceparent,
    occurredAt: row.occurred_at,
    receivedAt: row.received_at,
    stream: row.stream,
    streamEntryId: row.stream_entry_id,
    data: row.data,
    occurredAtKey: row.occurred_at_key,
  };
}

/** Data access for the audit log: plain objects in and out. */
export class AuditEventRepository {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** Stores an event unless one with its id is stored already; resolves whether it inserted. */
  async insertIfAbsent(event: NewAuditEvent): Promise<boolean> {
    const { rowCount } = await this.#pool.query(
      `INSERT INTO audit_events (event_id, type, version, source, subject, actor, request_id, traceparent,
         occurred_at, stream, stream_entry_id, data)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (event_id) DO NOTHING`,
      [
        event.eventId,
        event.type,
        event.version,
        event.source,
        event.subject,
        event.actor,
        event.requestId,
        event.traceparent,
        event.occurredAt,
        event.stream,
        event.streamEntryId,
        JSON.stringify(event.data),
      ],
    );
    return rowCount === 1;
  }

  /**
   * Stores several events in one statement (one commit), each unless one with its id is stored already
   * (also when the same event is twice in `events`); resolves how many it inserted. One event Postgres
   * refuses fails the whole statement, and nothing of it is stored.
   */
  async insertManyIfAbsent(events: readonly NewAuditEvent[]): Promise<number> {
    const column = <T>(value: (event: NewAuditEvent) => T): T[] => events.map(value);
    const { rowCount } = await this.#pool.query({
      // Named: prepared once per connection, the same text whatever the batch's size.
      name: 'audit-insert-many',
      text: `INSERT INTO audit_events (event_id, type, version, source, subject, actor, request_id, traceparent,
         occurred_at, stream, stream_entry_id, data)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::text[],
         $7::text[], $8::text[], $9::timestamptz[], $10::text[], $11::text[], $12::jsonb[])
       ON CONFLICT (event_id) DO NOTHING`,
      values: [
        column((event) => event.eventId),
        column((event) => event.type),
        column((event) => event.version),
        column((event) => event.source),
        column((event) => event.subject),
        column((event) => event.actor),
        column((event) => event.requestId),
        column((event) => event.traceparent),
        column((event) => event.occurredAt),
        column((event) => event.stream),
        column((event) => event.streamEntryId),
        column((event) => JSON.stringify(event.data)),
      ],
    });
    return rowCount ?? 0;
  }

  async findById(eventId: string): Promise<AuditEventRecord | undefined> {
    const { rows } = await this.#pool.query<Row>(`SELECT ${COLUMNS} FROM audit_events WHERE event_id = $1`, [
      eventId,
    ]);
    return rows[0] && toRecord(rows[0]);
  }

  /** Up to `limit` events matching `filter`, older than `before`, newest first. */
  async page(
    filter: AuditFilter,
    limit: number,
    before: PagePosition | undefined,
  ): Promise<AuditEventRecord[]> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    const where = (sql: (placeholder: string) => string, value: unknown) => {
      values.push(value);
      conditions.push(sql(`$${values.length}`));
    };
    if (filter.type !== undefined) where((p) => `type = ${p}`, filter.type);
    if (filter.subject !== undefined) where((p) => `subject = ${p}`, filter.subject);
    if (filter.actor !== undefined) where((p) => `actor = ${p}`, filter.actor);
    if (filter.source !== undefined) where((p) => `source = ${p}`, filter.source);
    if (filter.since !== undefined) where((p) => `occurred_at >= ${p}::timestamptz`, filter.since);
    if (filter.until !== undefined) where((p) => `occurred_at <= ${p}::timestamptz`, filter.until);
    if (before) {
      values.push(before.occurredAtKey, before.eventId);
      conditions.push(
        `(occurred_at, event_id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`,
      );
    }
    values.push(limit);
    const { rows } = await this.#pool.query<Row>(
      `SELECT ${COLUMNS} FROM audit_events
       ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
       ORDER BY occurred_at DESC, event_id DESC LIMIT $${values.length}`,
      values,
    );
    return rows.map(toRecord);
  }
}
