import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createRedis, EVENT_FIELD, parseEvent, STREAMS, type EventEnvelope, type Redis } from '@mrp/events';
import { createLogger, listen, type RunningServer } from '@mrp/platform';
import { toOpenApiPath, type ScoreResult } from '@mrp/schemas';
import {
  createScoringService,
  loadScoringServiceConfig,
  MODEL_VERSION,
  type ModelDescription,
  type ScoringService,
  type ScoringServiceOverrides,
} from '@mrp/scoring-service';
import { buildScoreRequest } from '../support/factories.ts';
import { contract, request, type HttpResult } from '../support/http.ts';
import { LogCapture } from '../support/log-capture.ts';
import { openApiDocument } from '../support/openapi.ts';
import { login, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { expectProblem } from '../support/problem.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { eventually } from '../support/eventually.ts';

const CLAIM_KEY = 'mrp-test:claimed-by';

/** The test's own Redis client: unlike the services' fail-fast client, it waits for the connection. */
const testRedis = (url: string) => createRedis(url, { enableOfflineQueue: true, maxRetriesPerRequest: 3 });

/**
 * A Redis logical database of the real Redis that is empty and claimed for this run (a claim key makes
 * it non-empty for anyone else looking for a free one), so the real stream name can be used without
 * meeting another run's events. `release` deletes only what this run created.
 */
async function claimRedisDatabase(): Promise<{ url: string; client: Redis; release: () => Promise<void> }> {
  const probe = testRedis('redis://127.0.0.1:6379/0');
  try {
    const reply = await probe.config('GET', 'databases');
    const count = Number(reply[1] ?? 16);
    const candidates = Array.from({ length: count - 1 }, (_, index) => index + 1).sort(
      () => Math.random() - 0.5,
    );
    const runId = randomUUID();
    for (const db of candidates) {
      await probe.select(db);
      if ((await probe.dbsize()) !== 0) continue;
      if ((await probe.set(CLAIM_KEY, runId, 'EX', 3600, 'NX')) !== 'OK') continue;
      if ((await probe.dbsize()) !== 1) {
        await probe.del(CLAIM_KEY);
        continue;
      }
      const url = `redis://127.0.0.1:6379/${db}`;
      const client = testRedis(url);
      return {
        url,
        client,
        async release() {
          await client.del(STREAMS.scoring, CLAIM_KEY);
          client.disconnect();
        },
      };
    }
    throw new Error('no empty Redis database is free for this test run');
  } finally {
    probe.disconnect();
  }
}

/** The score events on the stream, oldest first, as parsed (and so validated) envelopes. */
async function scoreEvents(redis: Redis): Promise<EventEnvelope[]> {
  const entries = await redis.xrange(STREAMS.scoring, '-', '+');
  return entries.map(([, fields]) => {
    const index = fields.indexOf(EVENT_FIELD);
    expect(index, 'the entry has an event field').to.be.at.least(0);
    return parseEvent(fields[index + 1]!);
  });
}

const eventsFor = (events: EventEnvelope[], caseId: string) =>
  events.filter((event) => event.data.case_id === caseId);

/** One sample of a metric from a Prometheus text exposition, 0 when absent. */
function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([label, value]) => line.includes(`${label}="${value}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

function expectScoreResult(result: HttpResult, caseId: string): ScoreResult {
  expect(result.status, result.text).to.equal(200);
  expect(result.headers.get('content-type')).to.match(/^application\/json/);
  const body = contract('ScoreResult', result.body);
  expect(body.case_id).to.equal(caseId);
  expect(body.model_version).to.equal(MODEL_VERSION);
  return body;
}

interface RunningScoring {
  readonly url: string;
  readonly scoring: ScoringService;
  readonly logs: LogCapture;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

async function startScoring(
  platform: TestPlatform,
  env: Record<string, string>,
  overrides: ScoringServiceOverrides = {},
): Promise<RunningScoring> {
  const logs = new LogCapture();
  const config = loadScoringServiceConfig({
    APP_ENV: 'test',
    AUTH_JWKS_URL: `${platform.authUrl}/.well-known/jwks.json`,
    SCORING_EVENT_FLUSH_TIMEOUT_MS: '1000',
    ...env,
  });
  const scoring = createScoringService(
    config,
    createLogger({ serviceName: 'scoring-service', level: 'debug', destination: logs }),
    overrides,
  );
  let server: RunningServer;
  try {
    server = await listen(scoring.service, 0);
  } catch (error) {
    await scoring.close();
    throw error;
  }
  return {
    url: server.url,
    scoring,
    logs,
    metrics: async () => (await request(`${server.url}/metrics`)).text,
    async stop() {
      await server.close(500);
      await scoring.close();
    },
  };
}

describe('scoring API', () => {
  let platform: TestPlatform;
  let redis: Awaited<ReturnType<typeof claimRedisDatabase>>;
  let service: RunningScoring;
  const tokens: Record<'admin' | 'analyst' | 'viewer' | 'service', string> = {
    admin: '',
    analyst: '',
    viewer: '',
    service: '',
  };

  before(async () => {
    platform = await startTestPlatform();
    redis = await claimRedisDatabase();
    service = await startScoring(platform, { REDIS_URL: redis.url });
    for (const role of ['admin', 'analyst', 'viewer'] as const)
      tokens[role] = await login(platform.authUrl, role);
    tokens.service = (await platform.auth.tokens.issueServiceToken('case-service')).token;
  });

  after(async () => {
    await service.stop();
    await redis.release();
    await platform.stop();
  });

  const score = (body: unknown, token = tokens.service, headers: Record<string, string> = {}) =>
    request(`${service.url}/v1/scoring/score`, { method: 'POST', token, json: body, headers });

  describe('POST /v1/scoring/score', () => {
    it('scores a case for a service token (case-service) with a contract-valid result', async () => {
      const body = buildScoreRequest();
      const result = expectScoreResult(await score(body, tokens.service), body.case_id as string);
      expect(result.score).to.be.within(0, 1);
      expect(result.reasons).to.be.an('array').with.length.within(1, 3);
      expect(Date.parse(result.scored_at)).to.be.closeTo(Date.now(), 60_000);
    });

    it("refuses every person's token with 403, so nobody can publish a case's score by hand", async () => {
      for (const role of ['admin', 'analyst', 'viewer'] as const) {
        const body = buildScoreRequest();
        expectProblem(await score(body, tokens[role]), 403, 'forbidden');
        // Nothing was published for that case.
        expect(eventsFor(await scoreEvents(redis.client), body.case_id as string), role).to.deep.equal([]);
      }
    });

    it('refuses a service token without the scoring:score scope (another service, auth-service itself) with 403', async () => {
      for (const client of ['auth-service', 'reporting-service']) {
        const { token } = await platform.auth.tokens.issueServiceToken(client);
        const body = buildScoreRequest();
        const result = await score(body, token);
        expect(expectProblem(result, 403, 'forbidden').detail).to.include('scoring:score');
        expect(eventsFor(await scoreEvents(redis.client), body.case_id as string), client).to.deep.equal([]);
      }
    });

    it('gives the same input the same score, band and reasons every time', async () => {
      const body = buildScoreRequest({
        features: { priority_level: 2, amount: 3100, segment: 'smb', flag_x: 7 },
      });
      const first = contract('ScoreResult', (await score(body)).body);
      const second = contract('ScoreResult', (await score(body)).body);
      const reordered = contract(
        'ScoreResult',
        (
          await score({
            features: { flag_x: 7, segment: 'smb', amount: 3100, priority_level: 2 },
            case_id: body.case_id,
          })
        ).body,
      );
      for (const other of [second, reordered]) {
        expect(other.score).to.equal(first.score);
        expect(other.risk_band).to.equal(first.risk_band);
        expect(other.reasons).to.deep.equal(first.reasons);
      }
    });

    it('scores higher-risk features into a higher band, with their reasons', async () => {
      const low = contract(
        'ScoreResult',
        (await score(buildScoreRequest({ features: { priority_level: 1 } }))).body,
      );
      const high = contract(
        'ScoreResult',
        (
          await score(
            buildScoreRequest({
              features: { priority_level: 4, prior_incidents: 9, amount: 2_000_000, is_new_customer: true },
            }),
          )
        ).body,
      );
      expect(low.risk_band).to.equal('low');
      expect(high.risk_band).to.equal('high');
      expect(high.reasons.map((reason) => reason.feature)).to.deep.equal([
        'priority_level',
        'prior_incidents',
        'amount',
      ]);
    });

    it('refuses a missing or bad token with 401', async () => {
      expectProblem(
        await request(`${service.url}/v1/scoring/score`, { method: 'POST', json: buildScoreRequest() }),
        401,
        'unauthorized',
      );
      expectProblem(await score(buildScoreRequest(), 'not-a-jwt'), 401, 'unauthorized');
    });

    const features51 = Object.fromEntries(Array.from({ length: 51 }, (_, index) => [`f_${index}`, index]));
    const badBodies: [string, Record<string, unknown>, number, string][] = [
      ['a case_id that is not a UUID', buildScoreRequest({ case_id: 'case-1' }), 400, 'validation_failed'],
      ['features that are an array', buildScoreRequest({ features: [1, 2] }), 400, 'validation_failed'],
      ['features that are a string', buildScoreRequest({ features: 'priority=4' }), 400, 'validation_failed'],
      ['no features', { case_id: randomUUID() }, 400, 'validation_failed'],
      ['more than 50 features', buildScoreRequest({ features: features51 }), 400, 'validation_failed'],
      [
        'a feature name with capitals',
        buildScoreRequest({ features: { Priority: 1 } }),
        400,
        'validation_failed',
      ],
      [
        'a feature name with a dash',
        buildScoreRequest({ features: { 'prior-incidents': 1 } }),
        400,
        'validation_failed',
      ],
      [
        'a nested object value',
        buildScoreRequest({ features: { customer: { tier: 'gold' } } }),
        400,
        'validation_failed',
      ],
      ['an array value', buildScoreRequest({ features: { tags: ['a'] } }), 400, 'validation_failed'],
      ['a null value', buildScoreRequest({ features: { amount: null } }), 400, 'validation_failed'],
      [
        'a string over 500 characters',
        buildScoreRequest({ features: { note: 'x'.repeat(501) } }),
        400,
        'validation_failed',
      ],
      [
        'a known feature of the wrong type',
        buildScoreRequest({ features: { priority_level: 'high' } }),
        400,
        'validation_failed',
      ],
      ['an unknown field', buildScoreRequest({ model: 'gpt' }), 400, 'validation_failed'],
    ];
    const rejectedCaseIds: string[] = [];

    for (const [what, body, status, code] of badBodies) {
      it(`answers ${status} problem+json for ${what}`, async () => {
        if (typeof body.case_id === 'string') rejectedCaseIds.push(body.case_id);
        const problem = expectProblem(await score(body), status, code);
        expect(problem.errors).to.be.an('array').that.is.not.empty;
      });
    }

    it('points at the feature whose type the model refuses', async () => {
      const problem = expectProblem(
        await score(buildScoreRequest({ features: { priority_level: 'high', is_new_customer: 'yes' } })),
        400,
        'validation_failed',
      );
      expect(problem.errors).to.deep.equal([
        { in: 'body', pointer: '/features/priority_level', message: 'must be a number' },
        { in: 'body', pointer: '/features/is_new_customer', message: 'must be a boolean' },
      ]);
    });

    it('answers 400 for malformed JSON, 415 for another content type, 413 for a huge body', async () => {
      const post = (body: string, contentType: string) =>
        request(`${service.url}/v1/scoring/score`, {
          method: 'POST',
          token: tokens.service,
          body,
          headers: { 'content-type': contentType },
        });
      expectProblem(await post('{"case_id": "x", "features": {', 'application/json'), 400, 'malformed_body');
      expectProblem(
        await post(JSON.stringify(buildScoreRequest()), 'text/plain'),
        415,
        'unsupported_media_type',
      );
      expectProblem(
        await post('case_id=x&features=y', 'application/x-www-form-urlencoded'),
        415,
        'unsupported_media_type',
      );
      const huge = JSON.stringify(buildScoreRequest({ features: { note: 'x'.repeat(200_000) } }));
      expectProblem(await post(huge, 'application/json'), 413, 'payload_too_large');
    });

    it('refuses query parameters, so nothing in a request can switch a fault on', async () => {
      const result = await request(`${service.url}/v1/scoring/score?fault=error`, {
        method: 'POST',
        token: tokens.service,
        json: buildScoreRequest(),
      });
      expectProblem(result, 400, 'validation_failed');
      const withHeaders = await score(buildScoreRequest(), tokens.service, {
        'x-fault': 'hang',
        'x-scoring-fault-error-rate': '1',
      });
      expect(withHeaders.status).to.equal(200);
    });

    it('publishes no event for a rejected request', async () => {
      expect(rejectedCaseIds.length).to.be.at.least(5);
      // The publisher delivers in order: once a later accepted score is on the stream, any event of an
      // earlier rejected request would be there too.
      const accepted = buildScoreRequest();
      expect((await score(accepted)).status).to.equal(200);
      await eventually(async () => {
        expect(eventsFor(await scoreEvents(redis.client), accepted.case_id as string)).to.have.length(1);
      });
      const events = await scoreEvents(redis.client);
      for (const caseId of rejectedCaseIds) expect(eventsFor(events, caseId), caseId).to.deep.equal([]);
    });
  });

  describe('score_updated events', () => {
    it('puts a valid score_updated event for the case on the real stream, with who and which request', async () => {
      const body = buildScoreRequest();
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const result = await score(body, tokens.service, {
        traceparent,
        'x-request-id': `req-${randomUUID()}`,
      });
      const scored = expectScoreResult(result, body.case_id as string);

      let events: EventEnvelope[] = [];
      await eventually(async () => {
        events = eventsFor(await scoreEvents(redis.client), body.case_id as string);
        expect(events).to.have.length(1);
      });
      const event = events[0]!;
      expect(event.type).to.equal('score_updated');
      expect(event.version).to.equal(1);
      expect(event.source).to.equal('scoring-service');
      expect(event.subject).to.equal(`case:${String(body.case_id)}`);
      expect(event.request_id).to.equal(result.headers.get('x-request-id'));
      expect(event.actor).to.equal('service:case-service');
      expect(event.traceparent).to.equal(traceparent);
      expect(event.data).to.deep.equal({
        case_id: body.case_id,
        score: scored.score,
        risk_band: scored.risk_band,
        model_version: MODEL_VERSION,
        reasons: scored.reasons,
      });
    });

    it("names the calling service as the actor of a service token's score", async () => {
      const body = buildScoreRequest();
      expect((await score(body, tokens.service)).status).to.equal(200);
      await eventually(async () => {
        const [event] = eventsFor(await scoreEvents(redis.client), body.case_id as string);
        expect(event?.actor).to.equal('service:case-service');
      });
    });

    it('counts published events and scores by band in /metrics', async () => {
      await eventually(async () => {
        expect(metricValue(await service.metrics(), 'scoring_events_queued')).to.equal(0);
      });
      const before = await service.metrics();
      expect((await score(buildScoreRequest({ features: { priority_level: 1 } }))).status).to.equal(200);
      await eventually(async () => {
        const after = await service.metrics();
        expect(metricValue(after, 'scoring_events_published_total')).to.equal(
          metricValue(before, 'scoring_events_published_total') + 1,
        );
        expect(metricValue(after, 'scoring_scores_total', { risk_band: 'low' })).to.equal(
          metricValue(before, 'scoring_scores_total', { risk_band: 'low' }) + 1,
        );
        expect(metricValue(after, 'scoring_events_queued')).to.equal(0);
      });
      expect(await service.metrics()).to.match(/scoring_events_published_total\{service="scoring-service"\}/);
    });
  });

  describe('GET /v1/scoring/model', () => {
    for (const role of ['viewer', 'analyst', 'admin'] as const) {
      it(`describes the model, its features and weights to the ${role} role`, async () => {
        const result = await request(`${service.url}/v1/scoring/model`, { token: tokens[role] });
        expect(result.status, result.text).to.equal(200);
        // No contract describes the model (its route names no schema): check the members read here.
        expect(result.body)
          .to.be.an('object')
          .that.includes.all.keys('model_version', 'intercept', 'features', 'unknown_features');
        const model = result.body as ModelDescription;
        expect(model.model_version).to.equal(MODEL_VERSION);
        expect(model.intercept).to.be.a('number');
        const features = model.features;
        expect(features).to.be.an('array');
        expect(features.find((feature) => feature.name === 'priority_level')?.weight).to.be.above(0);
        expect(features.find((feature) => feature.name === 'description_length')?.weight).to.be.below(0);
        expect(model.unknown_features).to.have.keys('number', 'boolean', 'string');
      });
    }

    it("needs a token, and a person's: no service needs it", async () => {
      expectProblem(await request(`${service.url}/v1/scoring/model`), 401, 'unauthorized');
      expectProblem(
        await request(`${service.url}/v1/scoring/model`, { token: tokens.service }),
        403,
        'forbidden',
      );
    });
  });

  describe('operations', () => {
    it('is ready with Redis and lists exactly its mounted routes in /openapi.json', async () => {
      const ready = await request(`${service.url}/readyz`);
      expect(ready.status).to.equal(200);
      const document = openApiDocument((await request(`${service.url}/openapi.json`)).body);
      const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
      );
      const mounted = service.scoring.service.mountedRoutes().map((route) => {
        const [method, path] = route.split(' ');
        return `${method!} ${toOpenApiPath(path!)}`;
      });
      expect(documented.sort()).to.deep.equal(mounted.sort());
      expect(documented).to.include.members(['POST /v1/scoring/score', 'GET /v1/scoring/model']);
    });
  });

  describe('fault injection (configuration only)', () => {
    const running: RunningScoring[] = [];
    const start = async (env: Record<string, string>, overrides: ScoringServiceOverrides = {}) => {
      const started = await startScoring(platform, { REDIS_URL: redis.url, ...env }, overrides);
      running.push(started);
      return started;
    };
    const scoreOn = (target: RunningScoring, init: { signal?: AbortSignal } = {}) =>
      fetch(`${target.url}/v1/scoring/score`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.service}`, 'content-type': 'application/json' },
        body: JSON.stringify(buildScoreRequest()),
        ...init,
      });

    after(async () => {
      await Promise.all(running.map((target) => target.stop()));
    });

    it('answers every scoring request with a 503 problem at error rate 1, and leaves the rest alone', async () => {
      const faulty = await start({ SCORING_FAULT_ERROR_RATE: '1' });
      for (let index = 0; index < 3; index += 1) {
        const result = await request(`${faulty.url}/v1/scoring/score`, {
          method: 'POST',
          token: tokens.service,
          json: buildScoreRequest(),
        });
        expectProblem(result, 503, 'injected_fault');
        expect(result.headers.get('retry-after')).to.equal('1');
      }
      expect((await request(`${faulty.url}/v1/scoring/model`, { token: tokens.viewer })).status).to.equal(
        200,
      );
      expect((await request(`${faulty.url}/healthz`)).status).to.equal(200);
      expect((await request(`${faulty.url}/readyz`)).status).to.equal(200);
      expect(
        metricValue(await faulty.metrics(), 'scoring_injected_faults_total', { kind: 'error' }),
      ).to.equal(3);
      expect(metricValue(await faulty.metrics(), 'scoring_events_published_total')).to.equal(0);
    });

    it('fails exactly the requests whose random draw is below the error rate', async () => {
      const draws = [0.1, 0.9, 0.29, 0.3];
      let next = 0;
      const faulty = await start(
        { SCORING_FAULT_ERROR_RATE: '0.3' },
        { random: () => draws[next++ % draws.length]! },
      );
      const statuses: number[] = [];
      for (let index = 0; index < 4; index += 1) statuses.push((await scoreOn(faulty)).status);
      expect(statuses).to.deep.equal([503, 200, 503, 200]);
    });

    it('adds the configured latency and still answers 200', async () => {
      const slow = await start({ SCORING_FAULT_LATENCY_MS: '50' });
      expect((await scoreOn(slow)).status).to.equal(200);
      expect(
        metricValue(await slow.metrics(), 'scoring_injected_faults_total', { kind: 'latency' }),
      ).to.equal(1);
    });

    it("holds a request without ever answering, until the caller's own timeout gives up", async () => {
      const stuck = await start({ SCORING_FAULT_HANG: 'true' });
      let failure: unknown;
      try {
        await scoreOn(stuck, { signal: AbortSignal.timeout(500) });
      } catch (error) {
        failure = error;
      }
      expect(failure, 'the request got an answer').to.be.instanceOf(Error);
      expect((failure as Error).name).to.equal('TimeoutError');
      expect(metricValue(await stuck.metrics(), 'scoring_injected_faults_total', { kind: 'hang' })).to.equal(
        1,
      );
      expect((await request(`${stuck.url}/healthz`)).status).to.equal(200);
    });
  });

  describe('while Redis is unreachable', () => {
    let proxy: TcpProxy;
    let cutOff: RunningScoring;

    before(async () => {
      // The proxy's port, once cut, is a port nothing listens on; restarting it brings Redis back there.
      proxy = new TcpProxy('127.0.0.1', 6379);
      await proxy.start();
      await proxy.cut();
      const url = new URL(redis.url);
      url.port = String(proxy.port);
      cutOff = await startScoring(platform, { REDIS_URL: url.toString(), SCORING_EVENT_QUEUE_CAPACITY: '2' });
    });

    after(async () => {
      await cutOff.stop();
      await proxy.cut();
    });

    it('keeps scoring and stays ready, queues the events (dropping the oldest beyond capacity) and delivers them once Redis is back', async () => {
      const bodies = [buildScoreRequest(), buildScoreRequest(), buildScoreRequest()];
      for (const body of bodies) {
        expectScoreResult(
          await request(`${cutOff.url}/v1/scoring/score`, {
            method: 'POST',
            token: tokens.service,
            json: body,
          }),
          body.case_id as string,
        );
      }
      expect((await request(`${cutOff.url}/readyz`)).status).to.equal(200);
      await eventually(async () => {
        const metrics = await cutOff.metrics();
        expect(metricValue(metrics, 'scoring_events_queued')).to.equal(2);
        expect(metricValue(metrics, 'scoring_events_dropped_total', { reason: 'overflow' })).to.equal(1);
        expect(metricValue(metrics, 'scoring_events_publish_failures_total')).to.be.at.least(1);
      });
      const caseIds = bodies.map((body) => body.case_id as string);
      expect(eventsFor(await scoreEvents(redis.client), caseIds[1]!)).to.deep.equal([]);

      await proxy.start();
      await eventually(async () => {
        const events = await scoreEvents(redis.client);
        expect(eventsFor(events, caseIds[1]!), 'second event').to.have.length(1);
        expect(eventsFor(events, caseIds[2]!), 'third event').to.have.length(1);
      }, 150);
      const metrics = await cutOff.metrics();
      expect(metricValue(metrics, 'scoring_events_queued')).to.equal(0);
      expect(metricValue(metrics, 'scoring_events_published_total')).to.equal(2);
      // The oldest was dropped at the overflow, so it is not on the stream.
      expect(eventsFor(await scoreEvents(redis.client), caseIds[0]!)).to.deep.equal([]);
    });
  });
});
