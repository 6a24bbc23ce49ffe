import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { expect } from 'chai';
import { FakeKubeApi } from './support/fake-kube-api.ts';
import { mrpctl, startMrpctl } from './support/mrpctl.ts';

const PODS = '/api/v1/namespaces/mrp/pods';
const READY_GATEWAY = 'mrp-gateway-5d8f7c9b6-vn4zs';

/** Stands in for Envoy in the gateway pod: answers with what it received, so both directions can be checked. */
async function startEchoServer(): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'x-echo-path': req.url ?? '',
        'x-echo-sha256': createHash('sha256').update(body).digest('hex'),
      });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** Whether a TCP connection to the port is refused. */
async function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => {
      resolve(true);
    });
  });
}

describe('mrpctl port-forward', () => {
  let api: FakeKubeApi;
  let echo: Server | undefined;

  afterEach(async () => {
    await api.stop();
    if (echo) {
      echo.closeAllConnections();
      await new Promise<void>((resolve) =>
        echo!.close(() => {
          resolve();
        }),
      );
      echo = undefined;
    }
  });

  it("forwards bytes both ways between the local port and the ready gateway pod's port 8080, until Ctrl-C ends it with 130", async () => {
    api = await FakeKubeApi.start({ [PODS]: 'pods-running.json' });
    echo = await startEchoServer();
    api.forwardPort('mrp', READY_GATEWAY, 8080, (echo.address() as AddressInfo).port);

    const run = startMrpctl(['port-forward', '--local-port', '0'], { api });
    const [, port] = await run.stdout.waitFor(
      new RegExp(`^Forwarding http://127\\.0\\.0\\.1:(\\d+) -> pod/${READY_GATEWAY}:8080$`, 'm'),
    );
    // Large enough to span many websocket frames each way.
    const payload = randomBytes(512 * 1024);
    const response = await fetch(`http://127.0.0.1:${port!}/v1/cases?via=tunnel`, {
      method: 'POST',
      body: payload,
    });
    const echoed = Buffer.from(await response.arrayBuffer());

    expect(response.status).to.equal(200);
    expect(response.headers.get('x-echo-path')).to.equal('/v1/cases?via=tunnel');
    expect(response.headers.get('x-echo-sha256')).to.equal(
      createHash('sha256').update(payload).digest('hex'),
    );
    expect(echoed.equals(payload)).to.equal(true);

    const upgrade = api.requestsFor(`${PODS}/${READY_GATEWAY}/portforward`);
    expect(upgrade.map((request) => [request.query.ports, request.protocol])).to.deep.equal([
      ['8080', 'v4.channel.k8s.io'],
    ]);
    expect(api.requestsFor(PODS).map((request) => request.query.labelSelector)).to.deep.equal([
      'app.kubernetes.io/name=gateway,app.kubernetes.io/instance=mrp',
    ]);

    run.stop();
    expect(await run.exit).to.equal(130);
    expect(await refused(Number(port))).to.equal(true);
    expect(run.stderr.text).to.equal('');
  });

  it('with no Running and Ready gateway pod, it exits 1 naming each gateway pod and what it is waiting for', async () => {
    api = await FakeKubeApi.start({ [PODS]: 'pods-gateway-not-ready.json' });
    const { code, stdout, stderr } = await mrpctl(['port-forward', '--local-port', '0'], { api });

    expect(code).to.equal(1);
    expect(stdout).to.equal('');
    expect(stderr).to.include(
      '✖ no Running and Ready gateway pod in namespace mrp (app.kubernetes.io/name=gateway,app.kubernetes.io/instance=mrp)',
    );
    expect(stderr).to.include(
      'pod/mrp-gateway-5d8f7c9b6-tx7qp Running: container envoy running but not ready (its readiness probe fails)',
    );
    expect(stderr).to.include('pod/mrp-gateway-5d8f7c9b6-vn4zs Pending: container envoy ContainerCreating');
    expect(api.requests.filter((request) => request.path.endsWith('/portforward'))).to.deep.equal([]);
  });

  it("when nothing listens on the pod's port, the local connection is closed and the kubelet's error is shown", async () => {
    api = await FakeKubeApi.start({ [PODS]: 'pods-running.json' });
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => {
          resolve(port);
        });
      });
    });
    api.forwardPort('mrp', READY_GATEWAY, 8080, closedPort);

    const run = startMrpctl(['port-forward', '--local-port', '0'], { api });
    const [, port] = await run.stdout.waitFor(/^Forwarding http:\/\/127\.0\.0\.1:(\d+) /m);
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('GET /healthz HTTP/1.1\r\nhost: gateway\r\n\r\n');
    await once(socket, 'close');
    await run.stderr.waitFor(/error forwarding port 8080/);

    expect(run.stderr.text).to.match(
      new RegExp(
        `^! pod/${READY_GATEWAY}:8080: error forwarding port 8080 to pod ${READY_GATEWAY}: connect ECONNREFUSED`,
        'm',
      ),
    );
    run.stop();
    expect(await run.exit).to.equal(130);
  });

  it('when the API refuses the port-forward stream, that connection is closed and the answer is shown', async () => {
    // No forwardPort(): the fake answers the upgrade 404, as the API server does for a pod that is gone.
    api = await FakeKubeApi.start({ [PODS]: 'pods-running.json' });
    const run = startMrpctl(['port-forward', '--local-port', '0'], { api });
    const [, port] = await run.stdout.waitFor(/^Forwarding http:\/\/127\.0\.0\.1:(\d+) /m);
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('GET /healthz HTTP/1.1\r\nhost: gateway\r\n\r\n');
    await once(socket, 'close');
    await run.stderr.waitFor(/Unexpected server response/);

    expect(run.stderr.text).to.include(
      `! cannot open a port-forward stream to pod/${READY_GATEWAY}:8080: Unexpected server response: 404`,
    );
    run.stop();
    expect(await run.exit).to.equal(130);
  });

  it('when the local port is taken, it exits 1 and says it cannot listen there', async () => {
    api = await FakeKubeApi.start({ [PODS]: 'pods-running.json' });
    echo = await startEchoServer();
    const taken = (echo.address() as AddressInfo).port;
    const { code, stderr } = await mrpctl(['port-forward', '--local-port', String(taken)], { api });

    expect(code).to.equal(1);
    expect(stderr).to.include(`✖ cannot listen on 127.0.0.1:${taken}`);
    expect(stderr).to.include('EADDRINUSE');
  });
});
