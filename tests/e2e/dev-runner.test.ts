import { expect } from 'chai';
import { DevRunner } from '../support/dev-runner.ts';
import { eventually } from '../support/eventually.ts';
import { request } from '../support/http.ts';
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
    await dev.start();
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
