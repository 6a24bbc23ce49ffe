import { connect } from 'node:net';
import { expect } from 'chai';
import { createLogger, createServiceApp, listen, type RouteDefinition } from '../src/index.ts';

const echo: RouteDefinition = {
  method: 'post',
  path: '/v1/echo',
  operationId: 'echo',
  summary: 'Echoes a user body.',
  access: 'public',
  body: { schema: 'UserCreateRequest', mediaType: 'application/json' },
  responses: { 200: { description: 'The body' } },
  handle(ctx) {
    ctx.body = ctx.state.input.body;
  },
};

function buildApp() {
  return createServiceApp({
    serviceName: 'test-service',
    version: '0.0.0',
    logger: createLogger({ serviceName: 'test-service', level: 'silent' }),
    routes: [echo],
  });
}

describe('the service app factory', () => {
  it('exposes the documented HTTP metrics by method, route and status code, and process metrics', async () => {
    const server = await listen(buildApp(), 0);
    try {
      await fetch(`${server.url}/v1/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).to.include('# TYPE http_request_duration_seconds histogram');
      const labels = ['service="test-service"', 'method="POST"', 'route="/v1/echo"', 'status_code="400"'];
      const series = (name: string) =>
        text
          .split('\n')
          .filter((line) => line.startsWith(`${name}{`) && labels.every((label) => line.includes(label)));
      expect(series('http_request_duration_seconds_count')).to.deep.equal([
        series('http_request_duration_seconds_count')[0]!.replace(/ \d+$/, ' 1'),
      ]);
      expect(series('http_request_duration_seconds_bucket').length).to.be.greaterThan(5);
      expect(series('http_requests_total')).to.have.length(1);
      expect(series('http_requests_total')[0]).to.match(/ 1$/);
      expect(text).to.include('process_cpu_seconds_total');
      expect(text).to.include('nodejs_eventloop_lag_seconds');
    } finally {
      await server.close(100);
    }
  });

  it('on shutdown, new connections are refused and an in-flight request still gets its answer, with Connection: close', async () => {
    const service = buildApp();
    const server = await listen(service, 0);
    const body = JSON.stringify({ email: 'a@b.co', role: 'viewer', full_name: 'In Flight' });
    const socket = connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let response = '';
    socket.on('data', (chunk) => (response += chunk.toString()));
    const ended = new Promise((resolve) => socket.once('close', resolve));
    // Headers and half of the body are sent before shutdown starts; the rest after.
    socket.write(
      `POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = server.close(5000);
    const refused = await fetch(`${server.url}/healthz`).then(
      () => false,
      () => true,
    );
    expect(refused, 'a new connection during shutdown').to.equal(true);
    socket.write(body.slice(10));
    await closing;
    await ended;
    expect(response).to.match(/^HTTP\/1\.1 200 OK/);
    expect(response).to.match(/\r\nConnection: close\r\n/i);
    expect(response).to.include('"full_name":"In Flight"');
  });

  it('readiness answers 503 once shutdown has started, while liveness stays 200', async () => {
    const service = buildApp();
    const server = await listen(service, 0);
    try {
      expect((await fetch(`${server.url}/readyz`)).status).to.equal(200);
      service.markShuttingDown();
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).to.equal(503);
      expect(await ready.json()).to.deep.include({ status: 'not_ready' });
      expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
    } finally {
      await server.close(100);
    }
  });

  it('over its in-flight limit, answers 503 problem+json with Retry-After at once, keeps serving probes, and admits again when load drops', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered = 0;
    let bothEntered: () => void = () => undefined;
    const bothInHandler = new Promise<void>((resolve) => {
      bothEntered = resolve;
    });
    const slow: RouteDefinition = {
      method: 'get',
      path: '/v1/slow',
      operationId: 'slow',
      summary: 'Answers once the test lets it.',
      access: 'public',
      responses: { 200: { description: 'Done' } },
      async handle(ctx) {
        entered += 1;
        if (entered === 2) bothEntered();
        await held;
        ctx.body = { done: true };
      },
    };
    const server = await listen(
      createServiceApp({
        serviceName: 'test-service',
        version: '0.0.0',
        logger: createLogger({ serviceName: 'test-service', level: 'silent' }),
        routes: [slow],
        maxInFlight: 2,
      }),
      0,
    );
    try {
      const admitted = [fetch(`${server.url}/v1/slow`), fetch(`${server.url}/v1/slow`)];
      // Both admitted requests are in the handler before the third arrives.
      await bothInHandler;
      const refused = await fetch(`${server.url}/v1/slow`, { headers: { 'x-request-id': 'over-the-limit' } });
      expect(refused.status).to.equal(503);
      expect(refused.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect(refused.headers.get('retry-after')).to.equal('1');
      expect(await refused.json()).to.deep.include({
        status: 503,
        code: 'overloaded',
        request_id: 'over-the-limit',
      });
      expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
      expect((await fetch(`${server.url}/readyz`)).status).to.equal(200);
      release();
      expect((await Promise.all(admitted)).map((response) => response.status)).to.deep.equal([200, 200]);
      expect((await fetch(`${server.url}/v1/slow`)).status).to.equal(200);
    } finally {
      release();
      await server.close(1000);
    }
  });
});

describe('routes that take service tokens', () => {
  const serviceRoute = (serviceScopes?: readonly string[]): RouteDefinition => ({
    method: 'post',
    path: '/internal/v1/work',
    operationId: 'doWork',
    summary: 'Work for a service.',
    access: ['service'],
    ...(serviceScopes ? { serviceScopes } : {}),
    responses: { 200: { description: 'Done' } },
    handle(ctx) {
      ctx.body = { done: true };
    },
  });
  const build = (route: RouteDefinition) =>
    createServiceApp({
      serviceName: 'test-service',
      version: '0.0.0',
      logger: createLogger({ serviceName: 'test-service', level: 'silent' }),
      routes: [route],
      verifyToken: (token) =>
        Promise.resolve({
          subject: `service:${token}`,
          roles: ['service'],
          scopes: token === 'worker' ? ['work:do'] : ['other:thing'],
          email: undefined,
          tokenId: undefined,
          tokenVersion: 0,
        }),
    });

  it('refuse to be built without the scopes they need, so no service token is accepted for anything by default', () => {
    expect(() => build(serviceRoute())).to.throw(
      /doWork takes service tokens, so it must name the serviceScopes/,
    );
    expect(() => build(serviceRoute([]))).to.throw(/serviceScopes/);
  });

  it('accept a service token holding the scope, and answer 403 problem+json naming the scope to one that does not', async () => {
    const server = await listen(build(serviceRoute(['work:do'])), 0);
    try {
      const call = (token: string) =>
        fetch(`${server.url}/internal/v1/work`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
        });
      expect((await call('worker')).status).to.equal(200);
      const refused = await call('stranger');
      expect(refused.status).to.equal(403);
      expect(refused.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect(((await refused.json()) as { detail: string }).detail).to.include('work:do');
    } finally {
      await server.close(100);
    }
  });
});
