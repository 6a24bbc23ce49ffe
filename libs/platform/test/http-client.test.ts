import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { context, propagation, trace, type TextMapPropagator } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { httpRequest } from '../src/index.ts';

/** A local server answering each request as `handle` says, remembering what it received. */
async function serve(
  handle: (
    path: string,
    body: string,
    answer: (status: number, body: string, delayMs?: number) => void,
  ) => void,
): Promise<{
  url: string;
  received: { headers: IncomingHttpHeaders; body: string; port: number }[];
  server: Server;
}> {
  const received: { headers: IncomingHttpHeaders; body: string; port: number }[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body, port: request.socket.remotePort ?? 0 });
      handle(request.url ?? '', body, (status, text, delayMs = 0) => {
        setTimeout(() => {
          response.statusCode = status;
          response.end(text);
        }, delayMs);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

describe('httpRequest (node:http, kept-alive, traced)', function () {
  const servers: Server[] = [];
  after(async function () {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('sends the method, headers and body, and gives back the status, the text and its JSON', async function () {
    const { url, received, server } = await serve((path, body, answer) => {
      answer(201, JSON.stringify({ path, echoed: body }));
    });
    servers.push(server);
    const response = await httpRequest(`${url}/v1/things`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'rid-1' },
      body: '{"ü":1}',
      timeoutMs: 1000,
    });
    expect(response.status).to.equal(201);
    expect(response.ok).to.equal(true);
    expect(response.json()).to.deep.equal({ path: '/v1/things', echoed: '{"ü":1}' });
    expect(received[0]!.headers).to.include({
      'content-type': 'application/json',
      'x-request-id': 'rid-1',
      'content-length': String(Buffer.byteLength('{"ü":1}')),
    });
  });

  it('resolves with any status (ok false outside 2xx), and json() throws on a body that is not JSON', async function () {
    const { url, server } = await serve((_path, _body, answer) => {
      answer(503, 'not json');
    });
    servers.push(server);
    const response = await httpRequest(url, { timeoutMs: 1000 });
    expect([response.status, response.ok, response.text]).to.deep.equal([503, false, 'not json']);
    expect(() => response.json()).to.throw(SyntaxError);
  });

  it('keeps the connection open between calls', async function () {
    const { url, received, server } = await serve((_path, _body, answer) => {
      answer(200, 'ok');
    });
    servers.push(server);
    for (let call = 0; call < 3; call += 1) await httpRequest(url, { timeoutMs: 1000 });
    expect(new Set(received.map((each) => each.port)).size).to.equal(1);
  });

  it('rejects with a TimeoutError when the answer takes longer than timeoutMs', async function () {
    const { url, server } = await serve((_path, _body, answer) => {
      answer(200, 'late', 500);
    });
    servers.push(server);
    const started = Date.now();
    const error = await httpRequest(url, { timeoutMs: 100 }).then(
      () => undefined,
      (failure: unknown) => failure as Error,
    );
    expect(error?.name).to.equal('TimeoutError');
    expect(Date.now() - started).to.be.below(400);
  });

  it('rejects when nothing listens, and refuses a URL that is not HTTP', async function () {
    const refused = await httpRequest('http://127.0.0.1:9/', { timeoutMs: 1000 }).then(
      () => undefined,
      (failure: unknown) => failure as NodeJS.ErrnoException,
    );
    expect(refused?.code).to.equal('ECONNREFUSED');
    const wrong = await httpRequest('file:///etc/passwd', { timeoutMs: 1000 }).then(
      () => undefined,
      (failure: unknown) => failure as Error,
    );
    expect(wrong?.message).to.match(/not an HTTP URL/);
  });

  it("carries the caller's trace context in traceparent, under a client span of its own", async function () {
    const { url, received, server } = await serve((_path, _body, answer) => {
      answer(200, 'ok');
    });
    servers.push(server);
    const propagator: TextMapPropagator = new W3CTraceContextPropagator();
    propagation.setGlobalPropagator(propagator);
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    try {
      // A remote parent (what the server span of an incoming request sets): the client span is its child.
      const parent = trace.wrapSpanContext({
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: 1,
        isRemote: true,
      });
      await context.with(trace.setSpan(context.active(), parent), () =>
        httpRequest(url, { timeoutMs: 1000 }),
      );
      expect(received[0]!.headers.traceparent).to.match(
        /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/,
      );
    } finally {
      propagation.disable();
      context.disable();
    }
  });
});
