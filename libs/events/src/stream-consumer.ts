import { hostname } from 'node:os';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
} from '@opentelemetry/api';
import { backoffDelay, withDeadline, type Logger, type MetricsRegistry } from '@mrp/platform';
import type { Redis } from 'ioredis';
import { createConsumerMetrics, type ConsumerMetrics, type StreamSample } from './consumer-metrics.ts';
import { deadLetterFields } from './dead-letter.ts';
import type { EventEnvelope } from './envelope.ts';
import { createRedis, EVENT_FIELD, STREAM_MAX_LENGTH, STREAMS } from './streams.ts';
import {
  asString,
  decodeEntry,
  estimateLag,
  isNoGroupError,
  parseEntries,
  parsePendingCount,
  parsePendingEntries,
  parseReadReply,
  replyToRecord,
  type DeadLetterReason,
  type DecodedEntry,
  type StreamEntry,
} from './stream-replies.ts';

export type { DeadLetterReason } from './stream-replies.ts';

/** Where a delivered event came from, and how many times it has been delivered (1 on the first try). */
export interface DeliveryMeta {
  readonly stream: string;
  readonly entryId: string;
  readonly deliveries: number;
}

/**
 * Processes one event. It must be idempotent (deduplicate by `event.id`): delivery is at least once. The
 * message is acknowledged only after the returned promise resolves, so commit before resolving.
 */
export type EventHandler = (event: EventEnvelope, meta: DeliveryMeta) => Promise<void>;

/** One event of a batch, with where it came from. */
export interface Delivery {
  readonly event: EventEnvelope;
  readonly meta: DeliveryMeta;
}

/**
 * Processes the valid events of one read together (one statement, one commit), with the same contract as
 * `EventHandler` for each of them: idempotent, resolving only after they are committed. They are then
 * acknowledged together. When it fails with an error that is not transient, each event of the batch is
 * handed to `handle` on its own, so an event that cannot be processed costs only its own deliveries.
 */
export type BatchEventHandler = (deliveries: readonly Delivery[]) => Promise<void>;

export interface StreamConsumerOptions {
  /** A Redis URL, or a factory of connections; the consumer opens two (one blocks) and closes them on stop. */
  readonly redis: string | (() => Redis);
  readonly streams: readonly string[];
  readonly group: string;
  /** Unique among the group's consumers: the pod or host name plus the pid (`defaultConsumerName()`). */
  readonly consumer: string;
  readonly handle: EventHandler;
  /**
   * Optional: processes the valid events of a read in one call (see `BatchEventHandler`). Reclaimed
   * messages, and a batch that failed, still go through `handle` one at a time.
   */
  readonly handleBatch?: BatchEventHandler;
  readonly logger: Logger;
  /** Deliveries after which a message that still fails is dead-lettered (default 5). */
  readonly maxDeliveries?: number;
  /**
   * A message pending this long (ms) is reclaimed from whichever consumer holds it and retried (default
   * 30000). Must exceed the longest time the handler takes.
   */
  readonly claimIdleMs?: number;
  /** How often to look for idle pending messages (ms; default the smaller of claimIdleMs and 5000). */
  readonly claimIntervalMs?: number;
  /** How long one XREADGROUP blocks waiting for new messages (ms; default 2000). */
  readonly blockMs?: number;
  /** Messages read (and reclaimed) per stream per round (default 10). */
  readonly batchSize?: number;
  /**
   * How many messages of a read are handled at once (default 1: one after the other). Each is still
   * acknowledged only after its own handler resolved; a handler whose effects must follow the stream's
   * order (not just be idempotent) needs 1.
   */
  readonly concurrency?: number;
  /** Where unprocessable messages are parked (default `events:dead-letter`). */
  readonly deadLetterStream?: string;
  /**
   * Handler failures that say nothing about the message (its database is down): they are retried in
   * place with backoff, without using up a delivery, so an outage delays events instead of dead-lettering
   * them. Every other failure counts as a failed delivery.
   */
  readonly isTransient?: (error: unknown) => boolean;
  /** Registry for the consumer metrics; consumers sharing a registry share the metrics. */
  readonly registry?: MetricsRegistry;
  /** Longest `stop()` waits for the message in hand (ms; default 10000). */
  readonly stopTimeoutMs?: number;
  /** First and longest pause between retries while Redis or the handler's dependency is down (ms). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
}

type ResolvedOptions = Required<Omit<StreamConsumerOptions, 'registry' | 'redis' | 'handleBatch'>> & {
  readonly connect: () => Redis;
  readonly handleBatch: BatchEventHandler | undefined;
};

/** How handling ended: done, left pending because the consumer stopped, or failed with an error. */
type HandlerResult = { outcome: 'handled' | 'stopped' } | { outcome: 'failed'; error: unknown };

/** The entries' ids grouped by stream, in the order read: one XACK or XCLAIM per stream takes them all. */
function idsByStream(entries: readonly StreamEntry[]): Map<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (const entry of entries) {
    const ids = grouped.get(entry.stream) ?? [];
    ids.push(entry.id);
    grouped.set(entry.stream, ids);
  }
  return grouped;
}

/** `<host name>-<pid>`: unique per process, and the pod name in Kubernetes. */
export function defaultConsumerName(): string {
  return `${hostname()}-${process.pid}`;
}

/** The context of the trace that published the event (the root context when it carried none). */
function producerContext(event: EventEnvelope): Context {
  return event.traceparent
    ? propagation.extract(ROOT_CONTEXT, { traceparent: event.traceparent })
    : ROOT_CONTEXT;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const tracer = trace.getTracer('@mrp/events');

// A released message looks idle this long (ms), so the next reclaim by any consumer takes it at once.
const RELEASED_IDLE_MS = 365 * 24 * 3600 * 1000;
// How long past its BLOCK time a read may take before its connection is presumed dead (ms).
const READ_GRACE_MS = 10_000;
// Errors remembered per pending message, to report the last one when it is finally dead-lettered.
const MAX_REMEMBERED_ERRORS = 10_000;

/**
 * A consumer-group consumer over Redis Streams, at least once:
 *
 * - it creates each group (from the first entry, with MKSTREAM) and reads new messages with XREADGROUP
 *   on a connection of its own, calling the handler and acknowledging only after the handler resolved;
 * - a message that is not a valid event is poison: it goes to the dead-letter stream at once, with the
 *   reason and its raw payload, and is acknowledged, so it never blocks the others;
 * - a handler failure leaves the message pending; a periodic reclaim (XPENDING with IDLE, then XCLAIM)
 *   retries messages left idle by this or a dead consumer; once a message has been delivered
 *   `maxDeliveries` times it is dead-lettered with the last error;
 * - it survives Redis outages and a Redis that lost its streams (NOGROUP: the groups are created again),
 *   retrying with backoff and logging each problem once, not once per retry.
 */
export class StreamConsumer {
  readonly name: string;
  readonly #options: ResolvedOptions;
  readonly #metrics: ConsumerMetrics;
  readonly #log: Logger;
  readonly #lastErrors = new Map<string, string>();
  readonly #sampler = () => this.#sample();
  #reader: Redis | undefined;
  #commands: Redis | undefined;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #groupsReady = false;
  #ownPendingChecked = false;
  #nextClaimAt = 0;
  #attempt = 0;
  #problem: { kind: string; since: number } | undefined;

  constructor(options: StreamConsumerOptions) {
    if (options.streams.length === 0) throw new Error('a stream consumer needs at least one stream');
    const claimIdleMs = options.claimIdleMs ?? 30_000;
    const redis = options.redis;
    this.#options = {
      maxDeliveries: 5,
      blockMs: 2000,
      batchSize: 10,
      concurrency: 1,
      deadLetterStream: STREAMS.deadLetter,
      isTransient: () => false,
      stopTimeoutMs: 10_000,
      retryBaseMs: 100,
      retryMaxMs: 5000,
      ...options,
      handleBatch: options.handleBatch,
      claimIdleMs,
      claimIntervalMs: options.claimIntervalMs ?? Math.max(50, Math.min(claimIdleMs, 5000)),
      connect: typeof redis === 'string' ? () => createRedis(redis) : redis,
    };
    if (this.#options.streams.includes(this.#options.deadLetterStream))
      throw new Error('a stream consumer must not consume its own dead-letter stream');
    this.name = options.consumer;
    this.#metrics = createConsumerMetrics(options.registry);
    // Start every dead-letter series at 0: increase() ignores a series' first sample, so an alert on it
    // would otherwise miss the first dead letter of a stream.
    for (const stream of options.streams) {
      for (const reason of [
        'missing_event',
        'invalid_event',
        'max_deliveries',
      ] satisfies DeadLetterReason[]) {
        this.#metrics.deadLettered.inc({ stream, reason }, 0);
      }
    }
    this.#log = options.logger.child({
      component: 'stream-consumer',
      group: options.group,
      consumer: options.consumer,
    });
  }

  /** Whether the loop is running (between `start()` and `stop()`). */
  get running(): boolean {
    return this.#running;
  }

  /** Opens its connections and starts consuming in the background; Redis need not be up yet. */
  start(): void {
    if (this.#running) return;
    this.#reader = this.#connect();
    this.#commands = this.#connect();
    this.#running = true;
    this.#groupsReady = false;
    this.#ownPendingChecked = false;
    this.#nextClaimAt = 0;
    this.#metrics.samplers.add(this.#sampler);
    this.#log.info({ streams: this.#options.streams }, 'stream consumer started');
    this.#loop = this.#run();
  }

  /**
   * Stops gracefully: the message in hand is finished and acknowledged, messages read but not started are
   * released for other consumers, then the connections close. Waits at most `stopTimeoutMs`.
   */
  async stop(): Promise<void> {
    const loop = this.#loop;
    if (!loop) return;
    this.#running = false;
    this.#wake?.();
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      loop.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => {
          resolve(false);
        }, this.#options.stopTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!finished) this.#log.warn('stream consumer did not finish in time; closing its connections');
    this.#metrics.samplers.delete(this.#sampler);
    const connections = [this.#reader, this.#commands].filter((connection) => connection !== undefined);
    this.#reader = undefined;
    this.#commands = undefined;
    this.#loop = undefined;
    await Promise.all(
      connections.map(async (connection) => {
        if (!finished || connection.status !== 'ready') connection.disconnect();
        else
          await connection.quit().catch(() => {
            connection.disconnect();
          });
      }),
    );
    this.#log.info('stream consumer stopped');
  }

  #connect(): Redis {
    const connection = this.#options.connect();
    // ioredis reconnects by itself; its errors only feed the once-per-outage report.
    connection.on('error', (error: unknown) => {
      if (this.#running) this.#report('redis_unavailable', error);
    });
    return connection;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      try {
        await this.#round();
        this.#recovered();
      } catch (error) {
        if (this.#stopping()) break;
        if (isNoGroupError(error)) this.#groupsReady = false;
        this.#report(isNoGroupError(error) ? 'group_missing' : 'redis_unavailable', error);
        await this.#sleep(
          backoffDelay(this.#attempt, {
            baseDelayMs: this.#options.retryBaseMs,
            maxDelayMs: this.#options.retryMaxMs,
            jitter: 'equal',
          }),
        );
        this.#attempt += 1;
      }
    }
  }

  /** One round: make sure the groups exist, reclaim what is due, then read and handle new messages. */
  async #round(): Promise<void> {
    // A connection from a factory whose retry strategy gave up is replaced; createRedis never gives up.
    if (this.#reader?.status === 'end') this.#reader = this.#connect();
    if (this.#commands?.status === 'end') this.#commands = this.#connect();
    const reader = this.#reader!;
    await this.#ready(reader);
    await this.#ready(this.#commands!);
    if (!this.#groupsReady) {
      await this.#createGroups();
      this.#groupsReady = true;
    }
    if (!this.#ownPendingChecked) {
      // A previous process with this name may have left messages in hand.
      await this.#reclaim(0, true);
      this.#ownPendingChecked = true;
    }
    if (Date.now() >= this.#nextClaimAt) {
      const more = await this.#reclaim(this.#options.claimIdleMs, false);
      this.#nextClaimAt = more ? 0 : Date.now() + this.#options.claimIntervalMs;
    }
    if (this.#stopping()) return;
    const blockMs = Math.max(1, Math.min(this.#options.blockMs, this.#nextClaimAt - Date.now()));
    const { streams, group, batchSize } = this.#options;
    const read = reader.call('XREADGROUP', [
      'GROUP',
      group,
      this.name,
      'COUNT',
      batchSize,
      'BLOCK',
      blockMs,
      'STREAMS',
      ...streams,
      ...streams.map(() => '>'),
    ]);
    // A blocked read that outlives its BLOCK by far sits on a dead connection: drop it and reconnect.
    const limit = blockMs + READ_GRACE_MS;
    const reply = await withDeadline(read, limit, `no answer from Redis within ${limit} ms`, () => {
      reader.disconnect(true);
    });
    await this.#processAll(parseReadReply(reply));
  }

  /**
   * Handles the entries of one read, up to `concurrency` at a time, in the order read; once stopping, the
   * entries not started are released for another consumer. The first failure is thrown after the entries
   * in hand have settled.
   */
  async #processAll(entries: readonly StreamEntry[]): Promise<void> {
    if (this.#options.handleBatch && entries.length > 1) {
      await this.#processBatch(entries);
      return;
    }
    await this.#processEach(entries);
  }

  /** Handles entries one at a time each, up to `concurrency` at once (see `#processAll`). */
  async #processEach(entries: readonly StreamEntry[]): Promise<void> {
    let next = 0;
    const work = async (): Promise<void> => {
      while (next < entries.length && !this.#stopping()) {
        const entry = entries[next]!;
        next += 1;
        await this.#process(entry, 1);
      }
    };
    const workers = Math.max(1, Math.min(this.#options.concurrency, entries.length));
    const results = await Promise.allSettled(Array.from({ length: workers }, work));
    if (next < entries.length) await this.#release(entries.slice(next));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * Handles a read's entries with the batch handler: entries that are not valid events are acknowledged or
   * dead-lettered one by one as always, the valid ones go to the batch handler in one call and are then
   * acknowledged in one XACK per stream. A batch that fails (other than transiently) is handled again one
   * event at a time, so the events that can be stored are, and the others fail on their own.
   */
  async #processBatch(entries: readonly StreamEntry[]): Promise<void> {
    if (this.#stopping()) {
      await this.#release(entries);
      return;
    }
    const valid: { entry: StreamEntry; decoded: Extract<DecodedEntry, { kind: 'event' }> }[] = [];
    for (const entry of entries) {
      const decoded = entry.fields ? decodeEntry(entry.fields) : undefined;
      if (decoded?.kind === 'event') valid.push({ entry, decoded });
      else await this.#process(entry, 1);
    }
    if (valid.length === 0) return;
    // Each event keeps a consumer span in its producer's trace; the store itself runs in the first one's.
    const spans = valid.map(({ entry, decoded }) =>
      tracer.startSpan(
        `${entry.stream} process`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            ...this.#spanAttributes(entry.stream, decoded.event, 1),
            'messaging.batch.message_count': valid.length,
          },
        },
        producerContext(decoded.event),
      ),
    );
    const deliveries = valid.map(({ entry, decoded }) => ({
      event: decoded.event,
      meta: { stream: entry.stream, entryId: entry.id, deliveries: 1 },
    }));
    let result: HandlerResult;
    try {
      result = await context.with(trace.setSpan(context.active(), spans[0]!), () =>
        this.#retryWhileTransient(
          valid.map(({ entry }) => entry),
          () => this.#options.handleBatch!(deliveries),
        ),
      );
      if (result.outcome === 'failed') {
        const message = describeError(result.error);
        for (const span of spans) span.setStatus({ code: SpanStatusCode.ERROR, message });
      }
    } finally {
      for (const span of spans) span.end();
    }
    if (result.outcome === 'stopped') return;
    if (result.outcome === 'failed') {
      this.#log.warn(
        { err: result.error, events: valid.length },
        'storing a batch of events failed; handling them one by one',
      );
      await this.#processEach(valid.map(({ entry }) => entry));
      return;
    }
    for (const [stream, ids] of idsByStream(valid.map(({ entry }) => entry)))
      await this.#commands!.xack(stream, this.#options.group, ...ids);
    for (const { entry, decoded } of valid) {
      this.#lastErrors.delete(`${entry.stream} ${entry.id}`);
      this.#metrics.consumed.inc({ stream: entry.stream, type: decoded.event.type });
    }
  }

  /** Waits (briefly) for a connection to be usable, so a starting consumer does not report an outage. */
  async #ready(connection: Redis): Promise<void> {
    if (connection.status === 'ready') return;
    // A lazy connection from a factory connects on first use; commands alone would not connect it.
    if (connection.status === 'wait') connection.connect().catch(() => undefined);
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        connection.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, 2000);
      connection.once('ready', done);
    });
  }

  async #createGroups(): Promise<void> {
    for (const stream of this.#options.streams) {
      try {
        await this.#commands!.call('XGROUP', ['CREATE', stream, this.#options.group, '0', 'MKSTREAM']);
        this.#log.info({ stream }, 'consumer group created');
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw error;
      }
    }
  }

  /**
   * Claims pending messages idle at least `minIdleMs` (only this consumer's when `ownOnly`) and retries
   * or dead-letters them. Resolves whether a page was full, i.e. more may be waiting.
   */
  async #reclaim(minIdleMs: number, ownOnly: boolean): Promise<boolean> {
    const { streams, group, batchSize, maxDeliveries } = this.#options;
    const commands = this.#commands!;
    let more = false;
    for (const stream of streams) {
      if (this.#stopping()) break;
      const pending = parsePendingEntries(
        await commands.call('XPENDING', [
          stream,
          group,
          'IDLE',
          minIdleMs,
          '-',
          '+',
          batchSize,
          ...(ownOnly ? [this.name] : []),
        ]),
      );
      if (pending.length === batchSize) more = true;
      for (const message of pending) {
        if (this.#stopping()) break;
        // XCLAIM re-checks the idle time, so of several consumers reclaiming at once only one gets it; an
        // entry deleted from the stream is dropped from the pending list and not returned.
        const [entry] = parseEntries(
          stream,
          await commands.call('XCLAIM', [stream, group, this.name, minIdleMs, message.id]),
        );
        if (!entry) continue;
        if (message.deliveries >= maxDeliveries) {
          const key = `${stream} ${message.id}`;
          await this.#deadLetter(
            entry,
            'max_deliveries',
            this.#lastErrors.get(key) ??
              `not acknowledged after ${message.deliveries} deliveries (last held by ${message.consumer})`,
            entry.fields ? (entry.fields[EVENT_FIELD] ?? JSON.stringify(entry.fields)) : '',
            message.deliveries,
          );
          continue;
        }
        if (message.consumer !== this.name)
          this.#log.info(
            { stream, entry_id: message.id, from: message.consumer },
            'reclaimed an idle message',
          );
        await this.#process(entry, message.deliveries + 1);
      }
    }
    return more;
  }

  async #process(entry: StreamEntry, deliveries: number): Promise<void> {
    const { stream, id } = entry;
    const fields = entry.fields;
    if (!fields) {
      await this.#commands!.xack(stream, this.#options.group, id);
      return;
    }
    const decoded = decodeEntry(fields);
    if (decoded.kind === 'poison') {
      await this.#deadLetter(entry, decoded.reason, decoded.error, decoded.payload, deliveries);
      return;
    }
    // The handler runs in a consumer span whose parent is the producer's context, so the trace that
    // caused the event continues here. A no-op when tracing is off.
    await tracer.startActiveSpan(
      `${stream} process`,
      { kind: SpanKind.CONSUMER, attributes: this.#spanAttributes(stream, decoded.event, deliveries) },
      producerContext(decoded.event),
      async (span) => {
        try {
          await this.#handle(entry, decoded, deliveries);
        } catch (error) {
          span.recordException(error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  /** Runs the handler (retrying in place while its dependency is down), then acknowledges. */
  async #handle(
    entry: StreamEntry,
    decoded: Extract<DecodedEntry, { kind: 'event' }>,
    deliveries: number,
  ): Promise<void> {
    const { stream, id } = entry;
    const key = `${stream} ${id}`;
    const meta: DeliveryMeta = { stream, entryId: id, deliveries };
    const result = await this.#retryWhileTransient([entry], () => this.#options.handle(decoded.event, meta));
    if (result.outcome === 'stopped') return;
    if (result.outcome === 'failed') {
      this.#metrics.failed.inc({ stream });
      const message = describeError(result.error);
      trace.getActiveSpan()?.setStatus({ code: SpanStatusCode.ERROR, message });
      this.#log.warn(
        {
          err: result.error,
          stream,
          entry_id: id,
          event_id: decoded.event.id,
          deliveries,
          max_deliveries: this.#options.maxDeliveries,
        },
        'event handler failed; the message stays pending',
      );
      if (deliveries >= this.#options.maxDeliveries) {
        await this.#deadLetter(entry, 'max_deliveries', message, decoded.payload, deliveries);
      } else {
        this.#rememberError(key, message);
      }
      return;
    }
    await this.#commands!.xack(stream, this.#options.group, id);
    this.#lastErrors.delete(key);
    this.#metrics.consumed.inc({ stream, type: decoded.event.type });
  }

  /**
   * Runs `work`, retrying it in place with backoff while it fails transiently (its dependency is down),
   * without using up a delivery. Resolves 'handled' once it succeeded, 'failed' with its first error that is
   * not transient, or 'stopped' when the consumer stopped meanwhile (the messages stay pending: released by
   * stop(), reclaimed by another consumer or by our next life). Redis errors are thrown.
   */
  async #retryWhileTransient(
    entries: readonly StreamEntry[],
    work: () => Promise<void>,
  ): Promise<HandlerResult> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await work();
        return { outcome: 'handled' };
      } catch (error) {
        if (!this.#options.isTransient(error)) return { outcome: 'failed', error };
        for (const stream of new Set(entries.map((entry) => entry.stream)))
          this.#metrics.failed.inc({ stream });
        this.#report('handler_dependency_unavailable', error);
      }
      await this.#sleep(
        backoffDelay(attempt, {
          baseDelayMs: this.#options.retryBaseMs,
          maxDelayMs: Math.min(this.#options.retryMaxMs, this.#options.claimIdleMs / 2),
          jitter: 'equal',
        }),
      );
      if (this.#stopping()) return { outcome: 'stopped' };
      // Keeps the messages ours without counting a delivery, so no other consumer reclaims them meanwhile.
      for (const [stream, ids] of idsByStream(entries))
        await this.#commands!.call('XCLAIM', [stream, this.#options.group, this.name, 0, ...ids, 'JUSTID']);
    }
  }

  #spanAttributes(stream: string, event: EventEnvelope, deliveries: number): Attributes {
    return {
      'messaging.system': 'redis',
      'messaging.operation.type': 'process',
      'messaging.destination.name': stream,
      'messaging.consumer.group.name': this.#options.group,
      'messaging.message.id': event.id,
      'mrp.event.type': event.type,
      'mrp.event.deliveries': deliveries,
    };
  }

  /** Parks a message in the dead-letter stream and acknowledges it, atomically. */
  async #deadLetter(
    entry: StreamEntry,
    reason: DeadLetterReason,
    error: string,
    payload: string,
    deliveries: number,
  ): Promise<void> {
    const { group, deadLetterStream } = this.#options;
    const fields = deadLetterFields({
      stream: entry.stream,
      entryId: entry.id,
      group,
      consumer: this.name,
      reason,
      error,
      deliveries,
      payload,
      failedAt: new Date(),
    });
    const results = await this.#commands!.multi()
      .xadd(deadLetterStream, 'MAXLEN', '~', STREAM_MAX_LENGTH, '*', ...fields)
      .xack(entry.stream, group, entry.id)
      .exec();
    const failed = results?.find(([failure]) => failure);
    if (!results || failed) throw failed?.[0] ?? new Error('the dead-letter transaction was discarded');
    this.#lastErrors.delete(`${entry.stream} ${entry.id}`);
    this.#metrics.deadLettered.inc({ stream: entry.stream, reason });
    this.#log.warn(
      {
        stream: entry.stream,
        entry_id: entry.id,
        reason,
        error,
        deliveries,
        dead_letter_stream: deadLetterStream,
      },
      'message dead-lettered',
    );
  }

  /** Makes messages read but not started look long idle, so any consumer's next reclaim takes them. */
  async #release(entries: readonly StreamEntry[]): Promise<void> {
    for (const entry of entries) {
      await this.#commands!.call('XCLAIM', [
        entry.stream,
        this.#options.group,
        this.name,
        0,
        entry.id,
        'IDLE',
        RELEASED_IDLE_MS,
        'JUSTID',
      ]).catch(() => undefined);
    }
  }

  #rememberError(key: string, message: string): void {
    this.#lastErrors.delete(key);
    this.#lastErrors.set(key, message);
    if (this.#lastErrors.size > MAX_REMEMBERED_ERRORS) {
      const oldest = this.#lastErrors.keys().next().value;
      if (oldest !== undefined) this.#lastErrors.delete(oldest);
    }
  }

  /** Logs a problem once per outage: again only when it changes kind or after a recovery. */
  #report(kind: string, error: unknown): void {
    if (this.#problem?.kind === kind) return;
    const messages: Record<string, string> = {
      redis_unavailable: 'Redis is unavailable; retrying with backoff',
      group_missing: 'a stream or consumer group is gone (Redis lost its data?); creating them again',
      handler_dependency_unavailable:
        "the handler's dependency is unavailable; retrying the message in place",
    };
    this.#log.warn({ err: error, problem: kind }, messages[kind] ?? 'stream consumer problem; retrying');
    this.#problem = { kind, since: this.#problem?.since ?? Date.now() };
  }

  #recovered(): void {
    this.#attempt = 0;
    if (!this.#problem) return;
    this.#log.info(
      { problem: this.#problem.kind, down_ms: Date.now() - this.#problem.since },
      'stream consumer recovered',
    );
    this.#problem = undefined;
  }

  // A method, not a field read, so the checks after each await are not narrowed away.
  #stopping(): boolean {
    return !this.#running;
  }

  async #sleep(ms: number): Promise<void> {
    if (!this.#running) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }

  /** Pending count and lag of each stream, for the gauges. */
  async #sample(): Promise<StreamSample[]> {
    const commands = this.#commands;
    if (!commands || commands.status !== 'ready') return [];
    const { group } = this.#options;
    return Promise.all(
      this.#options.streams.map(async (stream): Promise<StreamSample> => {
        try {
          const pending = parsePendingCount(await commands.call('XPENDING', [stream, group]));
          const groups = (await commands.call('XINFO', ['GROUPS', stream])) as unknown[];
          const info = groups.map(replyToRecord).find((candidate) => asString(candidate.name) === group);
          if (!info) return { stream, pending };
          let lag = estimateLag(info);
          if (lag === undefined)
            lag = estimateLag(info, replyToRecord(await commands.call('XINFO', ['STREAM', stream])));
          return lag === undefined ? { stream, pending } : { stream, pending, lag };
        } catch {
          return { stream };
        }
      }),
    );
  }
}
