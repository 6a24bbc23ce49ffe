import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { DevRunner } from '../support/dev-runner.ts';
import { eventually } from '../support/eventually.ts';
import { contract, request } from '../support/http.ts';
import { login } from '../support/platform.ts';

const answers = async (url: string): Promise<boolean> =>
  fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    (response) => response.ok,
    () => false,
  );

describe('the dev runner (scripts/dev.ts)', () => {
  const dev = new DevRunner();

  before(async function () {
    this.timeout(90_000);
    // Scoring answers slowly (and case-service waits for it): creates stay in flight long enough to be
    // caught by a SIGTERM.
    await dev.start({ SCORING_FAULT_LATENCY_MS: '1500', SCORING_ATTEMPT_TIMEOUT_MS: '5000' });
  });

  after(async function () {
    this.timeout(30_000);
    await dev.stop();
  });

  it('serves the login and create-user flow through its Envoy, with prefixed logs from every process', async () => {
    const gateway = dev.gateway;
    const token = await login(gateway, 'admin');
    const created = await request(`${gateway}/v1/users`, {
      method: 'POST',
      token,
      json: { email: 'new@example.com', role: 'viewer', full_name: 'New User' },
    });
    expect(created.status, created.text).to.equal(201);
    expect(dev.output)
      .to.match(/^auth-service +\| /m)
      .and.to.match(/^user-service +\| /m)
      .and.to.match(/^gateway +\| /m);
  });

  it('serves the API reference without a token, and its banner says where', async () => {
    const docs = await request(`${dev.gateway}/docs`);
    expect(docs.status).to.equal(200);
    expect(docs.text).to.include('swagger-ui-bundle.js');
    expect((await request(`${dev.gateway}/openapi.json`)).status).to.equal(200);
    expect(dev.output).to.include(
      `API reference            ${dev.gateway.replace('127.0.0.1', 'localhost')}/docs`,
    );
  });

  it('starts a service killed with SIGKILL again after its back-off, and the platform keeps running', async function () {
    this.timeout(60_000);
    const killed = dev.childPid('services/case-service/');
    expect(killed, 'the case-service process').to.be.a('number');
    process.kill(killed!, 'SIGKILL');
    await eventually(() => {
      expect(dev.output).to.match(/case-service exited \(SIGKILL\); restarting it in 1\.0 s \(restart 1;/);
    }, 100);
    await eventually(async () => {
      const restarted = dev.childPid('services/case-service/');
      expect(restarted, 'a new case-service process').to.be.a('number').and.not.equal(killed);
      expect(await answers(`${dev.url('CASE_SERVICE_PORT')}/readyz`), 'case-service ready').to.equal(true);
    }, 150);
    const gateway = dev.gateway;
    const listed = await request(`${gateway}/v1/cases?limit=1`, { token: await login(gateway, 'viewer') });
    expect(listed.status, listed.text).to.equal(200);
    expect(dev.isRunning(), 'the runner').to.equal(true);
  });

  it('lets a case-service stopped with SIGTERM answer the creates in flight, then starts it again; each case reaches the audit log once', async function () {
    this.timeout(90_000);
    const gateway = dev.gateway;
    const analyst = await login(gateway, 'analyst');
    const viewer = await login(gateway, 'viewer');
    const stopped = dev.childPid('services/case-service/');
    expect(stopped, 'the case-service process').to.be.a('number');
    const run = randomUUID().slice(0, 8);
    const titles = Array.from({ length: 6 }, (_, index) => `In flight ${run} ${index}`);
    // Scoring answers only after SCORING_FAULT_LATENCY_MS (set at start): each create has stored its case
    // and waits for its score when the signal arrives.
    const creates = titles.map((title, index) =>
      request(`${gateway}/v1/cases`, {
        method: 'POST',
        token: analyst,
        headers: { 'idempotency-key': `sigterm-${run}-${index}` },
        json: { title, owner_id: randomUUID() },
      }),
    );
    await eventually(
      async () => {
        const page = await request(`${gateway}/v1/cases?limit=50`, { token: viewer });
        const stored = contract('CaseListV1', page.body).items.map((item) => item.title);
        expect(stored, 'every create has stored its case').to.include.members(titles);
      },
      50,
      100,
    );
    process.kill(stopped!, 'SIGTERM');

    const answers = await Promise.all(creates);
    for (const answer of answers) expect(answer.status, answer.text).to.equal(201);
    await eventually(() => {
      expect(dev.output).to.match(/case-service exited \(code 0\); restarting it in/);
    }, 100);
    expect(dev.output, 'its own shutdown log').to.match(/^case-service +\| .*stopped/m);

    // The relay stopped at a safe point: what it had not published yet, the next case-service publishes.
    const admin = await login(gateway, 'admin');
    const ids = answers.map((answer) => contract('CaseV1', answer.body).id);
    await eventually(async () => {
      for (const id of ids) {
        const audit = await request(`${gateway}/v1/audit?case_id=${id}&type=case_created`, { token: admin });
        expect(audit.status, audit.text).to.equal(200);
        expect(contract('AuditEventList', audit.body).items, `case_created of ${id}`).to.have.length(1);
      }
    }, 300);
  });

  it('starts Envoy again when it is killed, and the gateway answers again', async function () {
    this.timeout(60_000);
    const killed = dev.childPid('envoy.json');
    expect(killed, 'the Envoy process').to.be.a('number');
    process.kill(killed!, 'SIGKILL');
    await eventually(() => {
      expect(dev.output).to.match(/gateway exited \(SIGKILL\); restarting it in/);
    }, 100);
    await eventually(async () => {
      expect(await answers(`${dev.url('GATEWAY_PORT')}/healthz`), 'the gateway').to.equal(true);
    }, 150);
    expect(dev.isRunning(), 'the runner').to.equal(true);
  });

  it('stops every process cleanly on Ctrl-C (SIGINT) and exits 0', async function () {
    this.timeout(20_000);
    process.kill(dev.pid, 'SIGINT');
    expect(await dev.exit).to.equal(0);
    for (const name of [
      'GATEWAY_PORT',
      'AUTH_SERVICE_PORT',
      'USER_SERVICE_PORT',
      'CASE_SERVICE_PORT',
    ] as const) {
      expect(await answers(`${dev.url(name)}/healthz`), `${name} still answers`).to.equal(false);
    }
  });
});

describe('the dev runner with DEV_RESTART=never', () => {
  const dev = new DevRunner();

  before(async function () {
    this.timeout(90_000);
    await dev.start({ DEV_RESTART: 'never' });
  });

  after(async function () {
    this.timeout(30_000);
    await dev.stop();
  });

  it('stops the whole platform, exit code 1, when one process exits', async function () {
    this.timeout(30_000);
    const killed = dev.childPid('services/auth-service/');
    expect(killed, 'the auth-service process').to.be.a('number');
    process.kill(killed!, 'SIGKILL');
    expect(await dev.exit).to.equal(1);
    expect(dev.output).to.include('auth-service exited (SIGKILL); stopping the platform (DEV_RESTART=never)');
    expect(await answers(`${dev.url('GATEWAY_PORT')}/healthz`), 'the gateway').to.equal(false);
  });
});

describe('the dev runner with DEV_START=staggered', () => {
  const dev = new DevRunner();

  before(async function () {
    this.timeout(120_000);
    await dev.start({ DEV_START: 'staggered' });
  });

  after(async function () {
    this.timeout(30_000);
    await dev.stop();
  });

  it('starts each service once the one before it is ready, and the platform serves', async function () {
    // Start times of the service processes (clock ticks since boot, /proc/<pid>/stat field 22).
    const startedAt = [
      'auth-service',
      'user-service',
      'case-service',
      'scoring-service',
      'audit-telemetry-service',
    ].map((service) => {
      const pid = dev.childPid(`services/${service}/`);
      expect(pid, service).to.be.a('number');
      const stat = readFileSync(`/proc/${pid!}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    });
    // All at once, they start within a tick or two of each other; staggered, each waits for a whole start.
    startedAt.sort((a, b) => a - b);
    for (let index = 1; index < startedAt.length; index += 1)
      expect(startedAt[index]! - startedAt[index - 1]!, `gap before service ${index}`).to.be.at.least(20);
    expect(await answers(`${dev.gateway}/healthz`)).to.equal(true);
  });
});

describe('the dev runner with a DEV_START it does not know', () => {
  it('refuses to start, naming the setting and its values', async function () {
    this.timeout(60_000);
    const dev = new DevRunner();
    try {
      const failure = await dev.start({ DEV_START: 'sideways' }).then(
        () => undefined,
        (error: unknown) => (error as Error).message,
      );
      expect(failure).to.include('DEV_START is "sideways": it must be together (the default) or staggered.');
    } finally {
      await dev.stop();
    }
  });
});
