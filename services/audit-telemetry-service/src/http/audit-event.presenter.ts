import type { AuditEvent, AuditEventType } from '@mrp/schemas';
import type { AuditEventRecord } from '../data/audit-event.repository.ts';

/** The public shape of an audit event: a whitelist of its fields. */
export function presentAuditEvent(event: AuditEventRecord): AuditEvent {
  return {
    id: event.eventId,
    type: event.type as AuditEventType,
    version: event.version,
    source: event.source,
    subject: event.subject,
    actor: event.actor,
    request_id: event.requestId,
    traceparent: event.traceparent,
    occurred_at: event.occurredAt.toISOString(),
    received_at: event.receivedAt.toISOString(),
    stream: event.stream,
    stream_entry_id: event.streamEntryId,
    data: event.data,
  };
}
