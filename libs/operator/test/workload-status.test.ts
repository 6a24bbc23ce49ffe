import {
  loadYaml,
  type V1Deployment,
  type V1Job,
  type V1Pod,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { expect } from 'chai';
import { isPodReady } from '../src/kube.ts';
import {
  deploymentState,
  jobFailure,
  podProblems,
  statefulSetState,
  workloadLine,
} from '../src/workload-status.ts';

type Json = Record<string, unknown>;

/**
 * The builders write API objects as the API sends them (JSON with its field names) and deserialize them
 * the way client-node does, so the tests see the same objects the commands see.
 */
const asJson = (object: Json): string => JSON.stringify(object);

/** A Deployment of 2 replicas whose rollout is complete, with these changes. */
function buildDeployment(
  overrides: { generation?: number; replicas?: number; status?: Json } = {},
): V1Deployment {
  return loadYaml<V1Deployment>(
    asJson({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'mrp-case-service', namespace: 'mrp', generation: overrides.generation ?? 2 },
      spec: {
        replicas: overrides.replicas ?? 2,
        selector: {
          matchLabels: { 'app.kubernetes.io/name': 'case-service', 'app.kubernetes.io/instance': 'mrp' },
        },
        template: { metadata: { labels: { 'app.kubernetes.io/name': 'case-service' } } },
      },
      status: {
        observedGeneration: 2,
        replicas: 2,
        updatedReplicas: 2,
        readyReplicas: 2,
        availableReplicas: 2,
        ...overrides.status,
      },
    }),
  );
}

/** A StatefulSet of 3 replicas, rolled out, with these changes. */
function buildStatefulSet(overrides: { partition?: number; status?: Json } = {}): V1StatefulSet {
  return loadYaml<V1StatefulSet>(
    asJson({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'mrp-postgres', namespace: 'mrp', generation: 1 },
      spec: {
        replicas: 3,
        selector: { matchLabels: { 'app.kubernetes.io/name': 'postgres' } },
        serviceName: 'mrp-postgres-headless',
        template: { metadata: { labels: { 'app.kubernetes.io/name': 'postgres' } } },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: overrides.partition ?? 0 } },
      },
      status: {
        observedGeneration: 1,
        replicas: 3,
        readyReplicas: 3,
        availableReplicas: 3,
        updatedReplicas: 3,
        currentRevision: 'mrp-postgres-1',
        updateRevision: 'mrp-postgres-1',
        ...overrides.status,
      },
    }),
  );
}

/** A pod with these status fields, by default Running and not Ready with one running container. */
function buildPod(overrides: { metadata?: Json; status?: Json; ready?: boolean } = {}): V1Pod {
  const ready = overrides.ready ?? false;
  return loadYaml<V1Pod>(
    asJson({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'mrp-case-service-7c9f6d5b8-4kq2m', namespace: 'mrp', ...overrides.metadata },
      spec: { containers: [{ name: 'case-service', image: 'ghcr.io/mrp/case-service:0.1.0' }] },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
        containerStatuses: [
          {
            name: 'case-service',
            image: 'ghcr.io/mrp/case-service:0.1.0',
            imageID: '',
            ready,
            restartCount: 0,
            state: { running: { startedAt: '2025-06-01T10:02:20Z' } },
          },
        ],
        ...overrides.status,
      },
    }),
  );
}

describe('workload status', () => {
  it('a deployment whose counts look right but whose latest spec is not observed yet is not done', () => {
    const state = deploymentState(buildDeployment({ generation: 3 }));
    expect(state.done).to.equal(false);
    expect(workloadLine(state)).to.equal(
      '… deployment/mrp-case-service 2/2 ready: the controller has not seen the latest spec yet',
    );
  });

  it('a deployment is done when every desired replica is updated, ready and available', () => {
    expect(workloadLine(deploymentState(buildDeployment()))).to.equal(
      '✔ deployment/mrp-case-service 2/2 ready',
    );
    expect(deploymentState(buildDeployment()).podSelector).to.equal(
      'app.kubernetes.io/name=case-service,app.kubernetes.io/instance=mrp',
    );
  });

  it('a deployment with old replicas still running, or updated ones not yet available, is not done', () => {
    expect(deploymentState(buildDeployment({ status: { replicas: 3 } })).waitingFor).to.equal(
      '1 old replicas pending termination',
    );
    expect(deploymentState(buildDeployment({ status: { availableReplicas: 1 } })).waitingFor).to.equal(
      '1 of 2 updated replicas available',
    );
  });

  it('a deployment past its progress deadline says so, and a ReplicaFailure condition is kept as a problem', () => {
    const state = deploymentState(
      buildDeployment({
        status: {
          updatedReplicas: 1,
          conditions: [
            {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
              message: 'ReplicaSet "mrp-case-service-7c9f6d5b8" has timed out progressing.',
            },
            {
              type: 'ReplicaFailure',
              status: 'True',
              reason: 'FailedCreate',
              message: 'pods "mrp-case-service-7c9f6d5b8-" is forbidden: exceeded quota: compute',
            },
          ],
        },
      }),
    );
    expect(state.waitingFor).to.equal(
      'it exceeded its progress deadline (ReplicaSet "mrp-case-service-7c9f6d5b8" has timed out progressing.)',
    );
    expect(state.problems).to.deep.equal([
      'ReplicaFailure FailedCreate: pods "mrp-case-service-7c9f6d5b8-" is forbidden: exceeded quota: compute',
    ]);
  });

  it('a deployment scaled to zero is done', () => {
    const state = deploymentState(
      buildDeployment({ replicas: 0, status: { replicas: 0, updatedReplicas: 0 } }),
    );
    expect(state.done).to.equal(true);
  });

  it('a statefulset mid rolling update is not done until every pod runs the update revision', () => {
    const state = statefulSetState(
      buildStatefulSet({ status: { updateRevision: 'mrp-postgres-2', updatedReplicas: 1 } }),
    );
    expect(workloadLine(state)).to.equal(
      '… statefulset/mrp-postgres 3/3 ready: rolling update to revision mrp-postgres-2: 1 of 3 pods updated',
    );
  });

  it('a partitioned statefulset is done once the pods above the partition are updated', () => {
    const status = { updateRevision: 'mrp-postgres-2', updatedReplicas: 1 };
    expect(statefulSetState(buildStatefulSet({ partition: 2, status })).done).to.equal(true);
    expect(statefulSetState(buildStatefulSet({ partition: 1, status })).waitingFor).to.equal(
      '1 of 2 pods updated (partitioned rollout)',
    );
  });

  it('a statefulset with a pod not ready counts it', () => {
    expect(workloadLine(statefulSetState(buildStatefulSet({ status: { readyReplicas: 2 } })))).to.equal(
      '… statefulset/mrp-postgres 2/3 ready: 2 of 3 pods ready',
    );
  });

  it('names what keeps a pod from being ready: a failing readiness probe, a failed init container, a failed pod', () => {
    expect(podProblems(buildPod())).to.deep.equal([
      'container case-service running but not ready (its readiness probe fails)',
    ]);
    const initFailed = buildPod({
      status: {
        phase: 'Pending',
        containerStatuses: [],
        initContainerStatuses: [
          {
            name: 'wait-for-postgres',
            image: 'busybox:1.37',
            imageID: '',
            ready: false,
            restartCount: 2,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error' } },
          },
        ],
      },
    });
    expect(podProblems(initFailed)).to.deep.equal([
      'init container wait-for-postgres CrashLoopBackOff; restarted 2 times, last exit Error (exit code 1)',
    ]);
    const evicted = buildPod({
      status: {
        phase: 'Failed',
        reason: 'Evicted',
        message: 'The node was low on resource: memory.',
        containerStatuses: [],
      },
    });
    expect(podProblems(evicted)).to.deep.equal(['failed (Evicted): The node was low on resource: memory.']);
  });

  it('a pod is ready to take traffic only when Running, Ready and not being deleted', () => {
    expect(isPodReady(buildPod({ ready: true }))).to.equal(true);
    expect(isPodReady(buildPod({ ready: false }))).to.equal(false);
    expect(isPodReady(buildPod({ ready: true, status: { phase: 'Succeeded' } }))).to.equal(false);
    const terminating = buildPod({ ready: true, metadata: { deletionTimestamp: '2025-06-01T10:20:00Z' } });
    expect(isPodReady(terminating)).to.equal(false);
    expect(podProblems(terminating)).to.deep.equal(['terminating']);
  });

  describe('each reason, worded', () => {
    // API objects as client-node deserializes them.
    const deploymentOf = (object: Json) => loadYaml<V1Deployment>(asJson(object));
    const statefulSetOf = (object: Json) => loadYaml<V1StatefulSet>(asJson(object));
    const jobOf = (object: Json) => loadYaml<V1Job>(asJson(object));
    const podOf = (object: Json) => loadYaml<V1Pod>(asJson(object));
    const deployment = (
      status: Json,
      spec: Json = { replicas: 2 },
      metadata: Json = { name: 'd', generation: 1 },
    ) => deploymentState(deploymentOf({ metadata, spec, status: { observedGeneration: 1, ...status } }));

    it('a deployment: updated, old, available and ready replicas, in that order of concern', () => {
      const all = { replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 };
      expect(deployment(all)).to.deep.include({
        done: true,
        waitingFor: undefined,
        name: 'd',
        desired: 2,
        ready: 2,
      });
      expect(deployment({ ...all, updatedReplicas: 1 }).waitingFor).to.equal('1 of 2 replicas updated');
      expect(deployment({ ...all, replicas: 3 }).waitingFor).to.equal('1 old replicas pending termination');
      expect(deployment({ ...all, availableReplicas: 1 }).waitingFor).to.equal(
        '1 of 2 updated replicas available',
      );
      expect(deployment({ ...all, readyReplicas: 1 }).waitingFor).to.equal('1 of 2 replicas ready');
      expect(deployment({}).waitingFor, 'counts Kubernetes omits are zero').to.equal(
        '0 of 2 replicas updated',
      );
      expect(deployment({ ...all, observedGeneration: 0 }).waitingFor).to.equal(
        'the controller has not seen the latest spec yet',
      );
      // spec.replicas defaults to 1; an object without a name is still reported.
      const unnamed = deploymentState(
        deploymentOf({
          spec: {},
          status: { updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, replicas: 1 },
        }),
      );
      expect(unnamed).to.deep.include({ desired: 1, name: '(unnamed)', done: true, podSelector: undefined });
      expect(
        deployment({
          ...all,
          conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
        }).waitingFor,
      ).to.equal('it exceeded its progress deadline (no progress)');
      const failure = deployment({
        ...all,
        conditions: [
          { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate' },
          { type: 'ReplicaFailure', status: 'False', reason: 'Old', message: 'gone' },
          { type: 'Available', status: 'True', reason: 'x', message: 'y' },
        ],
      });
      expect(failure.problems).to.deep.equal(['ReplicaFailure FailedCreate:']);
    });

    const statefulSet = (status: Json, spec: Json = { replicas: 2 }) =>
      statefulSetState(
        statefulSetOf({
          metadata: { generation: 1 },
          spec,
          status: { observedGeneration: 1, ...status },
        }),
      );

    it('a statefulset: observed, ready, available, then its rollout, partitioned or not, OnDelete never waited on', () => {
      const all = {
        readyReplicas: 2,
        availableReplicas: 2,
        updatedReplicas: 2,
        currentRevision: 'r1',
        updateRevision: 'r1',
      };
      expect(statefulSet(all)).to.deep.include({ done: true, name: '(unnamed)', problems: [] });
      expect(statefulSet({ ...all, observedGeneration: 0 }).waitingFor).to.equal(
        'the controller has not seen the latest spec yet',
      );
      expect(statefulSet({ ...all, availableReplicas: 1 }).waitingFor).to.equal('1 of 2 pods available');
      expect(statefulSet({ ...all, updateRevision: 'r2', updatedReplicas: 1 }).waitingFor).to.equal(
        'rolling update to revision r2: 1 of 2 pods updated',
      );
      expect(statefulSet({ ...all, updateRevision: undefined, updatedReplicas: 1 }).waitingFor).to.equal(
        'rolling update to revision ?: 1 of 2 pods updated',
      );
      const onDelete = { replicas: 2, updateStrategy: { type: 'OnDelete' } };
      expect(statefulSet({ ...all, updateRevision: 'r2' }, onDelete).done).to.equal(true);
      const partitioned = {
        replicas: 3,
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } },
      };
      const three = { ...all, readyReplicas: 3, availableReplicas: 3, updateRevision: 'r2' };
      expect(statefulSet({ ...three, updatedReplicas: 1 }, partitioned).waitingFor).to.equal(
        '1 of 2 pods updated (partitioned rollout)',
      );
      expect(statefulSet({ ...three, updatedReplicas: 2 }, partitioned).done).to.equal(true);
      expect(
        statefulSetState(
          statefulSetOf({
            spec: {},
            status: { observedGeneration: 1, readyReplicas: 1, availableReplicas: 1 },
          }),
        ).desired,
      ).to.equal(1);
    });

    it('a line per workload, with what it waits for when there is something', () => {
      const state = {
        kind: 'deployment',
        name: 'd',
        desired: 2,
        ready: 1,
        problems: [],
        podSelector: undefined,
      } as const;
      expect(workloadLine({ ...state, done: true, waitingFor: undefined })).to.equal(
        '✔ deployment/d 1/2 ready',
      );
      expect(workloadLine({ ...state, done: false, waitingFor: 'x' })).to.equal(
        '… deployment/d 1/2 ready: x',
      );
      expect(workloadLine({ ...state, done: false, waitingFor: undefined })).to.equal(
        '… deployment/d 1/2 ready',
      );
    });

    it('a Job failed only by its Failed condition, worded from its reason and message', () => {
      const job = (conditions: Json[]) => jobOf({ status: { conditions } });
      expect(jobFailure(jobOf({}))).to.equal(undefined);
      expect(jobFailure(job([{ type: 'Failed', status: 'False', reason: 'x' }]))).to.equal(undefined);
      expect(jobFailure(job([{ type: 'Complete', status: 'True', reason: 'x' }]))).to.equal(undefined);
      expect(
        jobFailure(
          job([{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'too many' }]),
        ),
      ).to.equal('BackoffLimitExceeded: too many');
      expect(jobFailure(job([{ type: 'Failed', status: 'True', message: 'only a message' }]))).to.equal(
        'only a message',
      );
      expect(jobFailure(job([{ type: 'Failed', status: 'True' }]))).to.equal('failed');
    });

    it('a pod: terminating, failed, unscheduled, and each container waiting, exited or not ready, with its restarts', () => {
      const pod = (status: Json, metadata: Json = {}) => podOf({ metadata, status });
      expect(podProblems(pod({}, { deletionTimestamp: new Date() }))).to.deep.equal(['terminating']);
      expect(podProblems(pod({ phase: 'Failed' }))).to.deep.equal(['failed']);
      expect(podProblems(pod({ phase: 'Failed', reason: 'Evicted', message: 'low memory' }))).to.deep.equal([
        'failed (Evicted): low memory',
      ]);
      expect(podProblems(pod({ conditions: [{ type: 'PodScheduled', status: 'False' }] }))).to.deep.equal([
        'not scheduled',
      ]);
      expect(
        podProblems(
          pod({
            conditions: [
              { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: 'no node' },
            ],
          }),
        ),
      ).to.deep.equal(['Unschedulable: no node']);
      expect(podProblems(pod({ conditions: [{ type: 'PodScheduled', status: 'True' }] }))).to.deep.equal([]);
      const container = (fields: Json) => ({
        name: 'app',
        image: 'i',
        imageID: '',
        ready: false,
        restartCount: 0,
        ...fields,
      });
      expect(
        podProblems(
          pod({
            containerStatuses: [
              container({ state: { waiting: {} } }),
              container({
                name: 'crash',
                restartCount: 3,
                state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off' } },
                lastState: { terminated: { exitCode: 1, reason: 'Error' } },
              }),
              container({
                name: 'again',
                restartCount: 1,
                state: { terminated: { exitCode: 2 } },
                lastState: { terminated: { exitCode: 2 } },
              }),
              container({ name: 'fine', ready: true, state: { running: {} } }),
              container({
                name: 'done',
                restartCount: 2,
                state: { terminated: { exitCode: 0, reason: 'Completed' } },
              }),
            ],
            initContainerStatuses: [
              container({ name: 'init-ok', state: { terminated: { exitCode: 0 } } }),
              container({ name: 'init-running', state: { running: {} } }),
            ],
          }),
        ),
      ).to.deep.equal([
        'container app waiting',
        'container crash CrashLoopBackOff (back-off); restarted 3 times, last exit Error (exit code 1)',
        'container again terminated: exited (exit code 2); restarted 1 times, last exit unknown (exit code 2)',
        'container done terminated: Completed (exit code 0); restarted 2 times',
      ]);
    });
  });
});
