import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createLogger, createPool, dropDatabase, ensureDatabase, type Pool } from '@mrp/platform';
import { createEvent, createRedis, enqueueEvent, OutboxRelay, type Redis } from '../src/index.ts';
import { eventually as poll } from '@mrp/platform/testing';

/** The shared poll, at this suite's pace. */
const eventually = (check: () => Promise<void> | void) => poll(check, 200, 25);

const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('OutboxRelay (real Postgres and Redis)', () => {
  const url = new URL(POSTGRES_URL);
  url.pathname = `/mrp_test_outbox_${randomBytes(4).toString('hex')}`;
  const stream = `events:test-relay-${randomUUID()}`;
  let pool: Pool;
  let redis: Redis;
  let relay: OutboxRelay | undefined;

  before(async () => {
    await ensureDatabase(url.toString());
    pool = createPool({ connectionString: url.toString(), applicationName: 'outbox-relay-test' });
    await pool.query(`CREATE TABLE outbox (
      id bigserial PRIMARY KEY, event_id uuid NOT NULL UNIQUE, stream text NOT NULL,
      aggregate_id text NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
      published_at timestamptz)`);
    redis = createRedis(REDIS_URL);
  });

  afterEach(async () => {
    await relay?.stop();
    relay = undefined;
  });

  after(async () => {
    await redis.del(stream);
    redis.disconnect();
    await pool.end();
    await dropDatabase(url.toString());
  });

  /** Writes one event for `aggregate` to the outbox, committed. */
  async function enqueue(aggregate: string): Promise<string> {
    const event = createEvent({
      type: 'score_pending',
      source: 'case-service',
      subject: `case:${aggregate}`,
      data: { case_id: aggregate, reason: 'test' },
    });
    const client = await pool.connect();
    try {
      await enqueueEvent(client, stream, aggregate, event);
    } finally {
      client.release();
    }
    return event.id;
  }

  it('a nudge cuts the idle pause short, and nudges close together are published in one batch', async () => {
    relay = new OutboxRelay({
      pool,
      redis,
      logger: createLogger({ serviceName: 'outbox-relay-test', level: 'silent' }),
      source: `test:${stream}`,
      // Without nudges nothing would be published within the test's time.
      idleMs: 600_000,
      coalesceMs: 2000,
    });
    relay.start();
    // Let the first (empty) cycle run, so the relay is in its long pause.
    await eventually(async () => {
      expect(await redis.exists(`outbox:marker:test:${stream}`)).to.equal(1);
    });
    await new Promise((resolve) => setTimeout(resolve, 50));

    const aggregate = randomUUID();
    const ids: string[] = [];
    // Three commits 100 ms apart, each followed by its nudge: well inside the coalescing window, and far
    // enough apart that a relay publishing at once would have published the first one alone.
    for (let index = 0; index < 3; index += 1) {
      if (index > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      ids.push(await enqueue(aggregate));
      relay.nudge();
    }

    await eventually(async () => {
      const published = (await redis.xrange(stream, '-', '+')).map(
        ([, fields]) => (JSON.parse(fields[1]!) as { id: string }).id,
      );
      expect(published).to.deep.equal(ids);
    });
    // One cycle marks its whole batch in one statement: one transaction, one now().
    const { rows } = await pool.query<{ published_at: Date | null }>(
      'SELECT DISTINCT published_at FROM outbox WHERE aggregate_id = $1',
      [aggregate],
    );
    expect(rows).to.have.length(1);
    expect(rows[0]!.published_at).to.be.instanceOf(Date);
  });
});
