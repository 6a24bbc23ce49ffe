import {
  withTransaction,
  type Logger,
  type Pool,
  type PoolClient,
  type MetricsRegistry,
} from '@mrp/platform';
import type { Redis } from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import { assertValidEnvelope, type EventEnvelope } from './envelope.ts';
import { EVENT_FIELD, STREAM_MAX_LENGTH } from './streams.ts';

/**
 * The outbox table every producing service creates in its own migrations (same shape everywhere):
 *
 *   CREATE TABLE outbox (
 *     id bigserial PRIMARY KEY,             -- publication order
 *     event_id uuid NOT NULL UNIQUE,
 *     stream text NOT NULL,
 *     aggregate_id text NOT NULL,           -- events of one aggregate are published in order
 *     payload jsonb NOT NULL,               -- the validated envelope
 *     created_at timestamptz NOT NULL DEFAULT now(),
 *     published_at timestamptz
 *   );
 *   CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
 */

/** The values of an outbox row, in column order (event_id, stream, aggregate_id, payload). */
export type OutboxRow = readonly [eventId: string, stream: string, aggregateId: string, payload: string];

/**
 * An event as the values of its outbox row, validated: for a statement that writes the row together with
 * the change it records (an INSERT ... SELECT in a CTE), where enqueueEvent would cost a round trip.
 */
export function outboxRow(stream: string, aggregateId: string, event: EventEnvelope): OutboxRow {
  assertValidEnvelope(event);
  return [event.id, stream, aggregateId, JSON.stringify(event)];
}

/** Writes an event to the outbox inside the caller's transaction, so it exists exactly when the change does. */
export async function enqueueEvent(
  client: PoolClient,
  stream: string,
  aggregateId: string,
  event: EventEnvelope,
): Promise<void> {
  await enqueueRow(client, outboxRow(stream, aggregateId, event));
}

/** Writes an outbox row (from outboxRow) inside the caller's transaction. */
export async function enqueueRow(client: PoolClient, row: OutboxRow): Promise<void> {
  await client.query({
    name: 'outbox_enqueue',
    text: 'INSERT INTO outbox (event_id, stream, aggregate_id, payload) VALUES ($1, $2, $3, $4)',
    values: [...row],
  });
}

export interface OutboxRelayOptions {
  readonly pool: Pool;
  readonly redis: Redis;
  readonly logger: Logger;
  /** Names this producer's marker key in Redis (e.g. the service name). */
  readonly source: string;
  readonly batchSize?: number;
  /** Pause between polls when the outbox is empty or Redis is down (ms). */
  readonly idleMs?: number;
  /**
   * After a nudge, how long the relay waits before its next cycle (ms), so that the events of requests
   * committing at about the same time go out in one batch: a cycle costs four Postgres round trips and
   * one to Redis whether it carries one event or a hundred.
   */
  readonly coalesceMs?: number;
  /** When Redis has lost its data, events published this recently are published again (hours). */
  readonly replayWindowHours?: number;
  /** Published rows older than this are deleted (hours). */
  readonly retentionHours?: number;
  readonly registry?: MetricsRegistry;
}

// Two-key advisory locks of the relay live in this class so they never collide with other locks.
const RELAY_LOCK_CLASS = 4_242;

/**
 * Publishes the outbox to Redis Streams, at least once and in order per aggregate. Several replicas can
 * run it: a batch is claimed with row locks (`FOR UPDATE SKIP LOCKED`) plus a transaction-scoped advisory
 * lock per aggregate, so one aggregate's events are only ever in one relay's hands, oldest first. Rows are
 * marked published in the same transaction, after Redis accepted them; if Redis is down nothing is marked
 * and the batch is retried. A Redis that comes back empty (restart without persistence) is detected by a
 * missing marker key, and recently published events are published again; consumers deduplicate by id.
 */
export class OutboxRelay {
  readonly #options: Required<Omit<OutboxRelayOptions, 'registry'>>;
  readonly #published: Counter;
  readonly #failures: Counter;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** Shortens the pause in progress to `coalesceMs` (once per pause). */
  #hurry: (() => void) | undefined;
  /** A nudge arrived since the current cycle began. */
  #nudged = false;
  #failing = false;
  #lastCleanup = 0;

  constructor(options: OutboxRelayOptions) {
    this.#options = {
      batchSize: 100,
      idleMs: 200,
      coalesceMs: 10,
      replayWindowHours: 24,
      retentionHours: 168,
      ...options,
    };
    const registers = options.registry ? [options.registry] : [];
    this.#published = new Counter({
      name: 'outbox_published_total',
      help: 'Outbox events published to Redis Streams.',
      registers,
    });
    this.#failures = new Counter({
      name: 'outbox_publish_failures_total',
      help: 'Relay cycles that failed (Redis or Postgres unavailable).',
      registers,
    });
    const pool = options.pool;
    new Gauge({
      name: 'outbox_backlog',
      help: 'Outbox events not yet published.',
      registers,
      async collect() {
        const { rows } = await pool.query<{ count: string }>(
          'SELECT count(*) FROM outbox WHERE published_at IS NULL',
        );
        this.set(Number(rows[0]?.count ?? 0));
      },
    });
    new Gauge({
      name: 'outbox_oldest_unpublished_age_seconds',
      help: 'Age of the oldest unpublished outbox event (0 when none).',
      registers,
      async collect() {
        const { rows } = await pool.query<{ age: number | null }>(
          'SELECT extract(epoch FROM now() - min(created_at))::float8 AS age FROM outbox WHERE published_at IS NULL',
        );
        this.set(rows[0]?.age ?? 0);
      },
    });
  }

  get #markerKey(): string {
    return `outbox:marker:${this.#options.source}`;
  }

  /** Publishes one batch; resolves with how many events it published. */
  async relayOnce(): Promise<number> {
    await this.#replayIfRedisLostData();
    const published = await withTransaction(this.#options.pool, async (client) => {
      const { rows } = await client.query<{ id: string; stream: string; payload: string }>(
        `SELECT id, stream, payload::text AS payload FROM outbox
          WHERE published_at IS NULL AND pg_try_advisory_xact_lock($2, hashtext(aggregate_id))
          ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.#options.batchSize, RELAY_LOCK_CLASS],
      );
      if (rows.length === 0) return 0;
      const pipeline = this.#options.redis.pipeline();
      for (const row of rows)
        pipeline.xadd(row.stream, 'MAXLEN', '~', STREAM_MAX_LENGTH, '*', EVENT_FIELD, row.payload);
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([error]) => error);
      if (failed || results.length !== rows.length)
        throw failed?.[0] ?? new Error('Redis answered a partial pipeline');
      await client.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])', [
        rows.map((row) => row.id),
      ]);
      return rows.length;
    });
    this.#published.inc(published);
    return published;
  }

  /** If the marker is gone, Redis lost its data: unmark recent events so they are published again. */
  async #replayIfRedisLostData(): Promise<void> {
    const redis = this.#options.redis;
    if ((await redis.exists(this.#markerKey)) === 1) return;
    const { rowCount } = await this.#options.pool.query(
      `UPDATE outbox SET published_at = NULL
        WHERE published_at IS NOT NULL AND published_at > now() - make_interval(hours => $1)`,
      [this.#options.replayWindowHours],
    );
    await redis.set(this.#markerKey, new Date().toISOString());
    if (rowCount)
      this.#options.logger.warn(
        { events: rowCount },
        'Redis lost its streams: publishing recent events again',
      );
  }

  async #cleanup(): Promise<void> {
    if (Date.now() - this.#lastCleanup < 60_000) return;
    this.#lastCleanup = Date.now();
    await this.#options.pool.query(
      'DELETE FROM outbox WHERE published_at < now() - make_interval(hours => $1)',
      [this.#options.retentionHours],
    );
  }

  /** Whether the loop should go on (a getter, so checks after an await read the current value). */
  get isRunning(): boolean {
    return this.#running;
  }

  /** Starts the background loop. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /**
   * Publishes soon (within `coalesceMs`) instead of at the next poll: called after a commit that wrote
   * events. Nudges during a cycle or a pause that is already short change nothing more.
   */
  nudge(): void {
    this.#nudged = true;
    this.#hurry?.();
  }

  async #run(): Promise<void> {
    await this.#redisReady(3000);
    while (this.#running) {
      let published = 0;
      this.#nudged = false;
      try {
        published = await this.relayOnce();
        await this.#cleanup();
        if (this.#failing) this.#options.logger.info('outbox relay recovered');
        this.#failing = false;
      } catch (error) {
        this.#failures.inc();
        if (!this.#failing) this.#options.logger.warn({ err: error }, 'outbox relay failed; retrying');
        this.#failing = true;
      }
      if (published < this.#options.batchSize && this.isRunning) await this.#pause();
    }
  }

  /** The pause between cycles: `idleMs` (five times that while failing), cut short by a nudge. */
  async #pause(): Promise<void> {
    const { idleMs, coalesceMs } = this.#options;
    const pause = this.#failing ? idleMs * 5 : idleMs;
    await new Promise<void>((resolve) => {
      let timer = setTimeout(resolve, this.#nudged ? Math.min(coalesceMs, pause) : pause);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#hurry = this.#nudged
        ? undefined
        : () => {
            this.#hurry = undefined;
            clearTimeout(timer);
            timer = setTimeout(resolve, Math.min(coalesceMs, pause));
          };
    });
    this.#wake = undefined;
    this.#hurry = undefined;
  }

  /** Waits (bounded) for the first Redis connection, so a normal start does not log a failed cycle. */
  async #redisReady(timeoutMs: number): Promise<void> {
    const redis = this.#options.redis;
    if (redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Stops after the batch in hand. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
  }
}
