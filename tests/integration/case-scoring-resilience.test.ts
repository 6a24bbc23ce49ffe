import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { CaseV2 } from '@mrp/schemas';
import { contract, request } from '../support/http.ts';
import { startTestCaseService, type TestCaseService } from '../support/case-platform.ts';
import { eventually } from '../support/eventually.ts';
import { login, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { freePort } from '../support/ports.ts';
import { startTestScoringService, type TestScoringService } from '../support/scoring-platform.ts';

/**
 * case-service and the real scoring-service, in process: scoring up, stopped, and hanging. Creates must
 * always succeed; the breaker must open; once scoring is back every pending case is scored by the worker.
 */
describe('case scoring through timeouts, retries, breaker and bulkhead', () => {
  let platform: TestPlatform;
  let cases: TestCaseService;
  let scoringPort: number;
  let scoring: TestScoringService | undefined;
  let db: pg.Pool;
  let token: string;
  const scoringStream = `test:${randomBytes(4).toString('hex')}:events:scoring`;
  const scoringEnv = { SCORING_EVENT_STREAM: scoringStream, SCORING_EVENT_FLUSH_TIMEOUT_MS: '200' };

  before(async () => {
    platform = await startTestPlatform();
    scoringPort = await freePort();
    scoring = await startTestScoringService(platform, { port: scoringPort, env: scoringEnv });
    cases = await startTestCaseService(platform, {
      scoringUrl: `http://127.0.0.1:${scoringPort}`,
      // The create call's budget: 3 attempts of 300 ms plus backoff under 100 ms each.
      env: { SCORING_RETRIES: '2', SCORING_ATTEMPT_TIMEOUT_MS: '300', SCORING_BREAKER_VOLUME: '3' },
    });
    db = new pg.Pool({ connectionString: cases.databaseUrl, max: 2 });
    token = await login(platform.authUrl, 'analyst');
  });

  after(async () => {
    await db.end();
    await scoring?.stop();
    await cases.stop();
    await platform.stop();
    const redis = new Redis('redis://127.0.0.1:6379');
    await redis.del(scoringStream);
    redis.disconnect();
  });

  const createCase = async (features: Record<string, unknown> = {}) => {
    const result = await request(`${cases.url}/v2/cases`, {
      method: 'POST',
      token,
      json: { title: 'Resilience', owner_id: randomUUID(), priority: 'high', features },
      headers: { 'idempotency-key': randomUUID() },
    });
    expect(result.status, result.text).to.equal(201);
    return contract('CaseV2', result.body);
  };

  const eventTypes = async (caseId: string) =>
    (
      await db.query<{ type: string }>(
        "SELECT payload->>'type' AS type FROM outbox WHERE aggregate_id = $1 ORDER BY id",
        [caseId],
      )
    ).rows.map((row) => row.type);

  const breakerState = async () => {
    const text = await (await fetch(`${cases.url}/metrics`)).text();
    return Number(/^scoring_client_breaker_state(?:\{[^}]*\})? (\d)/m.exec(text)?.[1]);
  };

  const allScored = async (ids: string[]) => {
    for (const id of ids) {
      const current = contract('CaseV2', (await request(`${cases.url}/v2/cases/${id}`, { token })).body);
      expect(current.status, id).to.equal('SCORED');
      expect(await eventTypes(id)).to.include('score_updated');
    }
  };

  it('with scoring up, a new case is SCORED with the model version and reasons, and score_updated is emitted', async () => {
    const created = await createCase({ amount: 25_000, prior_incidents: 2 });
    expect(created.status).to.equal('SCORED');
    expect(created.score, 'the score of a SCORED case').not.to.equal(null);
    const score = created.score!;
    expect(score.value).to.be.within(0, 1);
    expect(score.model_version).to.be.a('string').and.not.empty;
    expect(score.reasons).to.be.an('array').that.is.not.empty;
    expect(await eventTypes(created.id)).to.deep.equal(['case_created', 'score_updated']);
  });

  it('a keyed create stores its answer with the score: the answer, its replay and a read show the same case', async () => {
    for (const version of ['v1', 'v2'] as const) {
      const key = randomUUID();
      const body = {
        title: 'Answer',
        owner_id: randomUUID(),
        ...(version === 'v2' && { priority: 'low', features: { amount: 1234.5 } }),
      };
      const send = () =>
        request(`${cases.url}/${version}/cases`, {
          method: 'POST',
          token,
          json: body,
          headers: { 'idempotency-key': key },
        });
      const first = await send();
      expect(first.status, first.text).to.equal(201);
      const answer = contract(version === 'v1' ? 'CaseV1' : 'CaseV2', first.body);
      expect(answer.status).to.equal('SCORED');
      const replay = await send();
      expect(replay.headers.get('idempotent-replayed')).to.equal('true');
      expect(replay.body, version).to.deep.equal(first.body);
      const read = await request(`${cases.url}/${version}/cases/${answer.id}`, { token });
      expect(read.body, version).to.deep.equal(first.body);
    }
  });

  it('a case closed while it is being scored: its answer and the replay show it as stored, CLOSED with its score', async () => {
    const slowPort = await freePort();
    const slow = await startTestScoringService(platform, {
      port: slowPort,
      env: { ...scoringEnv, SCORING_FAULT_LATENCY_MS: '1500' },
    });
    const slowCases = await startTestCaseService(platform, {
      scoringUrl: `http://127.0.0.1:${slowPort}`,
      env: { SCORING_RETRIES: '0', SCORING_ATTEMPT_TIMEOUT_MS: '10000' },
      startWorkers: false,
    });
    try {
      const key = randomUUID();
      const body = { title: 'Closed meanwhile', owner_id: randomUUID() };
      const send = () =>
        request(`${slowCases.url}/v2/cases`, {
          method: 'POST',
          token,
          json: body,
          headers: { 'idempotency-key': key },
        });
      const creating = send();
      // The case is stored before scoring is asked: close it while scoring takes its time.
      let id = '';
      await eventually(async () => {
        const page = await request(`${slowCases.url}/v2/cases?owner_id=${body.owner_id}`, { token });
        const { items } = contract('CaseListV2', page.body);
        expect(items).to.have.length(1);
        id = items[0]!.id;
      });
      const closed = await request(`${slowCases.url}/v2/cases/${id}`, {
        method: 'PATCH',
        token,
        json: { status: 'CLOSED' },
      });
      expect(closed.status, closed.text).to.equal(200);
      const first = await creating;
      expect(first.status, first.text).to.equal(201);
      const answer = contract('CaseV2', first.body);
      expect(answer.status).to.equal('CLOSED');
      expect(answer.score).to.be.an('object');
      const replay = await send();
      expect(replay.headers.get('idempotent-replayed')).to.equal('true');
      expect(replay.body).to.deep.equal(first.body);
      const read = await request(`${slowCases.url}/v2/cases/${id}`, { token });
      expect(read.body).to.deep.equal(first.body);
    } finally {
      await slowCases.stop();
      await slow.stop();
    }
  });

  it('with scoring stopped, creates still succeed as PENDING_SCORE, the breaker opens, and recovery scores them all', async () => {
    await scoring!.stop();
    scoring = undefined;
    const pending: CaseV2[] = [];
    for (let i = 0; i < 6; i += 1) pending.push(await createCase());
    for (const created of pending) {
      expect(created.status).to.equal('PENDING_SCORE');
      expect(created.score).to.equal(null);
      expect(await eventTypes(created.id)).to.deep.equal(['case_created', 'score_pending']);
    }
    expect(await breakerState()).to.equal(2);

    scoring = await startTestScoringService(platform, { port: scoringPort, env: scoringEnv });
    await eventually(() => allScored(pending.map((created) => created.id)), 100);
    await eventually(async () => {
      expect(await breakerState()).to.equal(0);
    });
  });

  it('with scoring hanging (connections accepted, never answered), creates still succeed, the breaker opens, recovery scores them, and the metrics show it', async () => {
    await scoring!.stop();
    scoring = await startTestScoringService(platform, {
      port: scoringPort,
      env: { ...scoringEnv, SCORING_FAULT_HANG: 'true' },
    });
    // The breaker counts a rolling window that still holds the recovery's successes: keep creating
    // (bounded) until the failures outweigh them and it opens.
    const pending: CaseV2[] = [];
    for (let i = 0; i < 20 && (await breakerState()) !== 2; i += 1) {
      const created = await createCase();
      expect(created.status).to.equal('PENDING_SCORE');
      pending.push(created);
    }
    expect(await breakerState()).to.equal(2);
    // Once open, a create does not even try scoring.
    pending.push(await createCase());
    expect(pending.at(-1)!.status).to.equal('PENDING_SCORE');

    await scoring.stop();
    scoring = await startTestScoringService(platform, { port: scoringPort, env: scoringEnv });
    await eventually(() => allScored(pending.map((created) => created.id)), 100);
    await eventually(async () => {
      expect(await breakerState()).to.equal(0);
    });

    const text = await (await fetch(`${cases.url}/metrics`)).text();
    /** The value of the first series of `name` carrying `label`, or undefined when there is none. */
    const value = (name: string, label = '') => {
      const line = text
        .split('\n')
        .find((candidate) => candidate.startsWith(`${name}{`) && candidate.includes(label));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    expect(value('scoring_client_breaker_state')).to.be.oneOf([0, 1, 2]);
    expect(value('scoring_client_breaker_transitions_total', 'state="open"')).to.be.at.least(1);
    expect(value('scoring_client_breaker_transitions_total', 'state="closed"')).to.be.at.least(1);
    expect(value('scoring_client_retries_total')).to.be.greaterThan(0);
    expect(value('scoring_client_bulkhead_rejections_total')).to.equal(0);
    expect(value('scoring_client_bulkhead_in_use', 'slot="active"')).to.equal(0);
    expect(value('outbox_backlog')).to.be.a('number');
    expect(value('outbox_oldest_unpublished_age_seconds')).to.be.a('number');
    expect(value('outbox_published_total')).to.be.greaterThan(0);
    expect(value('case_rescore_attempts_total', 'outcome="scored"')).to.be.at.least(pending.length);
  });
});

describe('the bulkhead towards scoring', () => {
  let platform: TestPlatform;
  let scoring: TestScoringService;
  let cases: TestCaseService;
  const scoringStream = `test:${randomBytes(4).toString('hex')}:events:scoring`;

  before(async () => {
    platform = await startTestPlatform();
    // Slow scoring, one call at a time and no queue: concurrent creates overflow the bulkhead.
    scoring = await startTestScoringService(platform, {
      env: {
        SCORING_EVENT_STREAM: scoringStream,
        SCORING_FAULT_LATENCY_MS: '300',
        SCORING_EVENT_FLUSH_TIMEOUT_MS: '200',
      },
    });
    cases = await startTestCaseService(platform, {
      scoringUrl: scoring.url,
      startWorkers: false,
      env: {
        SCORING_BULKHEAD_CONCURRENCY: '1',
        SCORING_BULKHEAD_QUEUE: '0',
        SCORING_ATTEMPT_TIMEOUT_MS: '2000',
      },
    });
  });

  after(async () => {
    await cases.stop();
    await scoring.stop();
    await platform.stop();
    const redis = new Redis('redis://127.0.0.1:6379');
    await redis.del(scoringStream);
    redis.disconnect();
  });

  it('refuses calls beyond its capacity at once: those cases are stored PENDING_SCORE, the others SCORED', async () => {
    const token = await login(platform.authUrl, 'analyst');
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        request(`${cases.url}/v1/cases`, {
          method: 'POST',
          token,
          json: { title: 'Crowd', owner_id: randomUUID() },
        }),
      ),
    );
    const statuses = results.map((result) => {
      expect(result.status, result.text).to.equal(201);
      return contract('CaseV1', result.body).status;
    });
    expect(statuses).to.include('SCORED');
    expect(statuses).to.include('PENDING_SCORE');
    const metrics = await (await fetch(`${cases.url}/metrics`)).text();
    const rejected = /^scoring_client_bulkhead_rejections_total(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1];
    expect(Number(rejected)).to.equal(statuses.filter((status) => status === 'PENDING_SCORE').length);
  });
});
