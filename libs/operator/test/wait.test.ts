import { expect } from 'chai';
import { FakeKubeApi, type Recording } from './support/fake-kube-api.ts';
import { mrpctl, startMrpctl } from './support/mrpctl.ts';

const DEPLOYMENTS = '/apis/apps/v1/namespaces/mrp/deployments';
const STATEFULSETS = '/apis/apps/v1/namespaces/mrp/statefulsets';
const JOBS = '/apis/batch/v1/namespaces/mrp/jobs';
const PODS = '/api/v1/namespaces/mrp/pods';

/** case-service half rolled out, the gateway's new spec not yet observed, postgres starting. */
const rollingOut: Recording = {
  [DEPLOYMENTS]: 'deployments-rolling-out.json',
  [STATEFULSETS]: 'statefulsets-starting.json',
  [JOBS]: 'jobs-complete.json',
  [PODS]: 'pods-running.json',
};

const allReady: Recording = {
  [DEPLOYMENTS]: 'deployments-ready.json',
  [STATEFULSETS]: 'statefulsets-ready.json',
  [JOBS]: 'jobs-complete.json',
  [PODS]: 'pods-running.json',
};

/** case-service crash-looping, the gateway unable to pull its image or be scheduled. */
const failing: Recording = {
  [DEPLOYMENTS]: 'deployments-failing.json',
  [STATEFULSETS]: 'statefulsets-ready.json',
  [JOBS]: 'jobs-complete.json',
  [PODS]: 'pods-failing.json',
};

describe('mrpctl wait', () => {
  let api: FakeKubeApi;

  afterEach(async () => {
    await api.stop();
  });

  it('when the rollout completes, it prints each workload as its state changes, then a summary, and exits 0', async () => {
    api = await FakeKubeApi.start(rollingOut);
    const run = startMrpctl(['wait', '--interval', '100ms', '--timeout', '60s'], { api });
    // The first look has seen the rollout in progress; the cluster then moves on.
    await api.servedAll([DEPLOYMENTS, STATEFULSETS, JOBS]);
    api.switchTo(allReady);

    expect(await run.exit, run.stderr.text).to.equal(0);
    const lines = run.stdout.lines;
    const caseNotReady = lines.indexOf('… deployment/mrp-case-service 2/2 ready: 1 of 2 replicas updated');
    const caseReady = lines.indexOf('✔ deployment/mrp-case-service 2/2 ready');
    expect(caseNotReady, run.stdout.text).to.be.at.least(0);
    expect(caseReady).to.be.greaterThan(caseNotReady);
    expect(lines).to.include(
      '… deployment/mrp-gateway 2/2 ready: the controller has not seen the latest spec yet',
    );
    expect(lines).to.include('✔ deployment/mrp-gateway 2/2 ready');
    expect(lines).to.include('… statefulset/mrp-postgres 0/1 ready: 0 of 1 pods ready');
    expect(lines).to.include('✔ statefulset/mrp-postgres 1/1 ready');
    // An unchanged workload is printed once, not on every look.
    expect(lines.filter((line) => line === '✔ deployment/mrp-auth-service 2/2 ready')).to.have.length(1);
    expect(lines.at(-1)).to.match(/^✔ all 8 workloads of release mrp are ready \(/);
    expect(run.stderr.text).to.equal('');
  });

  it("asks for the release's platform Deployments and StatefulSets and the release's Jobs, by label", async () => {
    api = await FakeKubeApi.start(allReady);
    const { code } = await mrpctl(['wait'], { api });

    expect(code).to.equal(0);
    const platform = 'app.kubernetes.io/instance=mrp,app.kubernetes.io/part-of=mrp-platform';
    expect(api.requestsFor(DEPLOYMENTS).map((request) => request.query.labelSelector)).to.deep.equal([
      platform,
    ]);
    expect(api.requestsFor(STATEFULSETS).map((request) => request.query.labelSelector)).to.deep.equal([
      platform,
    ]);
    expect(api.requestsFor(JOBS).map((request) => request.query.labelSelector)).to.deep.equal([
      'app.kubernetes.io/instance=mrp',
    ]);
    expect(api.requests.map((request) => request.authorization)).to.satisfy((auth: unknown[]) =>
      auth.every((value) => value === 'Bearer fake-token'),
    );
  });

  it('when a deployment is not ready before the timeout, wait exits 1 and names it with what its pods are stuck on', async () => {
    api = await FakeKubeApi.start(failing);
    const { code, stdout, stderr } = await mrpctl(['wait', '--timeout', '1s', '--interval', '100ms'], {
      api,
    });

    expect(code).to.equal(1);
    expect(stdout).to.include('… deployment/mrp-case-service 0/2 ready: 0 of 2 updated replicas available');
    expect(stderr).to.include('✖ timed out after 1s: 2 of 8 workloads are not ready');
    expect(stderr).to.match(
      /^ {4}pod\/mrp-case-service-7c9f6d5b8-4kq2m: container case-service CrashLoopBackOff \(back-off 2m40s restarting failed container=case-service .*\); restarted 5 times, last exit Error \(exit code 1\)$/m,
    );
    expect(stderr).to.include(
      'pod/mrp-case-service-7c9f6d5b8-x8w2n: container case-service CrashLoopBackOff',
    );
    expect(stderr).to.match(
      /^ {4}pod\/mrp-gateway-5d8f7c9b6-tx7qp: container envoy ImagePullBackOff \(Back-off pulling image "ghcr\.io\/mrp\/gateway:0\.1\.0"/m,
    );
    expect(stderr).to.include('pod/mrp-gateway-5d8f7c9b6-vn4zs: Unschedulable: 0/3 nodes are available');
    // Ready workloads are not blamed, and pods were looked up with each workload's own selector.
    expect(stderr).not.to.include('mrp-auth-service');
    expect(api.requestsFor(PODS).map((request) => request.query.labelSelector)).to.deep.equal([
      'app.kubernetes.io/instance=mrp,app.kubernetes.io/name=case-service',
      'app.kubernetes.io/instance=mrp,app.kubernetes.io/name=gateway',
    ]);
  });

  it('when a migration hook Job has failed, wait reports it and exits 1 without waiting for the timeout', async () => {
    api = await FakeKubeApi.start({ ...rollingOut, [JOBS]: 'jobs-migration-failed.json' });
    const { code, stderr } = await mrpctl(['wait', '--timeout', '10m'], { api });

    expect(code).to.equal(1);
    expect(stderr).to.include(
      '✖ job/mrp-case-service-migrate failed: BackoffLimitExceeded: Job has reached the specified backoff limit',
    );
    expect(stderr).to.include('kubectl logs job/mrp-case-service-migrate -n mrp');
    expect(stderr).not.to.include('mrp-user-service-migrate');
    expect(api.requestsFor(DEPLOYMENTS)).to.have.length(1);
  });

  it('when nothing carries the release label, wait times out saying no workload matches its selector', async () => {
    api = await FakeKubeApi.start(allReady);
    const { code, stdout, stderr } = await mrpctl(
      ['wait', '--release', 'demo', '--timeout', '300ms', '--interval', '100ms'],
      { api },
    );

    expect(code).to.equal(1);
    expect(stdout).to.include('… no Deployment or StatefulSet matches yet');
    expect(stderr).to.include(
      'no Deployment or StatefulSet in namespace mrp matches app.kubernetes.io/instance=demo,app.kubernetes.io/part-of=mrp-platform',
    );
    expect(api.requestsFor(DEPLOYMENTS)[0]?.query.labelSelector).to.equal(
      'app.kubernetes.io/instance=demo,app.kubernetes.io/part-of=mrp-platform',
    );
  });

  it('when the API cannot be reached, wait keeps trying until the timeout and says why it could not look', async () => {
    api = await FakeKubeApi.start(allReady);
    const kc = api.kubeConfig();
    const server = new URL(api.url).host;
    await api.stop();
    const run = startMrpctl(['wait', '--timeout', '500ms', '--interval', '100ms'], {
      api: { kubeConfig: () => kc },
    });

    expect(await run.exit).to.equal(1);
    // Said once while retrying, not on every attempt, then as the reason of the timeout.
    expect(run.stderr.lines).to.deep.equal([
      `! cannot reach the Kubernetes API at ${server} (ECONNREFUSED) (trying again)`,
      `✖ timed out after 500ms: cannot reach the Kubernetes API at ${server} (ECONNREFUSED)`,
    ]);
  });

  it("when the API refuses the list for good (a 404), wait stops at once with exit 1 and the API's message", async () => {
    // --context staging points at namespace "staging", which this fake has recorded nothing for.
    api = await FakeKubeApi.start(allReady);
    const { code, stderr } = await mrpctl(['wait', '--context', 'staging', '--timeout', '10m'], { api });

    expect(code).to.equal(1);
    expect(stderr).to.include(
      "✖ cannot list the release's workloads: the Kubernetes API answered 404: the server could not find the requested resource",
    );
    expect(api.requests[0]?.path).to.match(/^\/apis\/(apps|batch)\/v1\/namespaces\/staging\//);
  });
});
