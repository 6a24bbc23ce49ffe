import { createEvent, type NewEvent } from '@mrp/events';
import { backoffDelay, waitAtMost, type Logger } from '@mrp/platform';
import { Counter, Gauge, type Metric } from 'prom-client';

export interface ScoreEventPublisherOptions {
  /** Delivers one event's JSON (to the stream); rejects when it could not. It must settle in bounded time. */
  readonly deliver: (eventJson: string) => Promise<unknown>;
  /** Most events waiting in memory; when full the oldest waiting event is dropped. */
  readonly capacity: number;
  readonly logger: Logger;
  /** Retry delays grow from `initialMs` to `maxMs` (doubling, with jitter) while deliveries fail. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
}

interface QueuedEvent {
  readonly id: string;
  readonly json: string;
}

/**
 * Publishes score events without ever failing or slowing the request that produced them. scoring-service
 * has no database for an outbox, so events wait in a bounded in-memory queue that one background loop
 * drains in order, retrying with backoff while Redis is down. When the queue is full the oldest event is
 * dropped (a newer score of a case supersedes an older one), logged and counted; shutdown delivers what
 * it can within a deadline. At-least-once on the happy path, best effort across an outage longer than
 * the queue holds or a crash: consumers deduplicate by event id.
 */
export class ScoreEventPublisher {
  readonly #options: ScoreEventPublisherOptions;
  readonly #queue: QueuedEvent[] = [];
  #inFlight: QueuedEvent | undefined;
  #failuresInARow = 0;
  #loop: Promise<void> | undefined;
  #stopped = false;
  /** Wakes the loop when it is idle (a new event) or backing off (`retryNow`, shutdown). */
  #wakeIdle: (() => void) | undefined;
  #wakeBackoff: (() => void) | undefined;
  #drainWaiters: (() => void)[] = [];

  readonly queued: Gauge;
  readonly published = new Counter({
    name: 'scoring_events_published_total',
    help: 'Score events appended to the stream.',
    registers: [],
  });
  readonly failedAttempts = new Counter({
    name: 'scoring_events_publish_failures_total',
    help: 'Attempts to append a score event that failed (each retry counts).',
    registers: [],
  });
  readonly dropped = new Counter({
    name: 'scoring_events_dropped_total',
    help: 'Score events given up: queue overflow, still queued at shutdown, or invalid.',
    labelNames: ['reason'] as const,
    registers: [],
  });

  constructor(options: ScoreEventPublisherOptions) {
    this.#options = options;
    const pending = () => this.pending;
    this.queued = new Gauge({
      name: 'scoring_events_queued',
      help: 'Score events waiting to be appended to the stream.',
      registers: [],
      collect() {
        this.set(pending());
      },
    });
    for (const reason of ['overflow', 'shutdown', 'invalid'] as const) this.dropped.inc({ reason }, 0);
  }

  /** The metrics to register on the service's registry. */
  get metrics(): readonly Metric[] {
    return [this.queued, this.published, this.failedAttempts, this.dropped];
  }

  /** Events not yet delivered, the one being delivered included. */
  get pending(): number {
    return this.#queue.length + (this.#inFlight ? 1 : 0);
  }

  /** Starts the background loop. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Builds, validates and queues an event; returns at once and never throws. An event that fails its
   * contract is a bug: it is logged and counted, and the caller's answer is unaffected.
   */
  publish(event: NewEvent): void {
    if (this.#stopped) {
      this.dropped.inc({ reason: 'shutdown' });
      this.#options.logger.error({ event_type: event.type }, 'score event dropped: the publisher is closed');
      return;
    }
    let queued: QueuedEvent;
    try {
      const envelope = createEvent(event);
      queued = { id: envelope.id, json: JSON.stringify(envelope) };
    } catch (error) {
      this.dropped.inc({ reason: 'invalid' });
      this.#options.logger.error({ err: error, event_type: event.type }, 'score event dropped: invalid');
      return;
    }
    this.#queue.push(queued);
    this.#trimToCapacity();
    this.#wakeIdle?.();
  }

  /** Retries at once instead of waiting out the backoff (called when the Redis connection is back). */
  retryNow(): void {
    this.#wakeBackoff?.();
  }

  /**
   * Keeps delivering until the queue is empty or `timeoutMs` has passed, then stops the loop; whatever
   * is left is counted as dropped at shutdown.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.pending > 0) {
      this.retryNow();
      await waitAtMost(new Promise<void>((resolve) => this.#drainWaiters.push(resolve)), timeoutMs);
    }
    this.#stopped = true;
    this.#wakeIdle?.();
    this.#wakeBackoff?.();
    await this.#loop;
    const left = this.#queue.length;
    if (left > 0) {
      this.dropped.inc({ reason: 'shutdown' }, left);
      this.#options.logger.error({ events: left }, 'score events still queued at shutdown were dropped');
      this.#queue.length = 0;
    }
  }

  #trimToCapacity(): void {
    while (this.#queue.length > this.#options.capacity) {
      const oldest = this.#queue.shift()!;
      this.dropped.inc({ reason: 'overflow' });
      this.#options.logger.warn(
        { event_id: oldest.id, capacity: this.#options.capacity },
        'score event queue full: oldest event dropped',
      );
    }
  }

  #backoffMs(): number {
    const { initialMs, maxMs } = this.#options.backoff ?? { initialMs: 100, maxMs: 5000 };
    // Equal jitter: replicas that lost Redis together do not retry in lockstep, and none spins.
    return backoffDelay(this.#failuresInARow - 1, {
      baseDelayMs: initialMs,
      maxDelayMs: maxMs,
      jitter: 'equal',
    });
  }

  /** Waits out a backoff delay, unless the publisher is stopping or `retryNow` cuts it short. */
  async #pause(ms: number): Promise<void> {
    if (this.#stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wakeBackoff = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wakeBackoff = undefined;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const next = this.#queue.shift();
      if (!next) {
        for (const resolve of this.#drainWaiters.splice(0)) resolve();
        await new Promise<void>((resolve) => {
          this.#wakeIdle = resolve;
        });
        this.#wakeIdle = undefined;
        continue;
      }
      this.#inFlight = next;
      try {
        await this.#options.deliver(next.json);
        this.#inFlight = undefined;
        this.published.inc();
        if (this.#failuresInARow > 0) {
          this.#options.logger.info(
            { failed_attempts: this.#failuresInARow, queued: this.pending },
            'score events are being delivered again',
          );
        }
        this.#failuresInARow = 0;
      } catch (error) {
        this.#inFlight = undefined;
        this.#queue.unshift(next);
        this.#trimToCapacity();
        this.failedAttempts.inc();
        this.#failuresInARow += 1;
        const fields = { err: error, queued: this.pending, failed_attempts: this.#failuresInARow };
        if (this.#failuresInARow === 1) this.#options.logger.warn(fields, 'score event delivery failing');
        else this.#options.logger.debug(fields, 'score event delivery failed again');
        await this.#pause(this.#backoffMs());
      }
    }
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }
}
