import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import {
  describeKubeError,
  isRetryable,
  platformSelector,
  releaseSelector,
  type KubeTarget,
} from '../kube.ts';
import { formatDuration, writeLine, type CommandIo } from '../output.ts';
import {
  deploymentState,
  jobFailure,
  podProblems,
  statefulSetState,
  workloadLine,
  workloadRef,
  type WorkloadState,
} from '../workload-status.ts';

export interface WaitOptions extends KubeTarget {
  readonly timeoutMs: number;
  /** Pause between two looks (each look is three list calls). */
  readonly intervalMs: number;
}

interface Snapshot {
  readonly workloads: readonly WorkloadState[];
  readonly failedJobs: readonly { readonly name: string; readonly reason: string }[];
}

/**
 * Polls the release's Deployments and StatefulSets until all are ready (0), a Job of the release has
 * failed (1: a failed migration hook will not recover by waiting) or the time is up (1, naming every
 * workload that is not ready and what its pods are stuck on). Prints a line per workload whenever its
 * state changes. Polling with list calls, rather than watches, keeps it simple to follow and to test.
 */
export async function waitForRelease(options: WaitOptions, io: CommandIo): Promise<number> {
  const { kc, namespace, release } = options;
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const selector = platformSelector(release);
  const started = performance.now();
  const deadline = started + options.timeoutMs;
  const printed = new Map<string, string>();
  let announcedEmpty = false;
  let lastError: string | undefined;
  let snapshot: Snapshot | undefined;

  const look = async (): Promise<Snapshot> => {
    const [deployments, statefulSets, jobs] = await Promise.all([
      apps.listNamespacedDeployment({ namespace, labelSelector: selector }),
      apps.listNamespacedStatefulSet({ namespace, labelSelector: selector }),
      // Hook Jobs carry the release label; not every chart marks them part-of the platform.
      batch.listNamespacedJob({ namespace, labelSelector: releaseSelector(release) }),
    ]);
    return {
      workloads: [
        ...deployments.items.map(deploymentState),
        ...statefulSets.items.map(statefulSetState),
      ].sort((a, b) => workloadRef(a).localeCompare(workloadRef(b))),
      failedJobs: jobs.items.flatMap((job) => {
        const reason = jobFailure(job);
        return reason === undefined ? [] : [{ name: job.metadata?.name ?? '(unnamed)', reason }];
      }),
    };
  };

  writeLine(
    io.stdout,
    `waiting up to ${formatDuration(options.timeoutMs)} for release ${release} in namespace ${namespace} (${selector})`,
  );
  for (;;) {
    try {
      snapshot = await look();
      lastError = undefined;
    } catch (error) {
      const message = describeKubeError(error);
      if (!isRetryable(error)) {
        writeLine(io.stderr, `✖ cannot list the release's workloads: ${message}`);
        return 1;
      }
      if (message !== lastError) writeLine(io.stderr, `! ${message} (trying again)`);
      lastError = message;
    }

    if (snapshot && lastError === undefined) {
      for (const state of snapshot.workloads) {
        const line = workloadLine(state);
        if (printed.get(workloadRef(state)) !== line) writeLine(io.stdout, line);
        printed.set(workloadRef(state), line);
      }
      if (snapshot.failedJobs.length > 0) {
        for (const job of snapshot.failedJobs) {
          writeLine(io.stderr, `✖ job/${job.name} failed: ${job.reason}`);
          writeLine(io.stderr, `  see its log: kubectl logs job/${job.name} -n ${namespace}`);
        }
        return 1;
      }
      if (snapshot.workloads.length > 0 && snapshot.workloads.every((state) => state.done)) {
        writeLine(
          io.stdout,
          `✔ all ${snapshot.workloads.length} workloads of release ${release} are ready (${formatDuration(performance.now() - started)})`,
        );
        return 0;
      }
      if (snapshot.workloads.length === 0 && !announcedEmpty) {
        writeLine(io.stdout, `… no Deployment or StatefulSet matches yet`);
        announcedEmpty = true;
      }
    }

    const remaining = deadline - performance.now();
    if (remaining <= 0) {
      await explainTimeout(options, snapshot, lastError, io);
      return 1;
    }
    try {
      await sleep(Math.min(options.intervalMs, remaining), undefined, { signal: io.signal });
    } catch {
      writeLine(io.stderr, '✖ interrupted');
      return 130;
    }
  }
}

/** The timeout report: each workload that is not ready, why, and what its pods are stuck on. */
async function explainTimeout(
  options: WaitOptions,
  snapshot: Snapshot | undefined,
  lastError: string | undefined,
  io: CommandIo,
): Promise<void> {
  const { kc, namespace, release } = options;
  const after = `✖ timed out after ${formatDuration(options.timeoutMs)}`;
  if (lastError !== undefined || !snapshot) {
    writeLine(io.stderr, `${after}: ${lastError ?? 'the Kubernetes API did not answer'}`);
    return;
  }
  if (snapshot.workloads.length === 0) {
    writeLine(
      io.stderr,
      `${after}: no Deployment or StatefulSet in namespace ${namespace} matches ${platformSelector(release)} (is the release installed there? see --namespace and --release)`,
    );
    return;
  }
  const waiting = snapshot.workloads.filter((state) => !state.done);
  writeLine(io.stderr, `${after}: ${waiting.length} of ${snapshot.workloads.length} workloads are not ready`);
  const core = kc.makeApiClient(CoreV1Api);
  for (const state of waiting) {
    writeLine(io.stderr, `  ${workloadLine(state).slice(2)}`);
    for (const problem of state.problems) writeLine(io.stderr, `    ${problem}`);
    if (state.podSelector === undefined) continue;
    try {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: state.podSelector });
      const stuck = pods.items
        .map((pod) => ({ name: pod.metadata?.name ?? '(unnamed)', problems: podProblems(pod) }))
        .filter((pod) => pod.problems.length > 0);
      if (pods.items.length === 0) writeLine(io.stderr, `    no pod matches ${state.podSelector}`);
      else if (stuck.length === 0)
        writeLine(io.stderr, `    its ${pods.items.length} pods report no problem yet`);
      for (const pod of stuck) writeLine(io.stderr, `    pod/${pod.name}: ${pod.problems.join('; ')}`);
    } catch (error) {
      writeLine(io.stderr, `    (cannot list its pods: ${describeKubeError(error)})`);
    }
  }
}
