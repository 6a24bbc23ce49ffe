import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { parseEvent } from '@mrp/events';
import { contract, request } from '../support/http.ts';
import { startTestCaseService, type TestCaseService } from '../support/case-platform.ts';
import { eventually } from '../support/eventually.ts';
import { login, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { freePort } from '../support/ports.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

describe('the outbox relay publishes every case event to Redis Streams', () => {
  let platform: TestPlatform;
  let proxy: TcpProxy;
  let cases: TestCaseService;
  let redis: Redis;
  let token: string;

  before(async () => {
    platform = await startTestPlatform();
    proxy = new TcpProxy('127.0.0.1', 6379);
    await proxy.start();
    cases = await startTestCaseService(platform, {
      scoringUrl: `http://127.0.0.1:${await freePort()}`,
      env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}` },
    });
    redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
    await redis.connect();
    token = await login(platform.authUrl, 'analyst');
  });

  after(async () => {
    await proxy.start().catch(() => undefined);
    await cases.stop();
    await platform.stop();
    redis.disconnect();
    await proxy.cut();
  });

  /** Every event on the test's stream, in stream order. */
  const streamEvents = async () =>
    (await redis.xrange(cases.stream, '-', '+')).map(([, fields]) =>
      parseEvent(fields[fields.indexOf('event') + 1]!),
    );

  const createCase = async () => {
    const result = await request(`${cases.url}/v1/cases`, {
      method: 'POST',
      token,
      json: { title: 'Relay', owner_id: randomUUID() },
    });
    expect(result.status, result.text).to.equal(201);
    return contract('CaseV1', result.body).id;
  };

  it('publishes case_created then score_pending for each case, valid and in order per case', async () => {
    const ids = [await createCase(), await createCase(), await createCase()];
    await eventually(async () => {
      const events = await streamEvents();
      for (const id of ids) {
        const types = events.filter((event) => event.subject === `case:${id}`).map((event) => event.type);
        expect(types).to.deep.equal(['case_created', 'score_pending']);
      }
    });
    const events = await streamEvents();
    expect(events[0]!.request_id).to.be.a('string');
    expect(events[0]!.source).to.equal('case-service');
  });

  it('while Redis is unreachable, creates still succeed and their events arrive once it returns', async () => {
    await proxy.cut();
    const ids = [await createCase(), await createCase(), await createCase(), await createCase()];
    const before = await streamEvents();
    expect(before.filter((event) => ids.some((id) => event.subject === `case:${id}`))).to.deep.equal([]);
    await proxy.start();
    await eventually(async () => {
      const events = await streamEvents();
      for (const id of ids) {
        const types = events.filter((event) => event.subject === `case:${id}`).map((event) => event.type);
        expect(types).to.include.members(['case_created', 'score_pending']);
      }
    });
  });

  it('after Redis loses its data, recent events are published again', async () => {
    const id = await createCase();
    await eventually(async () => {
      expect((await streamEvents()).some((event) => event.subject === `case:${id}`)).to.equal(true);
    });
    // A Redis restart without persistence: the stream and the relay's marker are gone.
    await redis.del(cases.stream, `outbox:marker:case-service:${cases.stream}`);
    await createCase();
    await eventually(async () => {
      const types = (await streamEvents())
        .filter((event) => event.subject === `case:${id}`)
        .map((event) => event.type);
      expect(types).to.include.members(['case_created', 'score_pending']);
    });
  });
});
