import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import pg from 'pg';
import { buildCase } from '../support/factories.ts';
import { contract, request, type HttpResult } from '../support/http.ts';
import { startTestCaseService, type TestCaseService } from '../support/case-platform.ts';
import { login, startTestPlatform, type RoleName, type TestPlatform } from '../support/platform.ts';
import { freePort } from '../support/ports.ts';
import { expectProblem } from '../support/problem.ts';

describe('case-service API (in-process, real Postgres and Redis; scoring unreachable)', () => {
  let platform: TestPlatform;
  let cases: TestCaseService;
  let tokens: Record<RoleName, string>;
  let db: pg.Pool;

  before(async () => {
    platform = await startTestPlatform();
    // Nothing listens on this port: every case ends PENDING_SCORE, which these tests do not depend on.
    cases = await startTestCaseService(platform, {
      scoringUrl: `http://127.0.0.1:${await freePort()}`,
      startWorkers: false,
    });
    db = new pg.Pool({ connectionString: cases.databaseUrl, max: 2 });
    tokens = {
      admin: await login(platform.authUrl, 'admin'),
      analyst: await login(platform.authUrl, 'analyst'),
      viewer: await login(platform.authUrl, 'viewer'),
    };
  });

  after(async () => {
    await db.end();
    await cases.stop();
    await platform.stop();
  });

  const create = (version: 'v1' | 'v2', body: unknown, options: { token?: string; key?: string } = {}) =>
    request(`${cases.url}/${version}/cases`, {
      method: 'POST',
      token: options.token ?? tokens.analyst,
      json: body,
      headers: options.key ? { 'idempotency-key': options.key } : {},
    });

  const count = async (sql: string, values: unknown[]) =>
    Number((await db.query<{ n: string }>(sql, values)).rows[0]!.n);

  describe('creating cases', () => {
    it("the seed's v1 call (with priority) answers 201; v1 never shows priority", async () => {
      const ownerId = randomUUID();
      const result = await create(
        'v1',
        { title: 'Investigate', owner_id: ownerId, priority: 'high' },
        { key: `case-${randomUUID()}` },
      );
      expect(result.status, result.text).to.equal(201);
      const body = contract('CaseV1', result.body);
      expect(body).to.include({ title: 'Investigate', owner_id: ownerId, description: null });
      expect(body).not.to.have.property('priority');
      expect(body.status).to.be.oneOf(['SCORED', 'PENDING_SCORE']);
      expect(result.headers.get('location')).to.equal(`/v1/cases/${body.id}`);
    });

    it('v2 stores a priority; v1 reads of that case omit it, v2 reads show it', async () => {
      const created = contract('CaseV2', (await create('v2', buildCase({ priority: 'critical' }))).body);
      expect(created.priority).to.equal('critical');
      const v1 = contract(
        'CaseV1',
        (await request(`${cases.url}/v1/cases/${created.id}`, { token: tokens.viewer })).body,
      );
      const v2 = contract(
        'CaseV2',
        (await request(`${cases.url}/v2/cases/${created.id}`, { token: tokens.viewer })).body,
      );
      expect(v1).not.to.have.property('priority');
      expect(v2.priority).to.equal('critical');
      const { priority: _priority, ...v2WithoutPriority } = v2;
      expect(v1).to.deep.equal(v2WithoutPriority);
    });

    it('v2 defaults the priority to medium, and v1 ignores any priority it is sent', async () => {
      expect(contract('CaseV2', (await create('v2', buildCase())).body).priority).to.equal('medium');
      const fromV1 = contract('CaseV1', (await create('v1', buildCase({ priority: 'not-even-valid' }))).body);
      const v2 = contract(
        'CaseV2',
        (await request(`${cases.url}/v2/cases/${fromV1.id}`, { token: tokens.viewer })).body,
      );
      expect(v2.priority).to.equal('medium');
    });

    it('an invalid v2 priority is 400', async () => {
      expectProblem(await create('v2', buildCase({ priority: 'urgent' })), 400, 'validation_failed');
    });

    it('writes case_created to the outbox in the same transaction as the case', async () => {
      const created = contract('CaseV1', (await create('v1', buildCase())).body);
      expect(
        await count(
          "SELECT count(*) AS n FROM outbox WHERE aggregate_id = $1 AND payload->>'type' = 'case_created'",
          [created.id],
        ),
      ).to.equal(1);
    });
  });

  describe('Idempotency-Key', () => {
    it('the same key and body replay the first response, marked as a replay', async () => {
      const key = `key-${randomUUID()}`;
      const body = buildCase();
      const first = await create('v1', body, { key });
      const second = await create('v1', body, { key });
      expect(first.status).to.equal(201);
      expect(second.status).to.equal(201);
      expect(second.body).to.deep.equal(first.body);
      expect(second.headers.get('idempotent-replayed')).to.equal('true');
      expect(first.headers.get('idempotent-replayed')).to.equal(null);
      expect(await count('SELECT count(*) AS n FROM cases WHERE owner_id = $1', [body.owner_id])).to.equal(1);
    });

    it('the same key with another body is 422 and creates nothing', async () => {
      const key = `key-${randomUUID()}`;
      const body = buildCase();
      await create('v1', body, { key });
      expectProblem(
        await create('v1', { ...body, title: 'Something else' }, { key }),
        422,
        'idempotency_key_reused',
      );
      expect(await count('SELECT count(*) AS n FROM cases WHERE owner_id = $1', [body.owner_id])).to.equal(1);
    });

    it('keys are scoped to the caller: another user with the same key gets a case of their own', async () => {
      const key = `key-${randomUUID()}`;
      const body = buildCase();
      const byAnalyst = contract('CaseV1', (await create('v1', body, { key, token: tokens.analyst })).body);
      const byAdmin = contract('CaseV1', (await create('v1', body, { key, token: tokens.admin })).body);
      expect(byAdmin.id).not.to.equal(byAnalyst.id);
    });

    it('25 concurrent creates with one key leave exactly one case and one case_created event', async () => {
      const key = `key-${randomUUID()}`;
      const body = buildCase();
      const results = await Promise.all(Array.from({ length: 25 }, () => create('v1', body, { key })));
      const statuses = results.map((result) => result.status);
      expect(statuses.filter((status) => status === 201).length).to.be.at.least(1);
      expect(
        statuses.every((status) => status === 201 || status === 409),
        statuses.join(','),
      ).to.equal(true);
      for (const conflict of results.filter((result) => result.status === 409))
        expectProblem(conflict, 409, 'idempotency_key_in_flight');
      const ids = new Set(
        results.filter((result) => result.status === 201).map((result) => contract('CaseV1', result.body).id),
      );
      expect(ids.size).to.equal(1);
      expect(await count('SELECT count(*) AS n FROM cases WHERE owner_id = $1', [body.owner_id])).to.equal(1);
      expect(
        await count(
          "SELECT count(*) AS n FROM outbox WHERE aggregate_id = $1 AND payload->>'type' = 'case_created'",
          [[...ids][0]],
        ),
      ).to.equal(1);
    });

    it('an expired key is forgotten: the same key then creates a new case, whatever the body', async () => {
      const key = `key-${randomUUID()}`;
      const first = contract('CaseV1', (await create('v1', buildCase(), { key })).body);
      await db.query("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1", [
        key,
      ]);
      const second = await create('v1', buildCase({ title: 'Another body' }), { key });
      expect(second.status, second.text).to.equal(201);
      expect(contract('CaseV1', second.body).id).not.to.equal(first.id);
      expect(second.headers.get('idempotent-replayed')).to.equal(null);
    });

    it('the key holds the case it created and the answer it replays', async () => {
      const key = `key-${randomUUID()}`;
      const created = contract('CaseV1', (await create('v1', buildCase(), { key })).body);
      const { rows } = await db.query<{ case_id: string; response_status: number; response_body: unknown }>(
        'SELECT case_id, response_status, response_body FROM idempotency_keys WHERE key = $1',
        [key],
      );
      expect(rows).to.have.length(1);
      expect(rows[0]!.case_id).to.equal(created.id);
      expect(rows[0]!.response_status).to.equal(201);
      expect(rows[0]!.response_body).to.deep.equal(created);
    });

    it('a create with what Postgres cannot store (a NUL character) is refused as the schema says, leaving nothing behind: no case, no event, no claimed key', async () => {
      const key = `key-${randomUUID()}`;
      const refused = buildCase({ features: { note: 'a\u0000' } });
      const problem = expectProblem(await create('v2', refused, { key }), 400, 'validation_failed');
      // One error per alternative of the feature's anyOf, every one at that feature.
      expect(new Set((problem.errors ?? []).map((error) => error.pointer))).to.deep.equal(
        new Set(['/features/note']),
      );
      expect(await count('SELECT count(*) AS n FROM idempotency_keys WHERE key = $1', [key])).to.equal(0);
      expect(await count('SELECT count(*) AS n FROM cases WHERE owner_id = $1', [refused.owner_id])).to.equal(
        0,
      );
      expect(
        await count("SELECT count(*) AS n FROM outbox WHERE payload->'data'->'case'->>'owner_id' = $1", [
          refused.owner_id,
        ]),
      ).to.equal(0);
      // The key was never taken: a valid body with it creates the case.
      const valid = await create('v2', { ...refused, features: { note: 'fine' } }, { key });
      expect(valid.status, valid.text).to.equal(201);
      expect(valid.headers.get('idempotent-replayed')).to.equal(null);
    });

    it('a create that fails after storing its case frees its key: the retry gets that case at once, not 409', async () => {
      const key = `key-${randomUUID()}`;
      const body = buildCase();
      // A fault after the case is stored: the database refuses the score_pending event that follows it.
      await db.query(
        "ALTER TABLE outbox ADD CONSTRAINT test_refuse_score_pending CHECK (payload->>'type' <> 'score_pending') NOT VALID",
      );
      let failed;
      try {
        failed = await create('v1', body, { key });
      } finally {
        await db.query('ALTER TABLE outbox DROP CONSTRAINT test_refuse_score_pending');
      }
      expectProblem(failed, 500, 'internal_error');
      const stored = await db.query<{ id: string }>('SELECT id FROM cases WHERE owner_id = $1', [
        body.owner_id,
      ]);
      expect(stored.rows).to.have.length(1);

      const retried = await create('v1', body, { key });
      expect(retried.status, retried.text).to.equal(201);
      expect(retried.headers.get('idempotent-replayed')).to.equal('true');
      expect(contract('CaseV1', retried.body).id).to.equal(stored.rows[0]!.id);
      expect(await count('SELECT count(*) AS n FROM cases WHERE owner_id = $1', [body.owner_id])).to.equal(1);
      const again = await create('v1', body, { key });
      expect(again.body).to.deep.equal(retried.body);
    });

    it('a malformed key is 400', async () => {
      expectProblem(
        await create('v1', buildCase(), { key: 'has spaces in it' }),
        400,
        'invalid_idempotency_key',
      );
    });
  });

  describe('listing and reading', () => {
    it('filters by status, owner and (v2) priority, newest first, and pages through each case once', async () => {
      const owner = randomUUID();
      const created: string[] = [];
      for (const priority of ['low', 'high', 'high', 'critical', 'high']) {
        created.push(
          contract('CaseV2', (await create('v2', buildCase({ owner_id: owner, priority }))).body).id,
        );
      }
      const seen: string[] = [];
      let url: string | undefined = `${cases.url}/v2/cases?owner_id=${owner}&priority=high&limit=2`;
      while (url) {
        const answer = await request(url, { token: tokens.viewer });
        const page = contract('CaseListV2', answer.body);
        seen.push(...page.items.map((item) => item.id));
        url =
          page.next_cursor !== null
            ? `${cases.url}/v2/cases?owner_id=${owner}&priority=high&limit=2&cursor=${page.next_cursor}`
            : undefined;
      }
      expect(seen).to.deep.equal([created[4], created[2], created[1]]);
      const byOwner = contract(
        'CaseListV1',
        (await request(`${cases.url}/v1/cases?owner_id=${owner}&limit=100`, { token: tokens.viewer })).body,
      );
      expect(byOwner.items.length).to.equal(5);
      const pending = contract(
        'CaseListV1',
        (
          await request(`${cases.url}/v1/cases?owner_id=${owner}&status=PENDING_SCORE`, {
            token: tokens.viewer,
          })
        ).body,
      );
      expect(pending.items.every((item) => item.status === 'PENDING_SCORE')).to.equal(true);
    });
  });

  describe('updating', () => {
    it('closes and reopens a case, emitting case_updated with the changed fields', async () => {
      const created = contract('CaseV2', (await create('v2', buildCase())).body);
      const url = `${cases.url}/v2/cases/${created.id}`;
      const closed = await request(url, {
        method: 'PATCH',
        token: tokens.analyst,
        json: { status: 'CLOSED', priority: 'low' },
      });
      expect(closed.status, closed.text).to.equal(200);
      expect(contract('CaseV2', closed.body)).to.include({ status: 'CLOSED', priority: 'low' });
      expectProblem(
        await request(url, { method: 'PATCH', token: tokens.analyst, json: { status: 'CLOSED' } }),
        409,
        'invalid_status_transition',
      );
      const reopened = contract(
        'CaseV2',
        (await request(url, { method: 'PATCH', token: tokens.analyst, json: { status: 'OPEN' } })).body,
      );
      expect(reopened.status).to.be.oneOf(['SCORED', 'PENDING_SCORE']);
      const { rows } = await db.query<{ changed: string[] }>(
        "SELECT payload->'data'->'changed' AS changed FROM outbox WHERE aggregate_id = $1 AND payload->>'type' = 'case_updated' ORDER BY id",
        [created.id],
      );
      expect(rows.map((row) => row.changed)).to.deep.equal([['priority', 'status'], ['status']]);
    });

    it('v1 updates ignore priority', async () => {
      const created = contract('CaseV2', (await create('v2', buildCase({ priority: 'high' }))).body);
      await request(`${cases.url}/v1/cases/${created.id}`, {
        method: 'PATCH',
        token: tokens.analyst,
        json: { title: 'Renamed', priority: 'low' },
      });
      const v2 = contract(
        'CaseV2',
        (await request(`${cases.url}/v2/cases/${created.id}`, { token: tokens.viewer })).body,
      );
      expect(v2).to.include({ title: 'Renamed', priority: 'high' });
    });
  });

  describe('RBAC', () => {
    it('a viewer cannot create or update (403); every role reads', async () => {
      const created = contract('CaseV1', (await create('v1', buildCase())).body);
      expectProblem(await create('v1', buildCase(), { token: tokens.viewer }), 403, 'forbidden');
      expectProblem(
        await request(`${cases.url}/v1/cases/${created.id}`, {
          method: 'PATCH',
          token: tokens.viewer,
          json: { title: 'x' },
        }),
        403,
      );
      for (const token of Object.values(tokens)) {
        expect((await request(`${cases.url}/v1/cases/${created.id}`, { token })).status).to.equal(200);
        expect((await request(`${cases.url}/v2/cases`, { token })).status).to.equal(200);
      }
      expectProblem(await request(`${cases.url}/v1/cases`), 401);
    });
  });

  describe('bad input gets a 4xx problem, never a 5xx', () => {
    const post =
      (version: 'v1' | 'v2', body: string, contentType = 'application/json') =>
      () =>
        request(`${cases.url}/${version}/cases`, {
          method: 'POST',
          token: tokens.analyst,
          body,
          headers: { 'content-type': contentType },
        });
    const cases400: [string, () => Promise<HttpResult>, number][] = [
      ['malformed JSON', post('v1', '{"title":'), 400],
      ['wrong content type', post('v1', 'title=x', 'text/plain'), 415],
      ['missing title', post('v1', JSON.stringify({ owner_id: randomUUID() })), 400],
      ['blank title', post('v1', JSON.stringify(buildCase({ title: '  ' }))), 400],
      ['owner_id not a UUID', post('v1', JSON.stringify(buildCase({ owner_id: 'bob' }))), 400],
      ['unknown field', post('v1', JSON.stringify(buildCase({ severity: 3 }))), 400],
      ['features on v1', post('v1', JSON.stringify(buildCase({ features: { amount: 1 } }))), 400],
      ['bad feature name', post('v2', JSON.stringify(buildCase({ features: { 'Bad-Name': 1 } }))), 400],
      [
        'nested feature value',
        post('v2', JSON.stringify(buildCase({ features: { amount: { x: 1 } } }))),
        400,
      ],
      ['title too long', post('v1', JSON.stringify(buildCase({ title: 'x'.repeat(201) }))), 400],
      ['a NUL character in the title', post('v1', JSON.stringify(buildCase({ title: 'a\u0000b' }))), 400],
      [
        'a NUL character in a feature',
        post('v2', JSON.stringify(buildCase({ features: { note: 'a\u0000' } }))),
        400,
      ],
      ['oversized body', post('v1', JSON.stringify(buildCase({ description: 'x'.repeat(200_000) }))), 413],
      ['non-UUID id', () => request(`${cases.url}/v1/cases/42`, { token: tokens.viewer }), 400],
      ['unknown case', () => request(`${cases.url}/v1/cases/${randomUUID()}`, { token: tokens.viewer }), 404],
      [
        'bad status filter',
        () => request(`${cases.url}/v1/cases?status=DONE`, { token: tokens.viewer }),
        400,
      ],
      [
        'priority filter on v1',
        () => request(`${cases.url}/v1/cases?priority=high`, { token: tokens.viewer }),
        400,
      ],
      ['bad owner filter', () => request(`${cases.url}/v1/cases?owner_id=me`, { token: tokens.viewer }), 400],
      ['bad limit', () => request(`${cases.url}/v2/cases?limit=0`, { token: tokens.viewer }), 400],
      ['bad cursor', () => request(`${cases.url}/v2/cases?cursor=WyJ4Il0`, { token: tokens.viewer }), 400],
      [
        'status set to SCORED by a client',
        () =>
          request(`${cases.url}/v1/cases/${randomUUID()}`, {
            method: 'PATCH',
            token: tokens.analyst,
            json: { status: 'SCORED' },
          }),
        400,
      ],
      [
        'empty update',
        () =>
          request(`${cases.url}/v1/cases/${randomUUID()}`, {
            method: 'PATCH',
            token: tokens.analyst,
            json: {},
          }),
        400,
      ],
    ];
    for (const [name, send, status] of cases400) {
      it(`${name}: ${status}`, async () => {
        expectProblem(await send(), status);
      });
    }
  });
});
