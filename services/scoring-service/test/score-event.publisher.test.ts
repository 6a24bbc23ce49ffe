import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { parseEvent, type NewEvent } from '@mrp/events';
import { createLogger } from '@mrp/platform';
import type { Metric } from 'prom-client';
import { ScoreEventPublisher, type ScoreEventPublisherOptions } from '../src/events/score-event.publisher.ts';
import { eventually as poll } from '@mrp/platform/testing';

/** The shared poll, at this suite's pace. */
const eventually = (check: () => Promise<void> | void) => poll(check, 100, 20);

const logger = createLogger({ serviceName: 'scoring-service', level: 'silent' });

function buildScoreEvent(overrides: Partial<NewEvent> = {}): NewEvent {
  const caseId = randomUUID();
  return {
    type: 'score_updated',
    source: 'scoring-service',
    subject: `case:${caseId}`,
    data: { case_id: caseId, score: 0.5, risk_band: 'medium', model_version: 'test', reasons: [] },
    requestId: 'req-1',
    actor: 'user-1',
    ...overrides,
  };
}

/** A stand-in for the stream: records what it accepted and fails while `down` is set. */
class FakeStream {
  readonly delivered: string[] = [];
  down = false;
  attempts = 0;
  readonly deliver = (json: string): Promise<void> => {
    this.attempts += 1;
    if (this.down) return Promise.reject(new Error('connection refused'));
    this.delivered.push(json);
    return Promise.resolve();
  };
  caseIds(): unknown[] {
    return this.delivered.map((json) => parseEvent(json).data.case_id);
  }
}

async function valueOf(metric: Metric, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await metric.get();
  const match = values.find((value) =>
    Object.entries(labels).every(([name, expected]) => value.labels[name] === expected),
  );
  return match?.value ?? 0;
}

describe('score event publisher', () => {
  let publishers: ScoreEventPublisher[];

  const startPublisher = (options: Partial<ScoreEventPublisherOptions> & { stream: FakeStream }) => {
    const publisher = new ScoreEventPublisher({
      capacity: 100,
      logger,
      backoff: { initialMs: 1, maxMs: 5 },
      deliver: options.stream.deliver,
      ...options,
    });
    publisher.start();
    publishers.push(publisher);
    return publisher;
  };

  beforeEach(() => {
    publishers = [];
  });

  afterEach(async () => {
    await Promise.all(publishers.map((publisher) => publisher.close(0)));
  });

  it('delivers valid envelopes in the order they were published', async () => {
    const stream = new FakeStream();
    const publisher = startPublisher({ stream });
    const events = [buildScoreEvent(), buildScoreEvent(), buildScoreEvent()];
    for (const event of events) publisher.publish(event);
    await eventually(() => {
      expect(stream.delivered).to.have.length(3);
    });
    expect(stream.caseIds()).to.deep.equal(events.map((event) => event.data.case_id));
    expect(await valueOf(publisher.published)).to.equal(3);
    expect(publisher.pending).to.equal(0);
  });

  it('keeps events while delivery fails, counts each failed attempt, and delivers them all once it works', async () => {
    const stream = new FakeStream();
    stream.down = true;
    const publisher = startPublisher({ stream });
    const events = [buildScoreEvent(), buildScoreEvent()];
    for (const event of events) publisher.publish(event);
    await eventually(async () => {
      expect(await valueOf(publisher.failedAttempts)).to.be.at.least(3);
    });
    expect(publisher.pending).to.equal(2);
    expect(await valueOf(publisher.queued)).to.equal(2);

    stream.down = false;
    await eventually(() => {
      expect(stream.delivered).to.have.length(2);
    });
    expect(stream.caseIds()).to.deep.equal(events.map((event) => event.data.case_id));
    expect(await valueOf(publisher.published)).to.equal(2);
    expect(await valueOf(publisher.queued)).to.equal(0);
  });

  it('returns from publish at once even while a delivery never settles', async () => {
    const stuck: (() => void)[] = [];
    let released = false;
    const stream = new FakeStream();
    const publisher = startPublisher({
      stream,
      deliver: () =>
        released
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              stuck.push(resolve);
            }),
    });
    for (let index = 0; index < 51; index += 1) publisher.publish(buildScoreEvent());
    expect(publisher.pending).to.equal(51);
    await eventually(() => {
      expect(stuck).to.have.length(1);
    });
    expect(publisher.pending).to.equal(51);
    // Let the stuck delivery and every later one settle, so the publisher can close.
    released = true;
    for (const resolve of stuck) resolve();
    await eventually(async () => {
      expect(await valueOf(publisher.published)).to.equal(51);
    });
  });

  it('drops the oldest waiting event when the queue is full, and counts it', async () => {
    const stream = new FakeStream();
    stream.down = true;
    const publisher = startPublisher({ stream, capacity: 2, backoff: { initialMs: 60_000, maxMs: 60_000 } });
    const events = [buildScoreEvent(), buildScoreEvent(), buildScoreEvent()];
    for (const event of events) publisher.publish(event);
    await eventually(async () => {
      expect(await valueOf(publisher.dropped, { reason: 'overflow' })).to.equal(1);
    });
    expect(publisher.pending).to.equal(2);

    stream.down = false;
    publisher.retryNow();
    await eventually(() => {
      expect(stream.delivered).to.have.length(2);
    });
    expect(stream.caseIds()).to.deep.equal([events[1]!.data.case_id, events[2]!.data.case_id]);
  });

  it('retries at once when told the connection is back, instead of waiting out the backoff', async () => {
    const stream = new FakeStream();
    stream.down = true;
    const publisher = startPublisher({ stream, backoff: { initialMs: 60_000, maxMs: 60_000 } });
    publisher.publish(buildScoreEvent());
    await eventually(() => {
      expect(stream.attempts).to.equal(1);
    });
    stream.down = false;
    publisher.retryNow();
    await eventually(() => {
      expect(stream.delivered).to.have.length(1);
    });
  });

  it('counts an event that breaks its contract as dropped and never throws to the caller', async () => {
    const stream = new FakeStream();
    const publisher = startPublisher({ stream });
    expect(() => {
      publisher.publish(buildScoreEvent({ data: { case_id: 'not-a-uuid' } }));
    }).to.not.throw();
    expect(await valueOf(publisher.dropped, { reason: 'invalid' })).to.equal(1);
    expect(publisher.pending).to.equal(0);
  });

  it('delivers what is still queued when it closes', async () => {
    const stream = new FakeStream();
    stream.down = true;
    const publisher = startPublisher({ stream, backoff: { initialMs: 60_000, maxMs: 60_000 } });
    publisher.publish(buildScoreEvent());
    publisher.publish(buildScoreEvent());
    await eventually(() => {
      expect(stream.attempts).to.equal(1);
    });
    stream.down = false;
    await publisher.close(10_000);
    expect(stream.delivered).to.have.length(2);
    expect(await valueOf(publisher.dropped, { reason: 'shutdown' })).to.equal(0);
  });

  it('gives up at the shutdown deadline while delivery still fails, counting what it dropped', async () => {
    const stream = new FakeStream();
    stream.down = true;
    const publisher = startPublisher({ stream });
    publisher.publish(buildScoreEvent());
    publisher.publish(buildScoreEvent());
    await publisher.close(50);
    expect(stream.delivered).to.have.length(0);
    expect(await valueOf(publisher.dropped, { reason: 'shutdown' })).to.equal(2);
    expect(publisher.pending).to.equal(0);
    publisher.publish(buildScoreEvent());
    expect(await valueOf(publisher.dropped, { reason: 'shutdown' })).to.equal(3);
  });
});
