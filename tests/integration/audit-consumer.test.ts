import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import pg from 'pg';
import {
  CONSUMER_GROUP,
  createAuditService,
  loadAuditServiceConfig,
  SERVICE_NAME,
  type AuditService,
} from '@mrp/audit-telemetry-service';
import { appendEvent, createRedis, EVENT_FIELD, type EventEnvelope, type Redis } from '@mrp/events';
import { createLogger, listen, type RunningServer } from '@mrp/platform';
import { contract, request } from '../support/http.ts';
import { LogCapture } from '../support/log-capture.ts';
import { freePort } from '../support/ports.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { createTestDatabase } from '../support/test-database.ts';
import { eventually } from '../support/eventually.ts';
import { buildEvent } from '../support/factories.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface RunningAudit {
  readonly audit: AuditService;
  readonly logs: LogCapture;
  readonly server: RunningServer;
}

describe('audit-telemetry-service consumer: every event stored exactly once (real Postgres and Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let stream: string;
  let deadLetter: string;
  let database: { url: string; drop: () => Promise<void> };
  let db: pg.Pool;
  let running: RunningAudit[];

  before(() => {
    redis = createRedis(REDIS_URL, { enableOfflineQueue: true });
  });

  after(async () => {
    await redis.quit();
  });

  beforeEach(async () => {
    prefix = `test:audit-consumer:${randomBytes(6).toString('hex')}`;
    stream = `${prefix}:events:case`;
    deadLetter = `${prefix}:events:dead-letter`;
    database = await createTestDatabase('audit');
    db = new pg.Pool({ connectionString: database.url, max: 2 });
    running = [];
  });

  afterEach(async () => {
    for (const instance of running.splice(0)) await stopAudit(instance);
    await db.end();
    await database.drop();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  });

  /** A replica of the audit service (its own consumer name) on the test's database and streams. */
  async function startAudit(consumerName: string, env: Record<string, string> = {}): Promise<RunningAudit> {
    const config = loadAuditServiceConfig({
      APP_ENV: 'test',
      DATABASE_URL: database.url,
      // Nothing here calls the API with a token.
      AUTH_JWKS_URL: `http://127.0.0.1:${await freePort()}/.well-known/jwks.json`,
      REDIS_URL,
      AUDIT_STREAMS: `${stream},${prefix}:events:scoring`,
      AUDIT_DEAD_LETTER_STREAM: deadLetter,
      CONSUMER_NAME: consumerName,
      ...env,
    });
    const logs = new LogCapture();
    const audit = await createAuditService(
      config,
      createLogger({ serviceName: SERVICE_NAME, level: 'debug', destination: logs }),
    );
    const instance = { audit, logs, server: await listen(audit.service, 0) };
    running.push(instance);
    return instance;
  }

  async function stopAudit(instance: RunningAudit): Promise<void> {
    const index = running.indexOf(instance);
    if (index >= 0) running.splice(index, 1);
    await instance.server.close(500);
    await instance.audit.close();
  }

  const publish = async (event: EventEnvelope = buildEvent()) => {
    await appendEvent(redis, stream, JSON.stringify(event));
    return event;
  };
  const storedIds = async () =>
    (await db.query<{ event_id: string }>('SELECT event_id FROM audit_events ORDER BY event_id')).rows.map(
      (row) => row.event_id,
    );
  const rowCount = async () =>
    Number((await db.query<{ count: string }>('SELECT count(*) FROM audit_events')).rows[0]?.count);
  const pending = async () => {
    const summary = (await redis.call('XPENDING', [stream, CONSUMER_GROUP])) as unknown[];
    return Number(summary[0]);
  };
  const sorted = (events: readonly EventEnvelope[]) => events.map((event) => event.id).sort();

  it('stores an event published twice once, and acknowledges both deliveries', async () => {
    await startAudit('audit-a');
    const twice = buildEvent();
    await publish(twice);
    await publish(twice);
    const after = await publish();
    await eventually(async () => {
      expect(await storedIds()).to.deep.equal(sorted([twice, after]));
      expect(await pending()).to.equal(0);
    });
    expect(await rowCount()).to.equal(2);
    const { rows } = await db.query<{ stream: string; subject: string }>(
      'SELECT stream, subject FROM audit_events WHERE event_id = $1',
      [twice.id],
    );
    expect(rows).to.deep.equal([{ stream, subject: twice.subject }]);
  });

  it('stores the events of one read in one transaction, a duplicate among them once', async () => {
    const events: EventEnvelope[] = [];
    for (let index = 0; index < 6; index += 1) events.push(await publish());
    await publish(events[2]);
    await startAudit('audit-a');
    await eventually(async () => {
      expect(await storedIds()).to.deep.equal(sorted(events));
      expect(await pending()).to.equal(0);
    });
    // received_at is now(), the start of the storing transaction: one value for the whole read.
    const { rows } = await db.query<{ transactions: string; total: string }>(
      'SELECT count(DISTINCT received_at) AS transactions, count(*) AS total FROM audit_events',
    );
    expect(rows[0]).to.deep.equal({ transactions: '1', total: '6' });
  });

  it('when audit-db refuses one event of a read, stores the others and dead-letters that one alone', async () => {
    const good = [await publish(), await publish()];
    const caseId = randomUUID();
    // Valid JSON and a valid event, but jsonb cannot hold a NUL character.
    const refused = await publish(buildEvent({ data: { case_id: caseId, reason: 'nul \u0000 byte' } }));
    good.push(await publish());
    const instance = await startAudit('audit-a', { AUDIT_MAX_DELIVERIES: '2', AUDIT_CLAIM_IDLE_MS: '200' });
    await eventually(async () => {
      expect(await storedIds()).to.deep.equal(sorted(good));
      expect(await redis.xlen(deadLetter)).to.equal(1);
      expect(await pending()).to.equal(0);
    });
    const [[, fields] = ['', []]] = await redis.xrange(deadLetter, '-', '+');
    const letter: Record<string, string> = {};
    for (let index = 0; index + 1 < fields.length; index += 2) letter[fields[index]!] = fields[index + 1]!;
    expect(letter).to.include({ stream, reason: 'max_deliveries', deliveries: '2' });
    expect(JSON.parse(String(letter.payload))).to.deep.include({ id: refused.id });
    expect(instance.logs.lines.map((line) => line.message)).to.include(
      'storing a batch of events failed; handling them one by one',
    );
  });

  it('when a replica stops mid-stream and another takes over, every event is stored exactly once', async () => {
    const first = await startAudit('audit-a');
    const events: EventEnvelope[] = [];
    for (let index = 0; index < 10; index += 1) events.push(await publish());
    await eventually(async () => {
      expect(await rowCount()).to.be.greaterThan(0);
    });
    await stopAudit(first);
    for (let index = 0; index < 10; index += 1) events.push(await publish());

    await startAudit('audit-b');
    await eventually(async () => {
      expect(await storedIds()).to.deep.equal(sorted(events));
      expect(await pending()).to.equal(0);
    });
    const { rows } = await db.query<{ total: string; distinct: string }>(
      'SELECT count(*) AS total, count(DISTINCT event_id) AS distinct FROM audit_events',
    );
    expect(rows[0]).to.deep.equal({ total: '20', distinct: '20' });
  });

  it('takes over the messages a crashed replica left pending, once they are idle long enough', async () => {
    await redis.call('XGROUP', ['CREATE', stream, CONSUMER_GROUP, '0', 'MKSTREAM']);
    const events: EventEnvelope[] = [];
    for (let index = 0; index < 6; index += 1) events.push(await publish());
    // A replica reads four messages and dies before storing or acknowledging them.
    const taken = (await redis.call('XREADGROUP', [
      'GROUP',
      CONSUMER_GROUP,
      'audit-crashed',
      'COUNT',
      4,
      'STREAMS',
      stream,
      '>',
    ])) as unknown[];
    expect(taken).to.not.equal(null);
    expect(await pending()).to.equal(4);

    const survivor = await startAudit('audit-survivor', { AUDIT_CLAIM_IDLE_MS: '300' });
    await eventually(async () => {
      expect(await storedIds()).to.deep.equal(sorted(events));
      expect(await pending()).to.equal(0);
    });
    expect(await rowCount()).to.equal(6);
    const reclaimed = survivor.logs.lines.filter(
      (line) => line.message === 'reclaimed an idle message' && line.from === 'audit-crashed',
    );
    expect(reclaimed).to.have.length(4);
  });

  it('parks poison messages in the dead-letter stream and still stores the events behind them', async () => {
    const instance = await startAudit('audit-a');
    const notAnEvent = await redis.xadd(stream, '*', EVENT_FIELD, JSON.stringify({ hello: 'world' }));
    const noEventField = await redis.xadd(stream, '*', 'something', 'else');
    const badData = await publish(buildEvent({ data: { case_id: 'not-a-uuid', reason: 'x' } }));
    const good = [await publish(), await publish()];

    await eventually(async () => {
      expect(await storedIds()).to.deep.equal(sorted(good));
      expect(await redis.xlen(deadLetter)).to.equal(3);
      expect(await pending()).to.equal(0);
    });
    const letters = (await redis.xrange(deadLetter, '-', '+')).map(([, fields]) => {
      const record: Record<string, string> = {};
      for (let index = 0; index + 1 < fields.length; index += 2) record[fields[index]!] = fields[index + 1]!;
      return record;
    });
    expect(letters.map((letter) => letter.entry_id)).to.have.length(3);
    const byEntry: Record<string, Record<string, string>> = {};
    for (const letter of letters) byEntry[String(letter.entry_id)] = letter;
    expect(byEntry[String(notAnEvent)]).to.include({
      stream,
      reason: 'invalid_event',
      payload: '{"hello":"world"}',
    });
    expect(byEntry[String(noEventField)]).to.include({
      stream,
      reason: 'missing_event',
      group: CONSUMER_GROUP,
    });
    expect(byEntry[String(noEventField)]?.consumer).to.equal('audit-a');
    expect(
      Object.values(byEntry).find(
        (letter) => letter.reason === 'invalid_event' && String(letter.payload).includes(badData.id),
      ),
    ).to.exist;

    const metrics = (await request(`${instance.server.url}/metrics`)).text;
    expect(metrics).to.match(
      new RegExp(`events_dead_lettered_total\\{stream="${stream}",reason="invalid_event"[^}]*\\} 2`),
    );
    expect(metrics).to.match(
      new RegExp(`events_dead_lettered_total\\{stream="${stream}",reason="missing_event"[^}]*\\} 1`),
    );
    expect(metrics).to.match(
      new RegExp(`events_consumed_total\\{stream="${stream}",type="score_pending"[^}]*\\} 2`),
    );
    expect(metrics).to.match(new RegExp(`events_consumer_pending\\{stream="${stream}"[^}]*\\} 0`));
    expect(metrics).to.match(new RegExp(`events_consumer_lag\\{stream="${stream}"[^}]*\\} 0`));
  });

  it('rides out a Redis outage: readiness fails, liveness does not, nothing is lost, the outage is logged once', async () => {
    const proxy = new TcpProxy('127.0.0.1', 6379);
    await proxy.start();
    try {
      const instance = await startAudit('audit-a', { REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
      const url = instance.server.url;
      const before = await publish();
      await eventually(async () => {
        expect(await storedIds()).to.deep.equal([before.id]);
        expect((await request(`${url}/readyz`)).status).to.equal(200);
      });

      await proxy.cut();
      await eventually(async () => {
        const notReady = await request(`${url}/readyz`);
        expect(notReady.status).to.equal(503);
        expect(contract('Health', notReady.body).checks?.redis).to.equal('failed');
      });
      expect((await request(`${url}/healthz`)).status).to.equal(200);
      // Producers still reach Redis; only this service has lost it.
      const during = [await publish(), await publish(), await publish()];
      // The outage lasts until the consumer has noticed it and Redis clients have retried several times.
      const failedAttempts = () =>
        instance.logs.lines.filter((line) => line.message === 'readiness Redis connection failed').length;
      await eventually(async () => {
        expect(instance.logs.lines.some((line) => line.problem === 'redis_unavailable')).to.equal(true);
        expect(failedAttempts()).to.be.at.least(3);
        await Promise.resolve();
      });

      await proxy.start();
      await eventually(async () => {
        expect(await storedIds()).to.deep.equal(sorted([before, ...during]));
        expect(await pending()).to.equal(0);
        expect((await request(`${url}/readyz`)).status).to.equal(200);
      });
      const consumerLines = () => instance.logs.lines.filter((line) => line.component === 'stream-consumer');
      // The consumer says it recovered when the round that read the messages ends, a moment after they
      // were stored and acknowledged: wait for the line rather than race it.
      await eventually(async () => {
        expect(consumerLines().some((line) => line.message === 'stream consumer recovered')).to.equal(true);
        await Promise.resolve();
      });
      const warnings = consumerLines().filter(
        (line) => line.problem === 'redis_unavailable' && line.level === 'warn',
      );
      expect(warnings, JSON.stringify(warnings)).to.have.length(1);
    } finally {
      await Promise.all(running.splice(0).map(stopAudit));
      await proxy.cut();
    }
  });
});
