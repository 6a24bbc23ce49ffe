import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { WebSocketServer, type WebSocket } from 'ws';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

/**
 * A recorded cluster state: which fixture answers which GET. The key is the API path, plus
 * `?container=<name>` for a container's log; the value a file in test/fixtures: JSON (a Kubernetes list,
 * object or Status, answered with the Status' own code) or anything else as text/plain (a container log).
 */
export type Recording = Readonly<Record<string, string>>;

/** A request the fake answered, as the CLI sent it. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly authorization: string | undefined;
  /** The websocket subprotocol agreed on, for a port-forward upgrade. */
  readonly protocol?: string;
}

/** A port-forward stream the fake accepted: to which pod and port, over which subprotocol. */
export interface ForwardedStream {
  readonly pod: string;
  readonly port: number;
  readonly protocol: string;
}

/**
 * A local stand-in for the Kubernetes API server: answers list, get and log calls from recorded
 * fixtures (filtering lists by `labelSelector` as the real server does), answers 404 Status objects for
 * anything else, moves to a next recorded state on demand, records every request, and speaks the
 * port-forward websocket protocol (v4.channel.k8s.io) to pods it was told how to reach.
 */
export class FakeKubeApi {
  readonly requests: RecordedRequest[] = [];
  readonly streams: ForwardedStream[] = [];
  private recording: Recording;
  private readonly server: Server;
  private readonly wss = new WebSocketServer({
    noServer: true,
    // The API server offers the channel protocols it knows; port-forward speaks v4 here.
    handleProtocols: (offered) => (offered.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false),
  });
  private readonly forwards = new Map<string, number>();
  private readonly waiters: { path: string; times: number; resolve: () => void }[] = [];
  private readonly sockets = new Set<Socket | Duplex>();

  private constructor(recording: Recording) {
    this.recording = recording;
    this.server = createServer((req, res) => {
      this.answer(req, res);
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(req, socket, head);
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Starts the fake on 127.0.0.1 and a free port, answering from this recording. */
  static async start(recording: Recording): Promise<FakeKubeApi> {
    const api = new FakeKubeApi(recording);
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    return api;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Answers from this recording from the next request on: the cluster moved on. */
  switchTo(recording: Recording): void {
    this.recording = recording;
  }

  /** Resolves once requests for this path have been answered `times` times in all. */
  served(path: string, times = 1): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ path, times, resolve });
      this.wake();
    });
  }

  /** Resolves once each of these paths has been answered (e.g. every list call of one poll). */
  async servedAll(paths: readonly string[]): Promise<void> {
    await Promise.all(paths.map((path) => this.served(path)));
  }

  /** The requests answered for this path (query aside). */
  requestsFor(path: string): RecordedRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  /** Makes `pods/<pod>/portforward?ports=<port>` reach a TCP server on 127.0.0.1:<localPort>. */
  forwardPort(namespace: string, pod: string, port: number, localPort: number): void {
    this.forwards.set(`${namespace}/${pod}:${port}`, localPort);
  }

  /**
   * A kubeconfig for this server with two contexts: `fake` (namespace `mrp`, current) and `staging`
   * (namespace `staging`). http needs skipTLSVerify: client-node refuses plain http otherwise.
   */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'operator', token: 'fake-token' }],
      contexts: [
        { name: 'fake', cluster: 'fake', user: 'operator', namespace: 'mrp' },
        { name: 'staging', cluster: 'fake', user: 'operator', namespace: 'staging' },
      ],
      currentContext: 'fake',
    });
    return kc;
  }

  /** The same kubeconfig as a file's YAML (JSON is YAML), for a CLI run with KUBECONFIG. */
  kubeConfigFile(): string {
    return this.kubeConfig().exportConfig();
  }

  async stop(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }

  private record(req: IncomingMessage, protocol?: string): URL {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
      ...(protocol === undefined ? {} : { protocol }),
    });
    return url;
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) {
      if (this.requestsFor(waiter.path).length >= waiter.times) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const url = this.record(req);
    const container = url.searchParams.get('container');
    const key = container === null ? url.pathname : `${url.pathname}?container=${container}`;
    const fixture = req.method === 'GET' ? this.recording[key] : undefined;
    if (fixture === undefined) {
      send(res, 404, notFound(url.pathname));
    } else if (fixture.endsWith('.json')) {
      const body = JSON.parse(readFileSync(join(FIXTURES, fixture), 'utf8')) as KubeObject;
      if (body.kind === 'Status') send(res, body.code ?? 500, body);
      else send(res, 200, filterList(body, url.searchParams.get('labelSelector')));
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(readFileSync(join(FIXTURES, fixture)));
    }
    this.wake();
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/.exec(url.pathname);
    const port = Number(url.searchParams.get('ports'));
    const target = match ? this.forwards.get(`${match[1]}/${match[2]}:${port}`) : undefined;
    if (!match || target === undefined) {
      this.record(req);
      const body = JSON.stringify(notFound(url.pathname));
      socket.end(
        `HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
      this.wake();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.record(req, ws.protocol);
      this.streams.push({ pod: match[2]!, port, protocol: ws.protocol });
      this.wake();
      bridge(ws, port, target, match[2]!);
    });
  }
}

interface KubeObject {
  readonly kind?: string;
  readonly code?: number;
  readonly items?: readonly { readonly metadata?: { readonly labels?: Record<string, string> } }[];
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The Status the API server answers for a path it does not serve. */
function notFound(path: string): object {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `the server could not find the requested resource (get ${path})`,
    reason: 'NotFound',
    details: {},
    code: 404,
  };
}

/** A list with only the items the label selector selects, as the API server filters them. */
function filterList(body: KubeObject, selector: string | null): KubeObject {
  if (!body.items || selector === null || selector === '') return body;
  const requirements = parseSelector(selector);
  return {
    ...body,
    items: body.items.filter((item) => requirements.every((matches) => matches(item.metadata?.labels ?? {}))),
  };
}

type Requirement = (labels: Readonly<Record<string, string>>) => boolean;

/** The label selector grammar: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`. */
function parseSelector(selector: string): Requirement[] {
  return (selector.match(/[^,(]+(\([^)]*\))?/g) ?? []).map((raw): Requirement => {
    const term = raw.trim();
    const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (set) {
      const values = set[3]!.split(',').map((value) => value.trim());
      return set[2] === 'in'
        ? (labels) => values.includes(labels[set[1]!] ?? '\0')
        : (labels) => !values.includes(labels[set[1]!] ?? '\0');
    }
    const unequal = /^([^!=]+)!=(.*)$/.exec(term);
    if (unequal) return (labels) => labels[unequal[1]!] !== unequal[2];
    const equal = /^([^!=]+)==?(.*)$/.exec(term);
    if (equal) return (labels) => labels[equal[1]!] === equal[2];
    if (term.startsWith('!')) return (labels) => !(term.slice(1) in labels);
    return (labels) => term in labels;
  });
}

/**
 * The kubelet's side of one port-forward stream (v4.channel.k8s.io): every binary frame starts with its
 * channel, 0 data and 1 errors; the first frame of each channel carries the port as a little-endian
 * uint16. Data is piped to the TCP server standing in for the container; a failed connection is
 * reported on the error channel, as the kubelet does.
 */
function bridge(ws: WebSocket, port: number, localPort: number, pod: string): void {
  const portBytes = Buffer.alloc(2);
  portBytes.writeUInt16LE(port);
  ws.send(Buffer.concat([Buffer.from([0]), portBytes]));
  ws.send(Buffer.concat([Buffer.from([1]), portBytes]));
  const tcp = connect(localPort, '127.0.0.1');
  tcp.on('data', (chunk: Buffer) => {
    ws.send(Buffer.concat([Buffer.from([0]), chunk]));
  });
  tcp.on('error', (error) => {
    const message = `error forwarding port ${port} to pod ${pod}: ${error.message}`;
    ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(message)]));
    ws.close();
  });
  tcp.on('close', () => {
    ws.close();
  });
  ws.on('message', (data: Buffer) => {
    if (data[0] === 0) tcp.write(data.subarray(1));
  });
  ws.on('close', () => tcp.end());
}
