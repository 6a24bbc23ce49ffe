import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createLogger, createMetricsRegistry, type Logger } from '@mrp/platform';
import {
  appendEvent,
  createEvent,
  createRedis,
  EVENT_FIELD,
  type EventEnvelope,
  type Redis,
} from '../src/index.ts';
import { deadLetterFields } from '../src/dead-letter.ts';
import {
  StreamConsumer,
  type Delivery,
  type DeliveryMeta,
  type StreamConsumerOptions,
} from '../src/stream-consumer.ts';
import {
  decodeEntry,
  estimateLag,
  isNoGroupError,
  parsePendingCount,
  parsePendingEntries,
  parseReadReply,
  replyToRecord,
} from '../src/stream-replies.ts';
import { eventually as poll } from '@mrp/platform/testing';

/** The shared poll, at this suite's pace. */
const eventually = (check: () => Promise<void> | void) => poll(check, 100, 100);

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function buildEvent(): EventEnvelope {
  return createEvent({
    type: 'score_pending',
    source: 'case-service',
    subject: `case:${randomUUID()}`,
    data: { case_id: randomUUID(), reason: 'scoring unavailable' },
  });
}

/** Keeps every JSON line logged, to check what (and how often) the consumer reported. */
class Lines {
  readonly lines: Record<string, unknown>[] = [];
  write(chunk: string): void {
    for (const line of chunk.split('\n'))
      if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
  }
}

describe('StreamConsumer: pure parts', () => {
  it('reads XREADGROUP replies in the RESP2 shape, the flat RESP3 shape and as an object', () => {
    const entries = [['1-0', ['event', '{}']]];
    const expected = [{ stream: 's', id: '1-0', fields: { event: '{}' } }];
    expect(parseReadReply([['s', entries]])).to.deep.equal(expected);
    expect(parseReadReply(['s', entries])).to.deep.equal(expected);
    expect(parseReadReply({ s: entries })).to.deep.equal(expected);
    expect(parseReadReply(null)).to.deep.equal([]);
    expect(parseReadReply(['a', [['1-0', ['x', '1']]], 'b', [['2-0', ['y', '2']]]])).to.deep.equal([
      { stream: 'a', id: '1-0', fields: { x: '1' } },
      { stream: 'b', id: '2-0', fields: { y: '2' } },
    ]);
  });

  it('reads XPENDING replies, summary and extended', () => {
    expect(parsePendingEntries([['1-0', 'c1', 170, 2]])).to.deep.equal([
      { id: '1-0', consumer: 'c1', idleMs: 170, deliveries: 2 },
    ]);
    expect(parsePendingCount([3, '1-0', '3-0', [['c1', '3']]])).to.equal(3);
    expect(parsePendingCount([0, null, null, null])).to.equal(0);
  });

  it('turns flat map replies into records', () => {
    expect(replyToRecord(['name', 'g', 'lag', 2])).to.deep.equal({ name: 'g', lag: 2 });
    expect(replyToRecord({ name: 'g' })).to.deep.equal({ name: 'g' });
  });

  it("takes the group's lag from XINFO when Redis knows it, else estimates it from entries read", () => {
    expect(estimateLag({ lag: 4, 'entries-read': 1 })).to.equal(4);
    expect(estimateLag({ lag: null, 'entries-read': 3 }, { 'entries-added': 10 })).to.equal(7);
    expect(estimateLag({ lag: null, 'entries-read': null }, { 'entries-added': 10 })).to.equal(undefined);
    expect(estimateLag({})).to.equal(undefined);
  });

  it('decodes a valid event and names the reason of poison', () => {
    const event = buildEvent();
    const good = decodeEntry({ [EVENT_FIELD]: JSON.stringify(event) });
    expect(good.kind).to.equal('event');
    expect(good.kind === 'event' && good.event).to.deep.equal(event);
    expect(decodeEntry({ other: 'x' })).to.deep.include({ kind: 'poison', reason: 'missing_event' });
    expect(decodeEntry({ [EVENT_FIELD]: 'not json' })).to.deep.include({
      kind: 'poison',
      reason: 'invalid_event',
      payload: 'not json',
    });
    const wrong = decodeEntry({ [EVENT_FIELD]: JSON.stringify({ ...event, type: 'nope' }) });
    expect(wrong).to.deep.include({ kind: 'poison', reason: 'invalid_event' });
  });

  it('dead-letter entries carry the origin, the reason, the error and the raw payload', () => {
    const fields = deadLetterFields({
      stream: 'events:case',
      entryId: '1-0',
      group: 'g',
      consumer: 'c',
      reason: 'invalid_event',
      error: 'x'.repeat(5000),
      deliveries: 1,
      payload: 'raw',
      failedAt: new Date('2026-01-01T00:00:00Z'),
    });
    const record = replyToRecord(fields);
    expect(record).to.include({
      stream: 'events:case',
      entry_id: '1-0',
      reason: 'invalid_event',
      deliveries: '1',
      payload: 'raw',
      failed_at: '2026-01-01T00:00:00.000Z',
    });
    expect(String(record.error)).to.have.length(2000);
  });

  it('recognises NOGROUP errors', () => {
    expect(isNoGroupError(new Error("NOGROUP No such key 's' or consumer group 'g'"))).to.equal(true);
    expect(isNoGroupError(new Error('ERR something else'))).to.equal(false);
  });

  it('refuses to consume its own dead-letter stream, or nothing', () => {
    const logger = createLogger({ serviceName: 'test', level: 'silent' });
    const base = { redis: REDIS_URL, group: 'g', consumer: 'c', handle: async () => {}, logger };
    expect(() => new StreamConsumer({ ...base, streams: ['a', 'dlq'], deadLetterStream: 'dlq' })).to.throw(
      /dead-letter/,
    );
    expect(() => new StreamConsumer({ ...base, streams: [] })).to.throw(/at least one/);
  });
});

describe('StreamConsumer against the real Redis', () => {
  let redis: Redis;
  let prefix: string;
  let stream: string;
  let deadLetter: string;
  let lines: Lines;
  let logger: Logger;
  const consumers: StreamConsumer[] = [];
  const group = 'test-group';

  before(() => {
    redis = createRedis(REDIS_URL, { enableOfflineQueue: true });
  });

  beforeEach(() => {
    prefix = `test:consumer:${randomBytes(6).toString('hex')}`;
    stream = `${prefix}:events`;
    deadLetter = `${prefix}:dead-letter`;
    lines = new Lines();
    logger = createLogger({ serviceName: 'test', level: 'debug', destination: lines });
  });

  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((consumer) => consumer.stop()));
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  });

  after(async () => {
    await redis.quit();
  });

  const handled: { event: EventEnvelope; meta: DeliveryMeta }[] = [];
  beforeEach(() => {
    handled.splice(0);
  });
  const record = async (event: EventEnvelope, meta: DeliveryMeta) => {
    handled.push({ event, meta });
    await Promise.resolve();
  };

  function startConsumer(options: Partial<StreamConsumerOptions> = {}): StreamConsumer {
    const consumer = new StreamConsumer({
      redis: REDIS_URL,
      streams: [stream],
      group,
      consumer: `consumer-${randomBytes(3).toString('hex')}`,
      handle: record,
      logger,
      blockMs: 100,
      claimIdleMs: 200,
      deadLetterStream: deadLetter,
      retryBaseMs: 20,
      retryMaxMs: 200,
      ...options,
    });
    consumers.push(consumer);
    consumer.start();
    return consumer;
  }

  const publish = async (event: EventEnvelope = buildEvent()) => {
    await appendEvent(redis, stream, JSON.stringify(event));
    return event;
  };
  const pendingCount = async () => parsePendingCount(await redis.call('XPENDING', [stream, group]));
  const deadLetters = async (): Promise<Record<string, unknown>[]> =>
    (await redis.xrange(deadLetter, '-', '+')).map(([id, fields]) => ({ id, ...replyToRecord(fields) }));
  const handledIds = () => handled.map((entry) => entry.event.id);

  it('parks poison messages in the dead-letter stream at once and handles the good one behind them', async () => {
    const registry = createMetricsRegistry();
    const noEvent = await redis.xadd(stream, '*', 'something', 'else');
    const notJson = await redis.xadd(stream, '*', EVENT_FIELD, '{not json');
    const good = await publish();
    startConsumer({ registry });

    await eventually(async () => {
      expect(handledIds()).to.deep.equal([good.id]);
      expect(await deadLetters()).to.have.length(2);
      expect(await pendingCount()).to.equal(0);
    });
    const letters = await deadLetters();
    expect(letters[0]).to.include({ stream, entry_id: noEvent, reason: 'missing_event', deliveries: '1' });
    expect(JSON.parse(String(letters[0]?.payload))).to.deep.equal({ something: 'else' });
    expect(letters[1]).to.include({
      stream,
      entry_id: notJson,
      reason: 'invalid_event',
      payload: '{not json',
    });
    const metrics = await registry.metrics();
    expect(metrics).to.include(`events_dead_lettered_total{stream="${stream}",reason="missing_event"} 1`);
    expect(metrics).to.include(`events_dead_lettered_total{stream="${stream}",reason="invalid_event"} 1`);
    expect(metrics).to.include(`events_consumed_total{stream="${stream}",type="score_pending"} 1`);
  });

  it('retries a failing handler and dead-letters the message with the last error after maxDeliveries', async () => {
    const registry = createMetricsRegistry();
    const doomed = await publish();
    const fine = await publish();
    const attempts: number[] = [];
    startConsumer({
      registry,
      maxDeliveries: 3,
      handle: async (event, meta) => {
        if (event.id === doomed.id) {
          attempts.push(meta.deliveries);
          throw new Error(`cannot handle (attempt ${meta.deliveries})`);
        }
        await record(event, meta);
      },
    });

    await eventually(async () => {
      expect(await deadLetters()).to.have.length(1);
      expect(await pendingCount()).to.equal(0);
    });
    expect(handledIds()).to.deep.equal([fine.id]);
    expect(attempts).to.deep.equal([1, 2, 3]);
    const [letter] = await deadLetters();
    expect(letter).to.include({
      reason: 'max_deliveries',
      deliveries: '3',
      error: 'cannot handle (attempt 3)',
    });
    expect(JSON.parse(String(letter?.payload))).to.deep.equal(doomed);
    const metrics = await registry.metrics();
    expect(metrics).to.include(`events_failed_total{stream="${stream}"} 3`);
    expect(metrics).to.include(`events_dead_lettered_total{stream="${stream}",reason="max_deliveries"} 1`);
  });

  it('a handler that fails once is retried and the message acknowledged, not dead-lettered', async () => {
    const event = await publish();
    let failures = 0;
    startConsumer({
      handle: async (received, meta) => {
        if (failures === 0) {
          failures += 1;
          throw new Error('flaky');
        }
        await record(received, meta);
      },
    });
    await eventually(async () => {
      expect(handledIds()).to.deep.equal([event.id]);
      expect(await pendingCount()).to.equal(0);
    });
    expect(handled[0]?.meta.deliveries).to.equal(2);
    expect(await deadLetters()).to.deep.equal([]);
  });

  it('retries a transient failure in place without using up deliveries, and logs the outage once', async () => {
    const event = await publish();
    let failures = 0;
    startConsumer({
      maxDeliveries: 1,
      isTransient: (error) => error instanceof Error && error.message === 'database down',
      handle: async (received, meta) => {
        if (failures < 5) {
          failures += 1;
          throw new Error('database down');
        }
        await record(received, meta);
      },
    });
    await eventually(async () => {
      expect(handledIds()).to.deep.equal([event.id]);
      expect(await pendingCount()).to.equal(0);
    });
    expect(handled[0]?.meta.deliveries).to.equal(1);
    expect(await deadLetters()).to.deep.equal([]);
    const reports = lines.lines.filter((line) => line.problem === 'handler_dependency_unavailable');
    expect(reports.map((line) => line.message)).to.have.length(2); // the warning, then the recovery
    expect(reports[1]?.message).to.equal('stream consumer recovered');
  });

  it('reclaims and handles messages a dead consumer left pending', async () => {
    await redis.call('XGROUP', ['CREATE', stream, group, '0', 'MKSTREAM']);
    const events = [await publish(), await publish(), await publish()];
    // A consumer reads them and dies before acknowledging.
    const taken = parseReadReply(
      await redis.call('XREADGROUP', ['GROUP', group, 'dead-consumer', 'COUNT', 10, 'STREAMS', stream, '>']),
    );
    expect(taken).to.have.length(3);
    startConsumer();

    await eventually(async () => {
      expect(handledIds()).to.have.members(events.map((event) => event.id));
      expect(await pendingCount()).to.equal(0);
    });
    expect(handled.map((entry) => entry.meta.deliveries)).to.deep.equal([2, 2, 2]);
  });

  it('recovers when its group is destroyed and when its stream is deleted', async () => {
    startConsumer();
    const first = await publish();
    await eventually(() => {
      expect(handledIds()).to.include(first.id);
    });

    await redis.call('XGROUP', ['DESTROY', stream, group]);
    const second = await publish();
    await eventually(() => {
      expect(handledIds()).to.include(second.id);
    });

    await redis.del(stream);
    const third = await publish();
    await eventually(async () => {
      expect(handledIds()).to.include(third.id);
      expect(await pendingCount()).to.equal(0);
    });
    const reports = lines.lines.filter((line) => line.problem === 'group_missing' && line.level === 'warn');
    expect(reports.length).to.be.within(1, 2); // once per incident, not once per retry
  });

  it('on stop, finishes the message in hand and releases the rest to the next consumer at once', async () => {
    const events: EventEnvelope[] = [];
    for (let index = 0; index < 5; index += 1) events.push(await publish());
    let release: () => void = () => undefined;
    const inHand = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started!: () => void;
    const firstStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const first = startConsumer({
      claimIdleMs: 60_000,
      handle: async (event, meta) => {
        started();
        await inHand;
        await record(event, meta);
      },
    });
    await firstStarted;
    const stopping = first.stop();
    release();
    await stopping;
    expect(handledIds()).to.deep.equal([events[0]?.id]);

    // The next consumer does not wait claimIdleMs (a minute) for the released messages.
    startConsumer({ claimIdleMs: 60_000 });
    await eventually(async () => {
      expect(handledIds()).to.have.members(events.map((event) => event.id));
      expect(await pendingCount()).to.equal(0);
    });
  });

  it('with a concurrency of N, handles up to N messages of a read at once and acknowledges each after its handler', async () => {
    const events: EventEnvelope[] = [];
    for (let index = 0; index < 12; index += 1) events.push(await publish());
    let inFlight = 0;
    let mostInFlight = 0;
    let unblock: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => {
      unblock = resolve;
    });
    startConsumer({
      concurrency: 4,
      batchSize: 12,
      handle: async (event, meta) => {
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        // The first four wait for each other, so the consumer must have started all four at once.
        if (inFlight === 4) unblock();
        await blocked;
        await record(event, meta);
        inFlight -= 1;
      },
    });
    await eventually(async () => {
      expect(handledIds()).to.have.members(events.map((event) => event.id));
      expect(await pendingCount()).to.equal(0);
    });
    expect(mostInFlight).to.equal(4);
  });

  it('with a concurrency of N, stopping finishes the messages in hand and releases the ones not started', async () => {
    const events: EventEnvelope[] = [];
    for (let index = 0; index < 8; index += 1) events.push(await publish());
    let release: () => void = () => undefined;
    const inHand = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = 0;
    let twoStarted!: () => void;
    const bothStarted = new Promise<void>((resolve) => {
      twoStarted = resolve;
    });
    const first = startConsumer({
      claimIdleMs: 60_000,
      concurrency: 2,
      batchSize: 8,
      handle: async (event, meta) => {
        started += 1;
        if (started === 2) twoStarted();
        await inHand;
        await record(event, meta);
      },
    });
    await bothStarted;
    const stopping = first.stop();
    release();
    await stopping;
    expect(handledIds()).to.have.members([events[0]!.id, events[1]!.id]);

    startConsumer({ claimIdleMs: 60_000 });
    await eventually(async () => {
      expect(handledIds()).to.have.members(events.map((event) => event.id));
      expect(await pendingCount()).to.equal(0);
    });
  });

  describe('with a batch handler', () => {
    const batches: string[][] = [];
    beforeEach(() => {
      batches.splice(0);
    });
    const recordBatch = async (deliveries: readonly Delivery[]) => {
      batches.push(deliveries.map(({ event }) => event.id));
      for (const { event, meta } of deliveries) await record(event, meta);
    };

    it("hands a read's valid events to it in one call and acknowledges them together; poison still goes to the dead-letter stream", async () => {
      const registry = createMetricsRegistry();
      const events = [await publish(), await publish()];
      const notJson = await redis.xadd(stream, '*', EVENT_FIELD, '{not json');
      events.push(await publish(), await publish());
      const single: string[] = [];
      startConsumer({
        registry,
        batchSize: 10,
        handleBatch: recordBatch,
        handle: async (event, meta) => {
          single.push(event.id);
          await record(event, meta);
        },
      });
      await eventually(async () => {
        expect(await pendingCount()).to.equal(0);
        expect(await deadLetters()).to.have.length(1);
      });
      expect(batches).to.deep.equal([events.map((event) => event.id)]);
      expect(single, 'nothing went through the one-event handler').to.deep.equal([]);
      expect(handled.map(({ meta }) => meta)).to.deep.equal(
        handled.map(({ meta }) => ({ stream, entryId: meta.entryId, deliveries: 1 })),
      );
      expect((await deadLetters())[0]).to.include({ entry_id: notJson, reason: 'invalid_event' });
      const metrics = await registry.metrics();
      expect(metrics).to.include(`events_consumed_total{stream="${stream}",type="score_pending"} 4`);
    });

    it('a batch that fails is handled one event at a time: the others are stored, the bad one fails its own deliveries', async () => {
      const events = [await publish(), await publish(), await publish()];
      const bad = events[1]!;
      const attempts: number[] = [];
      startConsumer({
        batchSize: 10,
        maxDeliveries: 2,
        handleBatch: async (deliveries) => {
          if (deliveries.some(({ event }) => event.id === bad.id)) throw new Error('one row refused');
          await recordBatch(deliveries);
        },
        handle: async (event, meta) => {
          if (event.id === bad.id) {
            attempts.push(meta.deliveries);
            throw new Error(`refused (delivery ${meta.deliveries})`);
          }
          await record(event, meta);
        },
      });
      await eventually(async () => {
        expect(await deadLetters()).to.have.length(1);
        expect(await pendingCount()).to.equal(0);
      });
      expect(handledIds()).to.have.members([events[0]!.id, events[2]!.id]);
      expect(attempts).to.deep.equal([1, 2]);
      expect((await deadLetters())[0]).to.include({
        reason: 'max_deliveries',
        deliveries: '2',
        error: 'refused (delivery 2)',
      });
      expect(lines.lines.map((line) => line.message)).to.include(
        'storing a batch of events failed; handling them one by one',
      );
    });

    it('a batch whose dependency is down is retried in place, as one, without using up deliveries', async () => {
      const events = [await publish(), await publish(), await publish()];
      let failures = 0;
      startConsumer({
        batchSize: 10,
        maxDeliveries: 1,
        isTransient: (error) => error instanceof Error && error.message === 'database down',
        handleBatch: async (deliveries) => {
          if (failures < 3) {
            failures += 1;
            throw new Error('database down');
          }
          await recordBatch(deliveries);
        },
        handle: () => Promise.reject(new Error('not expected: the batch handler recovers')),
      });
      await eventually(async () => {
        expect(await pendingCount()).to.equal(0);
        expect(batches).to.have.length(1);
      });
      expect(batches[0]).to.deep.equal(events.map((event) => event.id));
      expect(handled.map(({ meta }) => meta.deliveries)).to.deep.equal([1, 1, 1]);
      expect(await deadLetters()).to.deep.equal([]);
    });

    it('stopping while a batch waits for its dependency leaves its events pending for the next consumer', async () => {
      const events = [await publish(), await publish()];
      let attempts = 0;
      const first = startConsumer({
        batchSize: 10,
        claimIdleMs: 60_000,
        retryBaseMs: 50,
        isTransient: () => true,
        handleBatch: () => {
          attempts += 1;
          return Promise.reject(new Error('database down'));
        },
      });
      await eventually(() => {
        expect(attempts).to.be.greaterThan(0);
      });
      await first.stop();
      expect(await pendingCount()).to.equal(2);

      // The same name, as a restarted pod: it takes back what it held, one at a time.
      startConsumer({ consumer: first.name, claimIdleMs: 60_000, handleBatch: recordBatch });
      await eventually(async () => {
        expect(handledIds()).to.have.members(events.map((event) => event.id));
        expect(await pendingCount()).to.equal(0);
      });
      expect(batches, 'reclaimed messages go through the one-event handler').to.deep.equal([]);
    });
  });

  it('exposes pending and lag gauges for its streams', async () => {
    const registry = createMetricsRegistry();
    await redis.call('XGROUP', ['CREATE', stream, group, '0', 'MKSTREAM']);
    await publish();
    await publish();
    await redis.call('XREADGROUP', ['GROUP', group, 'someone-else', 'COUNT', 1, 'STREAMS', stream, '>']);
    // It reads the second message but never reclaims the first (claimIdleMs is long): one stays pending.
    const consumer = new StreamConsumer({
      redis: REDIS_URL,
      streams: [stream],
      group,
      consumer: 'observer',
      handle: record,
      logger,
      registry,
      claimIdleMs: 60_000,
      blockMs: 100,
    });
    const sample = async () => registry.getSingleMetricAsString('events_consumer_pending');
    // Before start there is nothing to sample.
    expect(await sample()).not.to.include(stream);
    consumers.push(consumer);
    consumer.start();
    await eventually(async () => {
      expect(handled).to.have.length(1);
      expect(await registry.getSingleMetricAsString('events_consumer_lag')).to.include(
        `events_consumer_lag{stream="${stream}"} 0`,
      );
      expect(await sample()).to.include(`events_consumer_pending{stream="${stream}"} 1`);
    });
  });
});
