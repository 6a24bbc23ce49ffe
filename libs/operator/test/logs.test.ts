import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { FakeKubeApi, type Recording } from './support/fake-kube-api.ts';
import { mrpctl } from './support/mrpctl.ts';

const exec = promisify(execFile);

const PODS = '/api/v1/namespaces/mrp/pods';
const log = (pod: string, container: string): string => `${PODS}/${pod}/log?container=${container}`;

/** The case created by this request went gateway -> case-service -> scoring-service -> audit consumer. */
const REQUEST_ID = '5b1e7c7a-2f43-4d8e-9a51-0c6f3f1d8e27';

/** Every container of the release's pods in pods-running.json, and the log each one answers. */
const CONTAINER_LOGS: Readonly<Record<string, string>> = {
  [log('mrp-audit-telemetry-service-84d6c9f7b-q9z7d', 'audit-telemetry-service')]:
    'logs/audit-telemetry-service-q9z7d.log',
  [log('mrp-auth-service-6b7d9f5c4-m2f8k', 'auth-service')]: 'logs/auth-service-m2f8k.log',
  [log('mrp-case-service-7c9f6d5b8-4kq2m', 'case-service')]: 'logs/case-service-4kq2m.log',
  [log('mrp-case-service-7c9f6d5b8-x8w2n', 'case-service')]: 'logs/case-service-x8w2n.log',
  [log('mrp-gateway-5d8f7c9b6-tx7qp', 'envoy')]: 'logs/gateway-tx7qp-envoy.log',
  [log('mrp-gateway-5d8f7c9b6-vn4zs', 'envoy')]: 'logs/gateway-vn4zs-envoy.log',
  [log('mrp-case-service-migrate-xk2p9', 'migrate')]: 'logs/case-service-migrate.log',
  [log('mrp-postgres-0', 'postgres')]: 'logs/postgres-0-postgres.log',
  [log('mrp-postgres-0', 'metrics')]: 'logs/postgres-0-metrics.log',
  [log('mrp-redis-0', 'redis')]: 'logs/redis-0-redis.log',
  [log('mrp-scoring-service-5f6b8c7d9-h5r6t', 'scoring-service')]: 'logs/scoring-service-h5r6t.log',
  [log('mrp-user-service-7f8c6d9b5-p3c9w', 'user-service')]: 'logs/user-service-p3c9w.log',
};

const running: Recording = { [PODS]: 'pods-running.json', ...CONTAINER_LOGS };

describe('mrpctl logs', () => {
  let api: FakeKubeApi;

  afterEach(async () => {
    await api.stop();
  });

  it("prints the request's lines from Envoy and every service merged in time order, each after its pod/container", async () => {
    api = await FakeKubeApi.start(running);
    const { code, stdout, stderr } = await mrpctl(['logs', REQUEST_ID], { api });

    expect(code, stderr).to.equal(0);
    const lines = stdout.trimEnd().split('\n');
    // Time order across pods, not the order the pods were listed or read in.
    expect(lines.map((line) => line.split(/\s+/).slice(0, 2))).to.deep.equal([
      ['2025-06-01T10:15:02.118Z', 'mrp-gateway-5d8f7c9b6-vn4zs/envoy'],
      ['2025-06-01T10:15:02.124Z', 'mrp-case-service-7c9f6d5b8-4kq2m/case-service'],
      ['2025-06-01T10:15:02.131Z', 'mrp-case-service-7c9f6d5b8-4kq2m/case-service'],
      ['2025-06-01T10:15:02.135Z', 'mrp-scoring-service-5f6b8c7d9-h5r6t/scoring-service'],
      ['2025-06-01T10:15:02.161Z', 'mrp-case-service-7c9f6d5b8-4kq2m/case-service'],
      ['2025-06-01T10:15:02.412Z', 'mrp-audit-telemetry-service-84d6c9f7b-q9z7d/audit-telemetry-service'],
    ]);
    expect(lines[0]).to.match(/ {2}gateway +access {2}POST \/v1\/cases -> 201 \(48 ms\)$/);
    expect(lines[2]).to.match(
      / {2}case-service +warn {4}scoring call failed, retrying error: connect ECONNRESET 10\.96\.14\.20:3004$/,
    );
    expect(lines[4]).to.match(
      / {2}case-service +info {4}request completed POST \/v1\/cases -> 201 \(41\.2 ms\)$/,
    );
    expect(stderr).to.include('6 lines from 4 of 12 containers of 11 pods');
  });

  it('leaves out the lines of other requests, plain-text lines and broken or non-object JSON', async () => {
    api = await FakeKubeApi.start(running);
    const { stdout } = await mrpctl(['logs', REQUEST_ID, '--raw'], { api });

    const lines = stdout.trimEnd().split('\n');
    expect(lines).to.have.length(6);
    for (const line of lines) {
      const [source, ...json] = line.split(' ');
      expect(source).to.match(/^mrp-[a-z0-9-]+\/[a-z-]+$/);
      expect((JSON.parse(json.join(' ')) as { request_id: string }).request_id).to.equal(REQUEST_ID);
    }
    expect(stdout).not.to.include('c2f9e8d1-4a6b-4e3c-9f21-8b7a6d5c4e32');
    expect(stdout).not.to.include('ExperimentalWarning');
    expect(stdout).not.to.include('mrp-case-service-7c9f6d5b8-x8w2n');
  });

  it("reads every container of the release's pods, both of a two-container pod, and no other release's pod", async () => {
    api = await FakeKubeApi.start(running);
    await mrpctl(['logs', REQUEST_ID, '--since', '15m'], { api });

    expect(api.requestsFor(PODS).map((request) => request.query.labelSelector)).to.deep.equal([
      'app.kubernetes.io/instance=mrp',
    ]);
    const logReads = api.requests.filter((request) => request.path.endsWith('/log'));
    expect(logReads.map((request) => `${request.path}?container=${request.query.container}`)).to.have.members(
      Object.keys(CONTAINER_LOGS),
    );
    expect(logReads.map((request) => request.query.sinceSeconds)).to.satisfy((since: string[]) =>
      since.every((value) => value === '900'),
    );
    expect(logReads.some((request) => request.path.includes('demo-gateway'))).to.equal(false);
  });

  it('when no line carries the request ID, it says where it looked and exits 1', async () => {
    api = await FakeKubeApi.start(running);
    const { code, stdout, stderr } = await mrpctl(['logs', 'no-such-request'], { api });

    expect(code).to.equal(1);
    expect(stdout).to.equal('');
    expect(stderr).to.include(
      '✖ no log line has request_id no-such-request in 12 containers of 11 pods (release mrp, namespace mrp, last 1h)',
    );
    expect(api.requests.find((request) => request.path.endsWith('/log'))?.query.sinceSeconds).to.equal(
      '3600',
    );
  });

  it('a container whose log cannot be read is named on stderr and the others still tell the story', async () => {
    api = await FakeKubeApi.start({
      ...running,
      [log('mrp-redis-0', 'redis')]: 'status-container-waiting.json',
    });
    const { code, stdout, stderr } = await mrpctl(['logs', REQUEST_ID], { api });

    expect(code).to.equal(0);
    expect(stdout.trimEnd().split('\n')).to.have.length(6);
    expect(stderr).to.include(
      '! mrp-redis-0/redis: cannot read its log: the Kubernetes API answered 400: container "redis" in pod "mrp-redis-0" is waiting to start: ContainerCreating',
    );
  });

  it('when the release has no pods in the namespace, it says so and exits 1', async () => {
    api = await FakeKubeApi.start(running);
    const { code, stderr } = await mrpctl(['logs', REQUEST_ID, '--release', 'staging'], { api });

    expect(code).to.equal(1);
    expect(stderr).to.include(
      '✖ no pods of release staging in namespace mrp (app.kubernetes.io/instance=staging)',
    );
  });

  it('run as a command, it reads the kubeconfig named by KUBECONFIG and exits with the result', async () => {
    api = await FakeKubeApi.start(running);
    const dir = mkdtempSync(join(tmpdir(), 'mrpctl-'));
    try {
      const kubeconfig = join(dir, 'config');
      writeFileSync(kubeconfig, api.kubeConfigFile());
      const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');
      const { stdout } = await exec(process.execPath, [cli, 'logs', REQUEST_ID], {
        env: { ...process.env, KUBECONFIG: kubeconfig },
      });
      expect(stdout.trimEnd().split('\n')).to.have.length(6);
      const missing = await exec(process.execPath, [cli, 'logs', 'no-such-request'], {
        env: { ...process.env, KUBECONFIG: kubeconfig },
      }).then(
        () => ({ code: 0, stderr: '' }),
        (error: unknown) => error as { code: number; stderr: string },
      );
      expect(missing.code).to.equal(1);
      expect(missing.stderr).to.include('no log line has request_id no-such-request');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
