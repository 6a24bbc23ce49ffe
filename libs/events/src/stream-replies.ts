/**
 * Redis Stream replies as plain values (XREADGROUP, XAUTOCLAIM, XPENDING, XINFO GROUPS), and a stream
 * entry as an event or as poison: pure functions, tested without Redis.
 */
import { InvalidEventError, parseEvent, type EventEnvelope } from './envelope.ts';
import { EVENT_FIELD } from './streams.ts';

/** A stream entry as read: `fields` is null when the entry no longer exists. */
export interface StreamEntry {
  readonly stream: string;
  readonly id: string;
  readonly fields: Readonly<Record<string, string>> | null;
}

/** A pending message as XPENDING (extended form) describes it. */
export interface PendingEntry {
  readonly id: string;
  readonly consumer: string;
  readonly idleMs: number;
  readonly deliveries: number;
}

export type DeadLetterReason = 'missing_event' | 'invalid_event' | 'max_deliveries';

export type DecodedEntry =
  | { readonly kind: 'event'; readonly event: EventEnvelope; readonly payload: string }
  | {
      readonly kind: 'poison';
      readonly reason: DeadLetterReason;
      readonly error: string;
      readonly payload: string;
    };

export const asString = (value: unknown): string =>
  typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : String(value);

/** `[k1, v1, k2, v2]` (RESP2 and ioredis' legacy RESP3 mapping) or a plain object, as a record. */
export function replyToRecord(reply: unknown): Record<string, unknown> {
  if (Array.isArray(reply)) {
    const record: Record<string, unknown> = {};
    for (let index = 0; index + 1 < reply.length; index += 2)
      record[asString(reply[index])] = reply[index + 1];
    return record;
  }
  if (reply instanceof Map)
    return Object.fromEntries([...reply].map(([key, value]) => [asString(key), value]));
  if (typeof reply === 'object' && reply !== null) return { ...(reply as Record<string, unknown>) };
  return {};
}

/** Entries of one stream (`[[id, [field, value, ...]], ...]`), as returned by XRANGE, XCLAIM and XREADGROUP. */
export function parseEntries(stream: string, entries: unknown): StreamEntry[] {
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((entry: unknown) => {
    if (!Array.isArray(entry) || entry.length < 2) return [];
    const fields = entry[1] === null ? null : replyToRecord(entry[1]);
    return [
      {
        stream,
        id: asString(entry[0]),
        fields:
          fields && Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, asString(value)])),
      },
    ];
  });
}

/**
 * The entries of an XREADGROUP reply, whatever the protocol's shape: RESP2 `[[stream, entries], ...]`,
 * RESP3 as a flat `[stream, entries, ...]` map (ioredis' legacy mapping) or as an object; null when the
 * block timed out.
 */
export function parseReadReply(reply: unknown): StreamEntry[] {
  if (reply === null || reply === undefined) return [];
  if (
    Array.isArray(reply) &&
    reply.every((item) => Array.isArray(item) && item.length === 2 && !Array.isArray(item[0]))
  ) {
    return reply.flatMap((item) => parseEntries(asString((item as unknown[])[0]), (item as unknown[])[1]));
  }
  return Object.entries(replyToRecord(reply)).flatMap(([stream, entries]) => parseEntries(stream, entries));
}

/** The extended XPENDING reply: `[[id, consumer, idle ms, deliveries], ...]`. */
export function parsePendingEntries(reply: unknown): PendingEntry[] {
  if (!Array.isArray(reply)) return [];
  return reply.flatMap((item: unknown) => {
    if (!Array.isArray(item) || item.length < 4) return [];
    return [
      {
        id: asString(item[0]),
        consumer: asString(item[1]),
        idleMs: Number(item[2]),
        deliveries: Number(item[3]),
      },
    ];
  });
}

/** The count of the summary XPENDING reply `[count, smallest id, greatest id, consumers]`. */
export function parsePendingCount(reply: unknown): number {
  return Array.isArray(reply) ? Number(reply[0] ?? 0) : 0;
}

/**
 * How far the group is behind the end of the stream: the `lag` XINFO GROUPS reports (Redis >= 7), or,
 * when Redis cannot tell (it answers null after deletions), entries added to the stream minus entries the
 * group has read. Undefined when neither is known.
 */
export function estimateLag(
  group: Readonly<Record<string, unknown>>,
  stream: Readonly<Record<string, unknown>> = {},
): number | undefined {
  const lag = group.lag;
  if (typeof lag === 'number' || (typeof lag === 'string' && /^\d+$/.test(lag))) return Number(lag);
  const read = group['entries-read'];
  const added = stream['entries-added'];
  if (
    (typeof read === 'number' || typeof read === 'string') &&
    (typeof added === 'number' || typeof added === 'string')
  ) {
    const estimate = Number(added) - Number(read);
    if (Number.isFinite(estimate)) return Math.max(0, estimate);
  }
  return undefined;
}

/** Turns an entry into an event, or says why it is poison (no event field, or not a valid event). */
export function decodeEntry(fields: Readonly<Record<string, string>>): DecodedEntry {
  const raw = fields[EVENT_FIELD];
  if (raw === undefined) {
    return {
      kind: 'poison',
      reason: 'missing_event',
      error: `the entry has no "${EVENT_FIELD}" field`,
      payload: JSON.stringify(fields),
    };
  }
  try {
    return { kind: 'event', event: parseEvent(raw), payload: raw };
  } catch (error) {
    const message =
      error instanceof InvalidEventError
        ? error.message
        : error instanceof Error
          ? error.message
          : String(error);
    return { kind: 'poison', reason: 'invalid_event', error: message, payload: raw };
  }
}

/** Redis answers NOGROUP when the stream or the group is gone (deleted, or Redis lost its data). */
export function isNoGroupError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOGROUP');
}
