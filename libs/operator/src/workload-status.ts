import type { V1Deployment, V1Job, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { selectorString } from './kube.ts';

/** Where one Deployment or StatefulSet stands in its rollout. */
export interface WorkloadState {
  readonly kind: 'deployment' | 'statefulset';
  readonly name: string;
  readonly desired: number;
  readonly ready: number;
  /** Desired replicas updated, ready and available, and the controller has seen the latest spec. */
  readonly done: boolean;
  /** What it is waiting for, when not done (the conditions `kubectl rollout status` checks). */
  readonly waitingFor: string | undefined;
  /** Conditions that explain a stuck rollout (e.g. a ReplicaFailure from a quota). */
  readonly problems: readonly string[];
  /** The label selector of its pods, to explain what they are stuck on. */
  readonly podSelector: string | undefined;
}

/** `deployment/<name>`, as kubectl names it. */
export function workloadRef(state: Pick<WorkloadState, 'kind' | 'name'>): string {
  return `${state.kind}/${state.name}`;
}

/**
 * A Deployment's rollout, judged as `kubectl rollout status` does, and also requiring the desired
 * replicas to be ready: the latest generation observed, every desired replica updated, no old replica
 * left, and the updated ones available.
 */
export function deploymentState(deployment: V1Deployment): WorkloadState {
  const status = deployment.status;
  // Kubernetes omits zero counts from status, and spec.replicas defaults to 1.
  const desired = deployment.spec?.replicas ?? 1;
  const updated = status?.updatedReplicas ?? 0;
  const ready = status?.readyReplicas ?? 0;
  const available = status?.availableReplicas ?? 0;
  const total = status?.replicas ?? 0;
  const conditions = status?.conditions ?? [];
  const progressing = conditions.find((condition) => condition.type === 'Progressing');

  let waitingFor: string | undefined;
  if ((deployment.metadata?.generation ?? 0) > (status?.observedGeneration ?? 0))
    waitingFor = 'the controller has not seen the latest spec yet';
  else if (progressing?.reason === 'ProgressDeadlineExceeded')
    waitingFor = `it exceeded its progress deadline (${progressing.message ?? 'no progress'})`;
  else if (updated < desired) waitingFor = `${updated} of ${desired} replicas updated`;
  else if (total > updated) waitingFor = `${total - updated} old replicas pending termination`;
  else if (available < updated) waitingFor = `${available} of ${updated} updated replicas available`;
  else if (ready < desired) waitingFor = `${ready} of ${desired} replicas ready`;

  const problems = conditions
    .filter((condition) => condition.type === 'ReplicaFailure' && condition.status === 'True')
    .map((condition) => `ReplicaFailure ${condition.reason ?? ''}: ${condition.message ?? ''}`.trim());
  return {
    kind: 'deployment',
    name: deployment.metadata?.name ?? '(unnamed)',
    desired,
    ready,
    done: waitingFor === undefined,
    waitingFor,
    problems,
    podSelector: selectorString(deployment.spec?.selector),
  };
}

/**
 * A StatefulSet's rollout, judged as `kubectl rollout status` does (partitions included), and also
 * requiring the desired replicas to be available.
 */
export function statefulSetState(statefulSet: V1StatefulSet): WorkloadState {
  const status = statefulSet.status;
  const desired = statefulSet.spec?.replicas ?? 1;
  const ready = status?.readyReplicas ?? 0;
  const available = status?.availableReplicas ?? 0;
  const updated = status?.updatedReplicas ?? 0;
  const strategy = statefulSet.spec?.updateStrategy;
  const rolling = (strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
  const partition = strategy?.rollingUpdate?.partition ?? 0;

  let waitingFor: string | undefined;
  const observed = status?.observedGeneration ?? 0;
  if (observed === 0 || (statefulSet.metadata?.generation ?? 0) > observed)
    waitingFor = 'the controller has not seen the latest spec yet';
  else if (ready < desired) waitingFor = `${ready} of ${desired} pods ready`;
  else if (available < desired) waitingFor = `${available} of ${desired} pods available`;
  else if (rolling && partition > 0 && updated < desired - partition)
    waitingFor = `${updated} of ${desired - partition} pods updated (partitioned rollout)`;
  else if (rolling && partition === 0 && status?.updateRevision !== status?.currentRevision)
    waitingFor = `rolling update to revision ${status?.updateRevision ?? '?'}: ${updated} of ${desired} pods updated`;

  return {
    kind: 'statefulset',
    name: statefulSet.metadata?.name ?? '(unnamed)',
    desired,
    ready,
    done: waitingFor === undefined,
    waitingFor,
    problems: [],
    podSelector: selectorString(statefulSet.spec?.selector),
  };
}

/** `✔ deployment/mrp-case-service 2/2 ready`, or `… deployment/mrp-case-service 1/2 ready: <why>`. */
export function workloadLine(state: WorkloadState): string {
  const counts = `${workloadRef(state)} ${state.ready}/${state.desired} ready`;
  return state.done ? `✔ ${counts}` : `… ${counts}${state.waitingFor ? `: ${state.waitingFor}` : ''}`;
}

/** Why a Job failed (`<reason>: <message>` of its Failed condition), or undefined when it has not. */
export function jobFailure(job: V1Job): string | undefined {
  const failed = (job.status?.conditions ?? []).find(
    (condition) => condition.type === 'Failed' && condition.status === 'True',
  );
  if (!failed) return undefined;
  return [failed.reason, failed.message].filter(Boolean).join(': ') || 'failed';
}

/**
 * What keeps a pod from being ready, one phrase per cause: a container waiting (CrashLoopBackOff,
 * ImagePullBackOff, CreateContainerConfigError...) with its message and last exit, a failed init
 * container, a running container whose readiness probe fails, a pod that cannot be scheduled.
 */
export function podProblems(pod: V1Pod): string[] {
  const problems: string[] = [];
  const status = pod.status;
  if (pod.metadata?.deletionTimestamp) problems.push('terminating');
  if (status?.phase === 'Failed')
    problems.push(
      `failed${status.reason ? ` (${status.reason})` : ''}${status.message ? `: ${status.message}` : ''}`,
    );
  const unscheduled = (status?.conditions ?? []).find(
    (condition) => condition.type === 'PodScheduled' && condition.status === 'False',
  );
  if (unscheduled)
    problems.push(
      `${unscheduled.reason ?? 'not scheduled'}${unscheduled.message ? `: ${unscheduled.message}` : ''}`,
    );

  const containers = [
    ...(status?.initContainerStatuses ?? []).map((container) => ({ container, init: true })),
    ...(status?.containerStatuses ?? []).map((container) => ({ container, init: false })),
  ];
  for (const { container, init } of containers) {
    const label = `${init ? 'init container' : 'container'} ${container.name}`;
    const last = container.lastState?.terminated;
    const restarts =
      container.restartCount > 0
        ? `; restarted ${container.restartCount} times${
            last ? `, last exit ${last.reason ?? 'unknown'} (exit code ${last.exitCode})` : ''
          }`
        : '';
    const waiting = container.state?.waiting;
    const running = container.state?.running;
    const terminated = container.state?.terminated;
    if (waiting)
      problems.push(
        `${label} ${waiting.reason ?? 'waiting'}${waiting.message ? ` (${waiting.message})` : ''}${restarts}`,
      );
    else if (terminated && (!init || terminated.exitCode !== 0))
      problems.push(
        `${label} terminated: ${terminated.reason ?? 'exited'} (exit code ${terminated.exitCode})${restarts}`,
      );
    else if (running && !init && !container.ready)
      problems.push(`${label} running but not ready (its readiness probe fails)${restarts}`);
  }
  return problems;
}
