import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import {
  createAuditService,
  loadAuditServiceConfig,
  SERVICE_NAME,
  type AuditService,
} from '@mrp/audit-telemetry-service';
import {
  appendEvent,
  createEvent,
  createRedis,
  type EventEnvelope,
  type EventType,
  type Redis,
} from '@mrp/events';
import { createLogger, listen, type RunningServer } from '@mrp/platform';
import { contract, request, type HttpResult } from '../support/http.ts';
import { LogCapture } from '../support/log-capture.ts';
import { login, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { expectProblem } from '../support/problem.ts';
import { createTestDatabase } from '../support/test-database.ts';
import { eventually } from '../support/eventually.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const caseA = randomUUID();
const caseB = randomUUID();
const TYPES: readonly EventType[] = ['case_created', 'case_updated', 'score_updated', 'score_pending'];
const ACTORS = ['6f1c1d1e-0000-4000-8000-0000000000a1', 'service:case-service', null] as const;
const START = Date.parse('2025-06-01T00:00:00Z');
const minute = (index: number) => new Date(START + index * 60_000).toISOString();

/** The data of each event type, valid against its contract. */
function dataFor(type: EventType, caseId: string): Record<string, unknown> {
  const snapshot = {
    id: caseId,
    title: 'Audit fixture',
    owner_id: ACTORS[0],
    status: 'OPEN',
    priority: 'medium',
    created_at: minute(0),
    updated_at: minute(0),
  };
  switch (type) {
    case 'case_created':
      return { case: snapshot };
    case 'case_updated':
      return { case: { ...snapshot, title: 'Renamed' }, changed: ['title'] };
    case 'score_updated':
      return {
        case_id: caseId,
        score: 0.42,
        risk_band: 'medium',
        model_version: 'mock-1',
        reasons: [{ feature: 'amount', contribution: 0.2, description: 'large amount' }],
      };
    case 'score_pending':
      return { case_id: caseId, reason: 'scoring unavailable' };
  }
}

/**
 * Twelve events a minute apart from 2025-06-01T00:00Z: types in turn, cases A and B alternating, three
 * actors in turn; case events come from case-service on the case stream, score events from
 * scoring-service on the scoring stream.
 */
function buildFixture(): EventEnvelope[] {
  return Array.from({ length: 12 }, (_, index) => {
    const type = TYPES[index % TYPES.length]!;
    const caseId = index % 2 === 0 ? caseA : caseB;
    const event = createEvent({
      type,
      source: type.startsWith('case') ? 'case-service' : 'scoring-service',
      subject: `case:${caseId}`,
      actor: ACTORS[index % ACTORS.length],
      requestId: `req-${index}`,
      traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
      data: dataFor(type, caseId),
    });
    return { ...event, time: minute(index) };
  });
}

describe('audit-telemetry-service API (in-process, real Postgres and Redis)', () => {
  let platform: TestPlatform;
  let audit: AuditService;
  let server: RunningServer;
  let redis: Redis;
  let dropDatabase: () => Promise<void>;
  let tokens: { admin: string; analyst: string; viewer: string };
  let base: string;
  const prefix = `test:audit-api:${randomBytes(6).toString('hex')}`;
  const streams = { case: `${prefix}:events:case`, scoring: `${prefix}:events:scoring` };
  const fixture = buildFixture();
  const streamOf = (event: EventEnvelope) => (event.type.startsWith('case') ? streams.case : streams.scoring);
  /** The fixture as the log should list it: newest first. */
  const newestFirst = (events: readonly EventEnvelope[]) =>
    [...events].sort((a, b) => b.time.localeCompare(a.time)).map((event) => event.id);

  before(async () => {
    platform = await startTestPlatform();
    tokens = {
      admin: await login(platform.authUrl, 'admin'),
      analyst: await login(platform.authUrl, 'analyst'),
      viewer: await login(platform.authUrl, 'viewer'),
    };
    const database = await createTestDatabase('audit');
    dropDatabase = database.drop;
    const config = loadAuditServiceConfig({
      APP_ENV: 'test',
      DATABASE_URL: database.url,
      AUTH_JWKS_URL: `${platform.authUrl}/.well-known/jwks.json`,
      REDIS_URL,
      AUDIT_STREAMS: `${streams.case},${streams.scoring}`,
      AUDIT_DEAD_LETTER_STREAM: `${prefix}:events:dead-letter`,
      CONSUMER_NAME: 'audit-api-test',
    });
    audit = await createAuditService(
      config,
      createLogger({ serviceName: SERVICE_NAME, level: 'debug', destination: new LogCapture() }),
    );
    server = await listen(audit.service, 0);
    base = `${server.url}/v1/audit`;
    redis = createRedis(REDIS_URL, { enableOfflineQueue: true });
    // Published out of time order (odd ones backwards, then even ones), so "newest first" is the log's doing.
    const odd = fixture.filter((_, index) => index % 2 === 1).reverse();
    const even = fixture.filter((_, index) => index % 2 === 0);
    for (const event of [...odd, ...even]) await appendEvent(redis, streamOf(event), JSON.stringify(event));
    await eventually(async () => {
      const page = contract(
        'AuditEventList',
        (await request(`${base}?limit=100`, { token: tokens.admin })).body,
      );
      expect(page.items).to.have.length(fixture.length);
    });
  });

  after(async () => {
    await server.close(500);
    await audit.close();
    await dropDatabase();
    await redis.del(streams.case, streams.scoring, `${prefix}:events:dead-letter`);
    await redis.quit();
    await platform.stop();
  });

  const list = async (query: string, token = tokens.analyst) => {
    const result = await request(`${base}${query ? `?${query}` : ''}`, { token });
    expect(result.status, result.text).to.equal(200);
    return contract('AuditEventList', result.body);
  };
  const ids = async (query: string) => (await list(`${query}&limit=100`)).items.map((item) => item.id);

  describe('listing', () => {
    it('lists every event newest first, each as published, matching the AuditEventList contract', async () => {
      // list() asserts the AuditEventList contract.
      const page = await list('limit=100');
      expect(page.items.map((item) => item.id)).to.deep.equal(newestFirst(fixture));
      expect(page.next_cursor).to.equal(null);
      for (const event of fixture) {
        const item = page.items.find((candidate) => candidate.id === event.id);
        expect(item).to.deep.include({
          type: event.type,
          version: event.version,
          source: event.source,
          subject: event.subject,
          actor: event.actor,
          request_id: event.request_id,
          traceparent: event.traceparent,
          occurred_at: event.time,
          stream: streamOf(event),
          data: event.data,
        });
        expect(item?.stream_entry_id).to.match(/^\d+-\d+$/);
        expect(Date.parse(item?.received_at ?? '')).to.be.greaterThan(Date.parse(event.time));
      }
    });

    it('answers 20 events by default', async () => {
      // The fixture has 12: all fit in the default page.
      const page = await list('');
      expect(page.items).to.have.length(12);
      expect(page.next_cursor).to.equal(null);
    });

    it('gets one event by its id, the same as listed, and 404 for an unknown id', async () => {
      const event = fixture[5]!;
      const result = await request(`${base}/${event.id}`, { token: tokens.admin });
      expect(result.status, result.text).to.equal(200);
      const got = contract('AuditEvent', result.body);
      const listed = (await list('limit=100')).items.find((item) => item.id === event.id);
      expect(got).to.deep.equal(listed);
      expectProblem(await request(`${base}/${randomUUID()}`, { token: tokens.admin }), 404, 'not_found');
    });
  });

  describe('filters', () => {
    const expectIds = async (query: string, keep: (event: EventEnvelope) => boolean) => {
      const expected = newestFirst(fixture.filter(keep));
      expect(expected.length, `the fixture must exercise ${query}`).to.be.within(1, fixture.length - 1);
      expect(await ids(query)).to.deep.equal(expected);
    };

    it('type', async () => {
      await expectIds('type=score_updated', (event) => event.type === 'score_updated');
    });

    it('subject', async () => {
      await expectIds(`subject=case:${caseA}`, (event) => event.subject === `case:${caseA}`);
    });

    it('case_id, as shorthand for subject case:<id>', async () => {
      await expectIds(`case_id=${caseB}`, (event) => event.subject === `case:${caseB}`);
      expect(await ids(`case_id=${caseB.toUpperCase()}`)).to.deep.equal(await ids(`subject=case:${caseB}`));
    });

    it('actor', async () => {
      await expectIds('actor=service:case-service', (event) => event.actor === 'service:case-service');
      await expectIds(`actor=${ACTORS[0]}`, (event) => event.actor === ACTORS[0]);
    });

    it('source', async () => {
      await expectIds('source=scoring-service', (event) => event.source === 'scoring-service');
    });

    it('since and until, both inclusive, in any offset', async () => {
      await expectIds(
        `since=${minute(3)}&until=${minute(7)}`,
        (event) => event.time >= minute(3) && event.time <= minute(7),
      );
      await expectIds(`since=${minute(9)}`, (event) => event.time >= minute(9));
      await expectIds(
        `until=${encodeURIComponent('2025-06-01T02:02:00+02:00')}`,
        (event) => event.time <= minute(2),
      );
      await expectIds(`since=${minute(4)}&until=${minute(4)}`, (event) => event.time === minute(4));
    });

    it('several filters at once all apply', async () => {
      await expectIds(
        `case_id=${caseA}&type=case_created&since=${minute(1)}`,
        (event) =>
          event.subject === `case:${caseA}` && event.type === 'case_created' && event.time >= minute(1),
      );
    });

    it('a filter nothing matches answers an empty page', async () => {
      expect(await list(`case_id=${randomUUID()}`)).to.deep.equal({ items: [], next_cursor: null });
    });
  });

  describe('pagination', () => {
    const walk = async (query: string, limit: number) => {
      const seen: unknown[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await list(`${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.items.length).to.be.at.most(limit);
        seen.push(...page.items.map((item) => item.id));
        cursor = page.next_cursor;
        pages += 1;
        expect(pages, 'pagination must end').to.be.at.most(fixture.length + 1);
      } while (cursor);
      return seen;
    };

    it('walks every event exactly once, newest first, following next_cursor', async () => {
      for (const limit of [1, 5, 12]) expect(await walk('', limit)).to.deep.equal(newestFirst(fixture));
    });

    it('walks a filtered list the same way', async () => {
      expect(await walk(`case_id=${caseA}`, 2)).to.deep.equal(
        newestFirst(fixture.filter((event) => event.subject === `case:${caseA}`)),
      );
    });

    it('the last full page says there is no next one', async () => {
      const page = await list('limit=12');
      expect(page.items).to.have.length(12);
      expect(page.next_cursor).to.equal(null);
      expect((await list('limit=11')).next_cursor).to.be.a('string');
    });
  });

  describe('who may read the audit log (docs/adr/0007)', () => {
    it('admins and analysts may (200); viewers may not (403); without a token, 401', async () => {
      const event = fixture[0]!;
      for (const token of [tokens.admin, tokens.analyst]) {
        expect((await request(base, { token })).status).to.equal(200);
        expect((await request(`${base}/${event.id}`, { token })).status).to.equal(200);
      }
      expectProblem(await request(base, { token: tokens.viewer }), 403, 'forbidden');
      expectProblem(await request(`${base}/${event.id}`, { token: tokens.viewer }), 403, 'forbidden');
      expectProblem(await request(base), 401, 'unauthorized');
      expectProblem(await request(`${base}/${event.id}`), 401, 'unauthorized');
      expectProblem(await request(base, { token: 'not.a.token' }), 401, 'unauthorized');
    });
  });

  describe('bad query parameters get a 4xx problem, never a 5xx', () => {
    const forged = (key: string, id = randomUUID()) =>
      Buffer.from(JSON.stringify([key, id])).toString('base64url');
    const cases: [string, string, string][] = [
      ['an unknown type', 'type=case_deleted', 'validation_failed'],
      ['a non-UUID case_id', 'case_id=not-a-uuid', 'validation_failed'],
      ['a URN case_id', `case_id=urn:uuid:${randomUUID()}`, 'validation_failed'],
      ['subject and case_id together', `subject=case:x&case_id=${randomUUID()}`, 'validation_failed'],
      ['an empty subject', 'subject=', 'validation_failed'],
      ['a date that is not a date-time', 'since=yesterday', 'validation_failed'],
      ['a date without time zone', 'since=2026-01-01T00:00:00', 'validation_failed'],
      ['an impossible date', 'until=2026-02-30T00:00:00Z', 'validation_failed'],
      ['the year 0000', 'since=0000-01-01T00:00:00Z', 'validation_failed'],
      ['since after until', `since=${minute(5)}&until=${minute(4)}`, 'validation_failed'],
      ['limit=0', 'limit=0', 'validation_failed'],
      ['limit=101', 'limit=101', 'validation_failed'],
      ['limit=abc', 'limit=abc', 'validation_failed'],
      ['limit=1.5', 'limit=1.5', 'validation_failed'],
      ['limit given twice', 'limit=1&limit=2', 'validation_failed'],
      ['a cursor with bad characters', 'cursor=@@@', 'validation_failed'],
      ['a cursor this API did not issue', 'cursor=bm90LWEtY3Vyc29y', 'validation_failed'],
      ['cursor=0', 'cursor=0', 'validation_failed'],
      [
        'a forged cursor with an impossible timestamp',
        `cursor=${forged('2026-13-45 99:99:99+00')}`,
        'validation_failed',
      ],
      ['an unknown parameter', 'page=2', 'validation_failed'],
    ];
    for (const [name, query, code] of cases) {
      it(`${name}: 400 ${code}`, async () => {
        const result: HttpResult = await request(`${base}?${query}`, { token: tokens.admin });
        expectProblem(result, 400, code);
      });
    }

    it('a validation problem points at each bad parameter', async () => {
      const problem = expectProblem(
        await request(`${base}?type=nope&limit=0&extra=1`, { token: tokens.admin }),
        400,
        'validation_failed',
      );
      const pointers = (problem.errors ?? []).map((error) => error.pointer);
      expect(pointers).to.include.members(['/type', '/limit', '/extra']);
    });

    it('since after until names until', async () => {
      const problem = expectProblem(
        await request(`${base}?since=${minute(5)}&until=${minute(4)}`, { token: tokens.admin }),
        400,
      );
      expect(problem.errors).to.deep.equal([
        { in: 'query', pointer: '/until', message: 'must not be before since' },
      ]);
    });

    for (const id of ['not-a-uuid', `urn:uuid:${randomUUID()}`]) {
      it(`an event id "${id.slice(0, 12)}…" that is not a UUID: 400`, async () => {
        expectProblem(await request(`${base}/${id}`, { token: tokens.admin }), 400, 'validation_failed');
      });
    }
  });
});
