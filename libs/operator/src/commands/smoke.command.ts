import type { KubeTarget } from '../kube.ts';
import { writeLine, type CommandIo } from '../output.ts';
import { findGatewayPod, GATEWAY_PORT, startPortForward, type RunningForward } from '../port-forwarder.ts';
import { flowPassed, formatStep, formatSummary, runSeedFlow } from '../seed-flow.ts';

export interface SmokeOptions {
  /** The gateway; undefined: port-forward to the release's gateway pod for the duration. */
  readonly url: string | undefined;
  /** The cluster to port-forward into when there is no url (resolved only then). */
  readonly target: () => KubeTarget;
  readonly username: string;
  readonly password: string;
  readonly requestTimeoutMs: number;
  readonly auditTimeoutMs: number;
  readonly auditIntervalMs?: number;
}

/**
 * Runs the seed flow through the gateway, printing a PASS/FAIL line per step and a summary: 0 when every
 * step passed, 1 otherwise (or when no gateway pod can be reached).
 */
export async function smokeTest(options: SmokeOptions, io: CommandIo): Promise<number> {
  let baseUrl = options.url;
  let forward: RunningForward | undefined;
  if (baseUrl === undefined) {
    const { kc, namespace, release } = options.target();
    const found = await findGatewayPod(kc, namespace, release);
    if ('problem' in found) {
      writeLine(io.stderr, `✖ ${found.problem}`);
      return 1;
    }
    forward = await startPortForward(
      { kc, namespace, pod: found.pod, port: GATEWAY_PORT },
      { address: '127.0.0.1', port: 0 },
      (message) => {
        writeLine(io.stderr, `! ${message}`);
      },
    );
    baseUrl = forward.url;
    writeLine(io.stdout, `smoke through ${forward.url} -> pod/${found.pod}:${GATEWAY_PORT}`);
  } else {
    writeLine(io.stdout, `smoke against ${baseUrl}`);
  }
  try {
    const results = await runSeedFlow({
      baseUrl,
      username: options.username,
      password: options.password,
      requestTimeoutMs: options.requestTimeoutMs,
      auditTimeoutMs: options.auditTimeoutMs,
      ...(options.auditIntervalMs === undefined ? {} : { auditIntervalMs: options.auditIntervalMs }),
      signal: io.signal,
      onStep: (result) => {
        writeLine(io.stdout, formatStep(result));
      },
    });
    for (const line of formatSummary(results, baseUrl)) writeLine(io.stdout, line);
    return flowPassed(results) ? 0 : 1;
  } finally {
    await forward?.close();
  }
}
