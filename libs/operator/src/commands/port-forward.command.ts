import { once } from 'node:events';
import type { KubeTarget } from '../kube.ts';
import { writeLine, type CommandIo } from '../output.ts';
import { findGatewayPod, GATEWAY_PORT, startPortForward, type RunningForward } from '../port-forwarder.ts';

export interface PortForwardOptions extends KubeTarget {
  readonly localPort: number;
  readonly address: string;
}

/**
 * Forwards a local port to a ready gateway pod until the signal (Ctrl-C) stops it (0). No ready gateway
 * pod, or a local port that cannot be listened on, is 1.
 */
export async function portForwardGateway(options: PortForwardOptions, io: CommandIo): Promise<number> {
  const found = await findGatewayPod(options.kc, options.namespace, options.release);
  if ('problem' in found) {
    writeLine(io.stderr, `✖ ${found.problem}`);
    return 1;
  }
  let forward: RunningForward;
  try {
    forward = await startPortForward(
      { kc: options.kc, namespace: options.namespace, pod: found.pod, port: GATEWAY_PORT },
      { address: options.address, port: options.localPort },
      (message) => {
        writeLine(io.stderr, `! ${message}`);
      },
    );
  } catch (error) {
    writeLine(
      io.stderr,
      `✖ cannot listen on ${options.address}:${options.localPort}: ${(error as Error).message}`,
    );
    return 1;
  }
  writeLine(io.stdout, `Forwarding ${forward.url} -> pod/${found.pod}:${GATEWAY_PORT}`);
  writeLine(io.stdout, 'Press Ctrl-C to stop.');
  if (!io.signal.aborted) await once(io.signal, 'abort');
  await forward.close();
  writeLine(io.stdout, 'stopped forwarding');
  return 0;
}
