import { Redis, type RedisOptions } from 'ioredis';

/**
 * The Redis Streams of the platform: one per producing service, plus the dead-letter stream where
 * consumers park messages they cannot process.
 */
export const STREAMS = {
  case: 'events:case',
  scoring: 'events:scoring',
  deadLetter: 'events:dead-letter',
} as const;

/** The field of a stream entry that holds the event's JSON. */
export const EVENT_FIELD = 'event';

/** Streams are trimmed (approximately) to this many entries; consumers are far behind long before. */
export const STREAM_MAX_LENGTH = 1_000_000;

/**
 * A Redis client that fails fast while Redis is down instead of queueing commands in memory: callers
 * (the outbox relay, consumers) have their own retry loops and must see the failure.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
    ...options,
  });
}

/** Appends an event (already validated) to a stream; resolves with the entry id. */
export async function appendEvent(redis: Redis, stream: string, eventJson: string): Promise<string> {
  const id = await redis.xadd(stream, 'MAXLEN', '~', STREAM_MAX_LENGTH, '*', EVENT_FIELD, eventJson);
  if (!id) throw new Error(`XADD to ${stream} returned no id`);
  return id;
}
