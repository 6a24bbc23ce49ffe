import { CoreV1Api } from '@kubernetes/client-node';
import { describeKubeError, releaseSelector, type KubeTarget } from '../kube.ts';
import { entryWidths, formatEntry, mergeByTime, requestEntries, type LogEntry } from '../log-lines.ts';
import { formatDuration, writeLine, type CommandIo } from '../output.ts';

export interface LogsOptions extends KubeTarget {
  readonly requestId: string;
  readonly sinceSeconds: number;
  readonly raw: boolean;
}

/**
 * Prints every log line of the request from every container of the release's pods, merged in time
 * order: Envoy's access log line next to the services' lines, so one request reads as one story.
 * Exit 0 when something matched, 1 when nothing did (or the pods cannot be listed).
 */
export async function requestLogs(options: LogsOptions, io: CommandIo): Promise<number> {
  const { kc, namespace, release, requestId, sinceSeconds } = options;
  const core = kc.makeApiClient(CoreV1Api);
  const selector = releaseSelector(release);
  let pods;
  try {
    pods = (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
  } catch (error) {
    writeLine(io.stderr, `✖ cannot list the pods of release ${release}: ${describeKubeError(error)}`);
    return 1;
  }
  const sources = pods.flatMap((pod) =>
    (pod.spec?.containers ?? []).map((container) => ({
      pod: pod.metadata?.name ?? '',
      container: container.name,
    })),
  );
  if (sources.length === 0) {
    writeLine(io.stderr, `✖ no pods of release ${release} in namespace ${namespace} (${selector})`);
    return 1;
  }

  const logs = await Promise.all(
    sources.map(async ({ pod, container }) => {
      const source = `${pod}/${container}`;
      try {
        const log = await core.readNamespacedPodLog({ name: pod, namespace, container, sinceSeconds });
        return { source, entries: requestEntries(log, requestId, source) };
      } catch (error) {
        // A container that has not started has no log; the others still tell the story.
        writeLine(io.stderr, `! ${source}: cannot read its log: ${describeKubeError(error)}`);
        return { source, entries: [] as LogEntry[] };
      }
    }),
  );
  const entries = mergeByTime(logs.flatMap((log) => log.entries));
  const searched = `${sources.length} containers of ${pods.length} pods (release ${release}, namespace ${namespace}, last ${formatDuration(sinceSeconds * 1000)})`;
  if (entries.length === 0) {
    writeLine(io.stderr, `✖ no log line has request_id ${requestId} in ${searched}`);
    return 1;
  }
  const widths = entryWidths(entries);
  for (const entry of entries)
    writeLine(io.stdout, options.raw ? `${entry.source} ${entry.line}` : formatEntry(entry, widths));
  const matched = logs.filter((log) => log.entries.length > 0).length;
  writeLine(io.stderr, `${entries.length} lines from ${matched} of ${searched}`);
  return 0;
}
