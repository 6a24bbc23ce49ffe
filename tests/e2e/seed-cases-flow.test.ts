import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { AuditEvent } from '@mrp/schemas';
import { startFullPlatform, type FullPlatform } from '../support/full-platform.ts';
import { eventually } from '../support/eventually.ts';
import { contract, request } from '../support/http.ts';
import { login } from '../support/platform.ts';
import { expectProblem } from '../support/problem.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { curl } from '../support/curl.ts';

/** Every audit item about one case, read through the gateway. */
async function auditOf(gateway: string, token: string, caseId: string): Promise<AuditEvent[]> {
  const result = await request(`${gateway}/v1/audit?case_id=${caseId}&limit=100`, { token });
  expect(result.status, result.text).to.equal(200);
  return contract('AuditEventList', result.body).items;
}

describe("the seed's case and audit calls through Envoy", () => {
  let full: FullPlatform;

  before(async () => {
    full = await startFullPlatform();
  });

  after(async () => {
    await full.stop();
  });

  it('create case (with Idempotency-Key case-001, priority on /v1) is 201, the retry returns the same case, and the audit log shows case_created and score_updated', async () => {
    const base = `http://localhost:${full.port}`;
    const login = await curl([
      '-X',
      'POST',
      `${base}/v1/auth/login`,
      '-d',
      'username=admin@example.com&password=admin123',
    ]);
    const token = contract('TokenResponse', JSON.parse(login.body)).access_token;
    const user = await curl([
      '-X',
      'POST',
      `${base}/v1/users`,
      '-H',
      `Authorization: Bearer ${token}`,
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"email":"new@example.com","role":"viewer","full_name":"New User"}',
    ]);
    const userId = contract('User', JSON.parse(user.body)).id;

    const createCase = () =>
      curl([
        '-X',
        'POST',
        `${base}/v1/cases`,
        '-H',
        `Authorization: Bearer ${token}`,
        '-H',
        'Idempotency-Key: case-001',
        '-H',
        'Content-Type: application/json',
        '-d',
        `{"title":"Investigate","owner_id":"${userId}","priority":"high"}`,
      ]);
    const first = await createCase();
    expect(first.status, first.body).to.equal(201);
    const created = contract('CaseV1', JSON.parse(first.body));
    expect(created).to.include({ title: 'Investigate', owner_id: userId, status: 'SCORED' });
    expect(created).not.to.have.property('priority');

    const again = await createCase();
    expect(again.status).to.equal(201);
    expect(JSON.parse(again.body)).to.deep.equal(created);
    expect(again.headers).to.match(/^idempotent-replayed: true\r?$/im);

    await eventually(async () => {
      const audit = await curl(['-X', 'GET', `${base}/v1/audit`, '-H', `Authorization: Bearer ${token}`]);
      expect(audit.status).to.equal(200);
      const items = contract('AuditEventList', JSON.parse(audit.body)).items.filter(
        (item) => item.subject === `case:${created.id}`,
      );
      expect(items.map((item) => `${item.source}:${item.type}`)).to.include.members([
        'case-service:case_created',
        'case-service:score_updated',
        'scoring-service:score_updated',
      ]);
      // One request ID from the gateway through case-service into scoring-service and every event.
      expect(new Set(items.map((item) => item.request_id)).size).to.equal(1);
      expect(items[0]!.request_id).to.match(/^[0-9a-f-]{36}$/);
    });
  });

  it('v2 creates with a priority; a v1 read omits it, a v2 read shows it; an invalid priority is 400', async () => {
    const token = await login(full.url, 'analyst');
    const result = await request(`${full.url}/v2/cases`, {
      method: 'POST',
      token,
      json: { title: 'Urgent', owner_id: randomUUID(), priority: 'critical' },
    });
    expect(result.status, result.text).to.equal(201);
    const { id } = contract('CaseV2', result.body);
    expect(
      contract('CaseV1', (await request(`${full.url}/v1/cases/${id}`, { token })).body),
    ).not.to.have.property('priority');
    expect(
      contract('CaseV2', (await request(`${full.url}/v2/cases/${id}`, { token })).body).priority,
    ).to.equal('critical');
    expectProblem(
      await request(`${full.url}/v2/cases`, {
        method: 'POST',
        token,
        json: { title: 'x', owner_id: randomUUID(), priority: 'p0' },
      }),
      400,
    );
  });

  it('RBAC: a viewer cannot create cases, request scores or read the audit log; analysts can', async () => {
    const viewer = await login(full.url, 'viewer');
    const analyst = await login(full.url, 'analyst');
    expectProblem(
      await request(`${full.url}/v1/cases`, {
        method: 'POST',
        token: viewer,
        json: { title: 'x', owner_id: randomUUID() },
      }),
      403,
    );
    expectProblem(
      await request(`${full.url}/v1/scoring/score`, {
        method: 'POST',
        token: viewer,
        json: { case_id: randomUUID(), features: {} },
      }),
      403,
    );
    expectProblem(await request(`${full.url}/v1/audit`, { token: viewer }), 403);
    expect((await request(`${full.url}/v1/cases`, { token: viewer })).status).to.equal(200);
    expect((await request(`${full.url}/v1/audit`, { token: analyst })).status).to.equal(200);
    // Scoring a case is case-service's job (its service token): an analyst's token cannot forge a score.
    expectProblem(
      await request(`${full.url}/v1/scoring/score`, {
        method: 'POST',
        token: analyst,
        json: { case_id: randomUUID(), features: { amount: 10 } },
      }),
      403,
    );
  });
});

describe('idempotency and scoring faults through Envoy', () => {
  let full: FullPlatform;

  before(async () => {
    full = await startFullPlatform();
  });

  after(async () => {
    await full.stop();
  });

  it('25 concurrent creates with one key leave exactly one case and one case_created event', async () => {
    const token = await login(full.url, 'analyst');
    const admin = await login(full.url, 'admin');
    const ownerId = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 25 }, () =>
        request(`${full.url}/v1/cases`, {
          method: 'POST',
          token,
          json: { title: 'Concurrent', owner_id: ownerId },
          headers: { 'idempotency-key': 'case-concurrent' },
        }),
      ),
    );
    for (const result of results) expect(result.status, result.text).to.be.oneOf([201, 409]);
    const ids = new Set(
      results.filter((result) => result.status === 201).map((result) => contract('CaseV1', result.body).id),
    );
    expect(ids.size).to.equal(1);
    const listed = contract(
      'CaseListV1',
      (await request(`${full.url}/v1/cases?owner_id=${ownerId}`, { token })).body,
    );
    expect(listed.items).to.have.length(1);
    const id = [...ids][0]!;
    await eventually(async () => {
      const items = await auditOf(full.url, admin, id);
      expect(items.filter((item) => item.type === 'case_created')).to.have.length(1);
      expect(items.map((item) => item.type)).to.include('score_updated');
    });
  });

  it('with scoring stopped, creates answer 201 PENDING_SCORE with score_pending; once it is back they are scored', async () => {
    const token = await login(full.url, 'analyst');
    const admin = await login(full.url, 'admin');
    const port = full.scoring.port;
    await full.restartScoring({ down: true });
    const pending: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const result = await request(`${full.url}/v2/cases`, {
        method: 'POST',
        token,
        json: { title: `Outage ${i}`, owner_id: randomUUID() },
      });
      expect(result.status, result.text).to.equal(201);
      const created = contract('CaseV2', result.body);
      expect(created.status).to.equal('PENDING_SCORE');
      pending.push(created.id);
    }
    await full.restartScoring({ down: false });
    expect(full.scoring.port).to.equal(port);
    await eventually(async () => {
      for (const id of pending) {
        expect(
          contract('CaseV2', (await request(`${full.url}/v2/cases/${id}`, { token })).body).status,
          id,
        ).to.equal('SCORED');
        const types = (await auditOf(full.url, admin, id)).map((item) => item.type);
        expect(types).to.include.members(['case_created', 'score_pending', 'score_updated']);
      }
    }, 150);
  });
});

describe('with Redis unreachable during creates, no event is lost or stored twice', () => {
  let proxy: TcpProxy;
  let full: FullPlatform;

  before(async () => {
    proxy = new TcpProxy('127.0.0.1', 6379);
    await proxy.start();
    full = await startFullPlatform({ redisUrl: `redis://127.0.0.1:${proxy.port}` });
  });

  after(async () => {
    await proxy.start().catch(() => undefined);
    await full.stop();
    await proxy.cut();
  });

  it('every case created while Redis was down reaches the audit log once Redis returns', async () => {
    const token = await login(full.url, 'analyst');
    const admin = await login(full.url, 'admin');
    await proxy.cut();
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const result = await request(`${full.url}/v1/cases`, {
        method: 'POST',
        token,
        json: { title: `During outage ${i}`, owner_id: randomUUID() },
      });
      expect(result.status, result.text).to.equal(201);
      ids.push(contract('CaseV1', result.body).id);
    }
    await proxy.start();
    await eventually(async () => {
      for (const id of ids) {
        const fromCases = (await auditOf(full.url, admin, id)).filter(
          (item) => item.source === 'case-service',
        );
        expect(fromCases.map((item) => item.type).sort(), id).to.deep.equal([
          'case_created',
          'score_updated',
        ]);
      }
    }, 150);
    // Redelivery is at least once, storage exactly once: no event id twice.
    for (const id of ids) {
      const items = await auditOf(full.url, admin, id);
      expect(new Set(items.map((item) => item.id)).size).to.equal(items.length);
    }
  });
});
