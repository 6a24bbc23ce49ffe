import { expect } from 'chai';
import {
  checkAuditCaseCreated,
  checkCreateCase,
  checkCreateUser,
  checkHealthz,
  checkLogin,
  checkReplay,
  checkTokenRequired,
  formatStep,
  formatSummary,
  runSeedFlow,
  type Answer,
  type StepResult,
} from '../src/seed-flow.ts';
import { FakeGateway } from './support/fake-gateway.ts';

/** An answer as the smoke reads one: JSON bodies parsed, `content-type` set from `type`. */
function buildAnswer(
  status: number,
  body?: unknown,
  options: { type?: string; headers?: Record<string, string> } = {},
): Answer {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const type = options.type ?? (typeof body === 'string' ? 'text/plain' : 'application/json');
  return {
    status,
    headers: new Headers({ 'content-type': type, ...options.headers }),
    text,
    body: typeof body === 'string' ? undefined : body,
  };
}

const CASE_ID = 'e3b0c442-98fc-4c14-9afb-f4c8996fb924';

describe('the smoke flow steps', () => {
  describe('checks of each answer', () => {
    it('login passes with a Bearer access token and fails with the OAuth error it got', () => {
      expect(
        checkLogin(buildAnswer(200, { access_token: 'eyJ', token_type: 'Bearer', expires_in: 900 })),
      ).to.include({ ok: true, value: 'eyJ' });
      expect(
        checkLogin(
          buildAnswer(400, {
            error: 'invalid_grant',
            error_description: 'the username or password is wrong',
          }),
        ),
      ).to.deep.equal({
        ok: false,
        reason:
          'expected 200 with an access_token, got 400 application/json (invalid_grant: the username or password is wrong)',
      });
      expect(checkLogin(buildAnswer(200, { access_token: 'eyJ', token_type: 'mac' }))).to.deep.equal({
        ok: false,
        reason: 'expected token_type Bearer, got "mac"',
      });
    });

    it('the token check passes only for a 401 problem+json, not a 200 or a plain-text 401', () => {
      const problem = {
        type: 'urn:problem-type:mrp:unauthorized',
        title: 'Authentication is required',
        code: 'unauthorized',
        detail: 'Jwt is missing',
        status: 401,
      };
      expect(checkTokenRequired(buildAnswer(401, problem, { type: 'application/problem+json' })).ok).to.equal(
        true,
      );
      expect(checkTokenRequired(buildAnswer(200, { items: [] }))).to.deep.equal({
        ok: false,
        reason: 'expected 401 application/problem+json, got 200 application/json ({"items":[]})',
      });
      expect(checkTokenRequired(buildAnswer(401, 'Jwt is missing'))).to.deep.equal({
        ok: false,
        reason: 'expected the 401 as application/problem+json, got 401 text/plain (Jwt is missing)',
      });
    });

    it('create user needs 201 with an id for the email sent; a problem answer is reported by code and detail', () => {
      expect(
        checkCreateUser(buildAnswer(201, { id: 'u1', email: 'smoke-1@example.com' }), 'smoke-1@example.com'),
      ).to.include({
        ok: true,
        value: 'u1',
      });
      expect(
        checkCreateUser(
          buildAnswer(
            403,
            { code: 'forbidden', title: 'Not allowed', detail: 'only admins manage users', status: 403 },
            { type: 'application/problem+json' },
          ),
          'smoke-1@example.com',
        ),
      ).to.deep.equal({
        ok: false,
        reason:
          'expected 201 with the new user, got 403 application/problem+json (forbidden: only admins manage users)',
      });
    });

    it('create case accepts SCORED and PENDING_SCORE and refuses any other status', () => {
      expect(checkCreateCase(buildAnswer(201, { id: CASE_ID, status: 'SCORED' }))).to.include({ ok: true });
      expect(checkCreateCase(buildAnswer(201, { id: CASE_ID, status: 'PENDING_SCORE' }))).to.deep.equal({
        ok: true,
        value: CASE_ID,
        note: `case ${CASE_ID} PENDING_SCORE`,
      });
      expect(checkCreateCase(buildAnswer(201, { id: CASE_ID, status: 'NEW' }))).to.deep.equal({
        ok: false,
        reason: 'expected status SCORED or PENDING_SCORE, got "NEW"',
      });
    });

    it('the replay must return the same case and say Idempotent-Replayed: true', () => {
      const replayed = { headers: { 'idempotent-replayed': 'true' } };
      expect(checkReplay(buildAnswer(201, { id: CASE_ID }, replayed), CASE_ID).ok).to.equal(true);
      expect(checkReplay(buildAnswer(201, { id: CASE_ID }), CASE_ID)).to.deep.equal({
        ok: false,
        reason: 'expected header Idempotent-Replayed: true, got none',
      });
      expect(checkReplay(buildAnswer(201, { id: 'another' }, replayed), CASE_ID)).to.deep.equal({
        ok: false,
        reason: `expected case ${CASE_ID} again, got "another"`,
      });
    });

    it("the audit check wants the case's own case_created event, not another case's or another type", () => {
      const listing = (items: object[]) => buildAnswer(200, { items, next_cursor: null });
      expect(
        checkAuditCaseCreated(listing([{ type: 'case_created', subject: `case:${CASE_ID}` }]), CASE_ID).ok,
      ).to.equal(true);
      expect(
        checkAuditCaseCreated(
          listing([
            { type: 'score_updated', subject: `case:${CASE_ID}` },
            { type: 'case_created', subject: 'case:another' },
          ]),
          CASE_ID,
        ),
      ).to.deep.equal({
        ok: false,
        reason: `no case_created event for case ${CASE_ID} (events: score_updated, case_created)`,
      });
    });

    it('healthz wants 200 and reports anything else with an excerpt of the body', () => {
      expect(checkHealthz(buildAnswer(200, { status: 'ok' })).ok).to.equal(true);
      expect(
        checkHealthz(buildAnswer(503, 'upstream connect error or disconnect/reset before headers')),
      ).to.deep.equal({
        ok: false,
        reason:
          'expected 200, got 503 text/plain (upstream connect error or disconnect/reset before headers)',
      });
    });
  });

  describe('the lines it prints', () => {
    it('a line shows the outcome, step, status and x-request-id, then the reason of a failure', () => {
      const failed: StepResult = {
        step: 'login',
        outcome: 'FAIL',
        status: 400,
        requestId: '0d4b2a61-93c7-4f0e-8e5d-7b1c9a2f4e10',
        reason: 'expected 200 with an access_token, got 400 application/json (invalid_grant: wrong)',
      };
      expect(formatStep(failed)).to.equal(
        'FAIL  login               400  x-request-id 0d4b2a61-93c7-4f0e-8e5d-7b1c9a2f4e10  expected 200 with an access_token, got 400 application/json (invalid_grant: wrong)',
      );
      expect(
        formatStep({ step: 'create user', outcome: 'SKIP', reason: 'needs the token from login' }),
      ).to.equal('SKIP  create user         ---  needs the token from login');
      expect(
        formatStep({ step: 'gateway healthz', outcome: 'FAIL', reason: 'no answer within 10s' }),
      ).to.equal('FAIL  gateway healthz     ---  x-request-id -  no answer within 10s');
    });

    it('the summary counts the outcomes and says how to follow the first failed call', () => {
      const results: StepResult[] = [
        { step: 'gateway healthz', outcome: 'PASS', status: 200, requestId: 'a' },
        { step: 'login', outcome: 'FAIL', status: 400, requestId: 'b', reason: 'x' },
        { step: 'create user', outcome: 'SKIP', reason: 'y' },
      ];
      expect(formatSummary(results, 'http://127.0.0.1:8080')).to.deep.equal([
        'smoke FAILED against http://127.0.0.1:8080: 1 failed, 1 skipped, 1 passed of 3 steps',
        'follow a failed call: mrpctl logs b',
      ]);
      expect(formatSummary(results.slice(0, 1), 'http://gw')).to.deep.equal([
        'smoke passed: 1 of 1 steps against http://gw',
      ]);
    });
  });

  describe('running the flow', () => {
    let gateway: FakeGateway;

    afterEach(async () => {
      await gateway.stop();
    });

    const run = (options: { password?: string } = {}) =>
      runSeedFlow({
        baseUrl: gateway.url,
        username: 'admin@example.com',
        password: options.password ?? 'admin123',
        requestTimeoutMs: 5000,
        auditTimeoutMs: 5000,
        auditIntervalMs: 10,
        runId: 'test1',
      });

    it("runs the seed README's calls in order, replaying the create with the same key and body", async () => {
      gateway = await FakeGateway.start({ auditLag: 3 });
      const results = await run();

      expect(results.map((result) => `${result.outcome} ${result.step}`)).to.deep.equal([
        'PASS gateway healthz',
        'PASS login',
        'PASS token required',
        'PASS create user',
        'PASS create case',
        'PASS idempotent replay',
        'PASS audit case_created',
      ]);
      // The audit log was asked again until the event showed up.
      expect(gateway.calls).to.deep.equal([
        'GET /healthz',
        'POST /v1/auth/login',
        'GET /v1/users',
        'POST /v1/users',
        'POST /v1/cases',
        'POST /v1/cases',
        'GET /v1/audit',
        'GET /v1/audit',
        'GET /v1/audit',
        'GET /v1/audit',
      ]);
      expect(results.every((result) => /^[0-9a-f-]{36}$/.test(result.requestId ?? ''))).to.equal(true);
    });

    it('when login is refused, the steps that need a token are SKIP and the token check still runs', async () => {
      gateway = await FakeGateway.start();
      const results = await run({ password: 'wrong' });

      expect(results.map((result) => `${result.outcome} ${result.step}`)).to.deep.equal([
        'PASS gateway healthz',
        'FAIL login',
        'PASS token required',
        'SKIP create user',
        'SKIP create case',
        'SKIP idempotent replay',
        'SKIP audit case_created',
      ]);
      expect(results[1]!.reason).to.include('invalid_grant: the username or password is wrong');
      expect(gateway.calls).to.deep.equal(['GET /healthz', 'POST /v1/auth/login', 'GET /v1/users']);
    });

    it('login answered 503 with Retry-After is sent again, and the step says it needed a retry', async () => {
      gateway = await FakeGateway.start({ loginUnavailable: 1 });
      const results = await run();

      expect(results[1]).to.include({ step: 'login', outcome: 'PASS', status: 200 });
      expect(results[1]!.note).to.equal(
        'Bearer token, after 1 retry (got 503 application/json (temporarily_unavailable: token issuing is temporarily unavailable, try again shortly))',
      );
      expect(gateway.calls.slice(0, 3)).to.deep.equal([
        'GET /healthz',
        'POST /v1/auth/login',
        'POST /v1/auth/login',
      ]);
      expect(results.every((result) => result.outcome === 'PASS')).to.equal(true);
    });

    it('login still unavailable after three retries fails, saying so, and skips the steps after it', async () => {
      gateway = await FakeGateway.start({ loginUnavailable: 10 });
      const results = await run();

      expect(results[1]).to.include({ step: 'login', outcome: 'FAIL', status: 503 });
      expect(results[1]!.reason).to.match(
        /^expected 200 with an access_token, got 503 .*, after 3 retries \(got 503 /,
      );
      expect(gateway.calls.filter((call) => call === 'POST /v1/auth/login')).to.have.length(4);
      expect(results.at(-1)).to.include({ step: 'audit case_created', outcome: 'SKIP' });
    });

    it('a replay without Idempotent-Replayed fails that step, and the audit step still runs', async () => {
      gateway = await FakeGateway.start({ forgetReplayHeader: true });
      const results = await run();

      expect(results.find((result) => result.step === 'idempotent replay')).to.include({
        outcome: 'FAIL',
        reason: 'expected header Idempotent-Replayed: true, got none',
      });
      expect(results.at(-1)).to.include({ step: 'audit case_created', outcome: 'PASS' });
    });

    it('when the event never shows up, the audit step fails after the audit timeout, saying how often it asked', async () => {
      gateway = await FakeGateway.start({ auditLag: Number.MAX_SAFE_INTEGER });
      const results = await runSeedFlow({
        baseUrl: gateway.url,
        username: 'admin@example.com',
        password: 'admin123',
        requestTimeoutMs: 5000,
        auditTimeoutMs: 200,
        auditIntervalMs: 20,
      });

      const audit = results.at(-1)!;
      expect(audit.outcome).to.equal('FAIL');
      expect(audit.reason).to.match(
        /^no case_created event for case [0-9a-f-]{36} \(events: none\), after \d+ queries in \d+(ms|s)$/,
      );
    });
  });
});
