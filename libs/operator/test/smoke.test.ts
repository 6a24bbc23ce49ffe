import { createServer } from 'node:net';
import { expect } from 'chai';
import { FakeGateway } from './support/fake-gateway.ts';
import { FakeKubeApi } from './support/fake-kube-api.ts';
import { mrpctl } from './support/mrpctl.ts';

const PODS = '/api/v1/namespaces/mrp/pods';
const READY_GATEWAY = 'mrp-gateway-5d8f7c9b6-vn4zs';

const STEP_LINE = /^(PASS|FAIL|SKIP) {2}(.+?) {2,}(\d{3}|---)/;

/** The outcome and step of each PASS/FAIL/SKIP line. */
function steps(stdout: string): string[] {
  return stdout.split('\n').flatMap((line) => {
    const match = STEP_LINE.exec(line);
    return match ? [`${match[1]!} ${match[2]!.trim()}`] : [];
  });
}

describe('mrpctl smoke', () => {
  let gateway: FakeGateway;
  let api: FakeKubeApi | undefined;

  afterEach(async () => {
    await gateway.stop();
    await api?.stop();
    api = undefined;
  });

  it('without --url, it port-forwards to a ready gateway pod, runs every step through it and exits 0', async () => {
    gateway = await FakeGateway.start({ auditLag: 2 });
    api = await FakeKubeApi.start({ [PODS]: 'pods-running.json' });
    api.forwardPort('mrp', READY_GATEWAY, 8080, gateway.port);

    const { code, stdout, stderr } = await mrpctl(['smoke'], { api, auditIntervalMs: 10 });

    expect(code, stdout + stderr).to.equal(0);
    expect(stdout).to.match(
      new RegExp(`^smoke through http://127\\.0\\.0\\.1:\\d+ -> pod/${READY_GATEWAY}:8080$`, 'm'),
    );
    expect(steps(stdout)).to.deep.equal([
      'PASS gateway healthz',
      'PASS login',
      'PASS token required',
      'PASS create user',
      'PASS create case',
      'PASS idempotent replay',
      'PASS audit case_created',
    ]);
    expect(stdout).to.match(
      /^PASS {2}create case {9}201 {2}x-request-id [0-9a-f-]{36} {2}case [0-9a-f-]{36} SCORED$/m,
    );
    expect(stdout).to.match(/^smoke passed: 7 of 7 steps against http:\/\/127\.0\.0\.1:\d+$/m);
    // Every call went through the port-forward streams, one per connection the smoke opened.
    expect(gateway.calls).to.have.length.of.at.least(7);
    expect(api.streams.every((stream) => stream.pod === READY_GATEWAY && stream.port === 8080)).to.equal(
      true,
    );
    expect(api.streams).to.have.length.of.at.least(1);
  });

  it('with --url and a refused login, it prints FAIL with the reason, skips what needs a token and exits 1', async () => {
    gateway = await FakeGateway.start();
    const { code, stdout } = await mrpctl(['smoke', '--url', `${gateway.url}/`], {
      env: { MRPCTL_PASSWORD: 'not-the-password' },
    });

    expect(code).to.equal(1);
    expect(stdout).to.include(`smoke against ${gateway.url}\n`);
    expect(steps(stdout)).to.deep.equal([
      'PASS gateway healthz',
      'FAIL login',
      'PASS token required',
      'SKIP create user',
      'SKIP create case',
      'SKIP idempotent replay',
      'SKIP audit case_created',
    ]);
    expect(stdout).to.match(
      /^FAIL {2}login {15}400 {2}x-request-id ([0-9a-f-]{36}) {2}expected 200 with an access_token, got 400 application\/json \(invalid_grant: the username or password is wrong\)$/m,
    );
    const failedId = /^FAIL {2}login +400 {2}x-request-id (\S+)/m.exec(stdout)![1]!;
    expect(stdout).to.include(`follow a failed call: mrpctl logs ${failedId}`);
  });

  it('when nothing answers at --url, every step it can try fails with why and the exit code is 1', async () => {
    gateway = await FakeGateway.start();
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => {
          resolve(typeof address === 'object' && address ? address.port : 0);
        });
      });
    });
    const { code, stdout } = await mrpctl(['smoke', '--url', `http://127.0.0.1:${closed}`]);

    expect(code).to.equal(1);
    expect(steps(stdout)).to.deep.equal([
      'FAIL gateway healthz',
      'FAIL login',
      'FAIL token required',
      'SKIP create user',
      'SKIP create case',
      'SKIP idempotent replay',
      'SKIP audit case_created',
    ]);
    expect(stdout).to.include(`no answer from http://127.0.0.1:${closed}: ECONNREFUSED`);
    expect(stdout).not.to.include('follow a failed call');
  });

  it('without --url and no ready gateway pod, it exits 1 before running any step', async () => {
    gateway = await FakeGateway.start();
    api = await FakeKubeApi.start({ [PODS]: 'pods-gateway-not-ready.json' });
    const { code, stdout, stderr } = await mrpctl(['smoke'], { api });

    expect(code).to.equal(1);
    expect(steps(stdout)).to.deep.equal([]);
    expect(stderr).to.include('✖ no Running and Ready gateway pod in namespace mrp');
    expect(gateway.calls).to.deep.equal([]);
  });
});
