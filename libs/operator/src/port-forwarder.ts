import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { CoreV1Api, PortForward, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { describeKubeError, gatewaySelector, isPodReady } from './kube.ts';
import { podProblems } from './workload-status.ts';

/** The port the gateway's `envoy` container listens on. */
export const GATEWAY_PORT = 8080;

export interface ForwardTarget {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly pod: string;
  readonly port: number;
}

export interface RunningForward {
  readonly address: string;
  /** The local port (the one picked when 0 was asked for). */
  readonly port: number;
  /** `http://<address>:<port>`, with an IPv6 address in brackets. */
  readonly url: string;
  /** Stops listening and closes every open connection and its stream. */
  close(): Promise<void>;
}

/**
 * Listens on a local TCP port and tunnels each connection to the pod's port through its own port-forward
 * websocket (client-node's PortForward, the v4.channel.k8s.io protocol kubectl speaks), the way
 * `kubectl port-forward` opens one stream per connection. A stream that fails closes only its
 * connection; `onError` hears why.
 */
export async function startPortForward(
  target: ForwardTarget,
  local: { readonly address: string; readonly port: number },
  onError: (message: string) => void,
): Promise<RunningForward> {
  const forward = new PortForward(target.kc);
  const sockets = new Set<Socket>();
  const podRef = `pod/${target.pod}:${target.port}`;

  const tunnel = async (socket: Socket): Promise<void> => {
    // The local client hanging up mid-stream is not our error to report.
    socket.on('error', () => socket.destroy());
    // Channel 1 carries the kubelet's error text (e.g. nothing listens on the pod's port). Its first
    // frame is only the port prefix, which client-node strips, leaving an empty write.
    const remoteErrors = new Writable({
      write(chunk: Buffer, _encoding, done) {
        const message = chunk.toString('utf8').trim();
        if (message) {
          onError(`${podRef}: ${message}`);
          socket.destroy();
        }
        done();
      },
    });
    const ws = await forward
      .portForward(target.namespace, target.pod, [target.port], socket, remoteErrors, socket)
      // Without retries client-node hands back the open websocket itself, not a getter.
      .then((opened) => (typeof opened === 'function' ? opened() : opened))
      .catch((error: unknown) => {
        onError(`cannot open a port-forward stream to ${podRef}: ${describeKubeError(error)}`);
        return null;
      });
    if (!ws) {
      socket.destroy();
      return;
    }
    ws.on('error', (error: Error) => {
      onError(`port-forward stream to ${podRef} failed: ${error.message}`);
      socket.destroy();
    });
    // The pod side closed: its server closed the connection, or the pod went away.
    ws.on('close', () => socket.end());
    if (socket.destroyed) ws.close();
    else
      socket.once('close', () => {
        ws.close();
      });
  };

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    void tunnel(socket);
  });
  server.listen(local.port, local.address);
  await once(server, 'listening');
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    address,
    port,
    url: `http://${host}:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

export type GatewayPod = { readonly pod: string } | { readonly problem: string };

/**
 * The first Running and Ready gateway pod of the release, or why there is none (naming each gateway
 * pod and what it is stuck on).
 */
export async function findGatewayPod(
  kc: KubeConfig,
  namespace: string,
  release: string,
): Promise<GatewayPod> {
  const selector = gatewaySelector(release);
  let pods: V1Pod[];
  try {
    pods = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector: selector }))
      .items;
  } catch (error) {
    return { problem: `cannot list the gateway pods: ${describeKubeError(error)}` };
  }
  const ready = pods.find(isPodReady);
  if (ready?.metadata?.name) return { pod: ready.metadata.name };
  const none = `no Running and Ready gateway pod in namespace ${namespace} (${selector})`;
  if (pods.length === 0) return { problem: `${none}: no pod matches` };
  const found = pods.map((pod) => {
    const problems = podProblems(pod);
    const phase = pod.status?.phase ?? 'Unknown';
    return `pod/${pod.metadata?.name ?? '(unnamed)'} ${phase}${problems.length ? `: ${problems.join('; ')}` : ', not ready'}`;
  });
  return { problem: `${none}; found ${found.join(' | ')}` };
}
