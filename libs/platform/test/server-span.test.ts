import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  InMemorySpanExporter,
  ParentBasedSampler,
  AlwaysOnSampler,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { expect } from 'chai';
import { activeTraceFields, recordRoute, traceRequests } from '../src/tracing.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

describe('the HTTP server span (traceRequests)', () => {
  const exporter = new InMemorySpanExporter();
  let server: Server;
  let base: string;
  /** What the listener saw of the active span, per request. */
  let seen: { trace_id?: string; span_id?: string }[] = [];

  async function listener(request: IncomingMessage, response: ServerResponse): Promise<void> {
    seen.push(activeTraceFields());
    // An await in between: the span must still be active after it (async context, not a global).
    await new Promise((resolve) => setImmediate(resolve));
    seen.push(activeTraceFields());
    if (request.url?.startsWith('/v1/cases/')) recordRoute(request.method ?? '', '/v1/cases/:id');
    if (request.url === '/boom') {
      response.statusCode = 500;
      response.end('{}');
      return;
    }
    if (request.url === '/hang') {
      request.socket.destroy();
      return;
    }
    response.end('{"ok":true}');
  }

  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(
      new TracerProvider({
        sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
        spanProcessors: [new SimpleSpanProcessor({ exporter })],
      }),
    );
    server = createServer(
      traceRequests((request, response) => {
        void listener(request, response);
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    trace.disable();
    propagation.disable();
    context.disable();
  });

  beforeEach(() => {
    exporter.reset();
    seen = [];
  });

  /** The spans ended so far, once the one for the last request has ended (it ends on the response's close). */
  async function endedSpans(count: number) {
    for (let attempt = 0; attempt < 100 && exporter.getFinishedSpans().length < count; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return exporter.getFinishedSpans();
  }

  it("continues the caller's trace: one server span, child of the traceparent, active in the handler, named after the route", async () => {
    const response = await fetch(`${base}/v1/cases/42?limit=1`, {
      headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, 'user-agent': 'span-test' },
    });
    expect(response.status).to.equal(200);
    const spans = await endedSpans(1);
    expect(spans).to.have.length(1);
    const span = spans[0]!;
    expect(span.kind).to.equal(SpanKind.SERVER);
    expect(span.spanContext().traceId).to.equal(TRACE_ID);
    expect(span.parentSpanContext?.spanId).to.equal(PARENT_ID);
    expect(span.name).to.equal('GET /v1/cases/:id');
    expect(span.attributes).to.include({
      'http.request.method': 'GET',
      'url.path': '/v1/cases/42',
      'url.query': 'limit=1',
      'http.route': '/v1/cases/:id',
      'http.response.status_code': 200,
      'user_agent.original': 'span-test',
    });
    expect(span.status.code).to.equal(SpanStatusCode.UNSET);
    // The handler saw the server span as active, before and after an await.
    expect(seen).to.deep.equal([
      { trace_id: TRACE_ID, span_id: span.spanContext().spanId },
      { trace_id: TRACE_ID, span_id: span.spanContext().spanId },
    ]);
  });

  it('starts a new trace when the request carries none', async () => {
    await fetch(`${base}/v1/other`);
    const [span] = await endedSpans(1);
    expect(span!.spanContext().traceId)
      .to.match(/^[0-9a-f]{32}$/)
      .and.not.equal(TRACE_ID);
    expect(span!.parentSpanContext).to.equal(undefined);
    expect(span!.name, 'no route recorded: the method alone').to.equal('GET');
  });

  it('an unsampled caller: no span is recorded, yet the handler still sees the trace id (for its log lines)', async () => {
    await fetch(`${base}/v1/other`, { headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(exporter.getFinishedSpans()).to.deep.equal([]);
    expect(seen.map((fields) => fields.trace_id)).to.deep.equal([TRACE_ID, TRACE_ID]);
  });

  it('marks a 5xx answer and a connection closed before the answer as errors', async () => {
    expect((await fetch(`${base}/boom`)).status).to.equal(500);
    await fetch(`${base}/hang`).catch(() => undefined);
    const spans = await endedSpans(2);
    const byPath = (path: string) => spans.find((span) => span.attributes['url.path'] === path)!;
    expect(byPath('/boom').status.code).to.equal(SpanStatusCode.ERROR);
    expect(byPath('/boom').attributes['http.response.status_code']).to.equal(500);
    expect(byPath('/hang').status.code).to.equal(SpanStatusCode.ERROR);
  });

  it('does not trace probes and scrapes', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics?x=1']) await fetch(`${base}${path}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(exporter.getFinishedSpans()).to.deep.equal([]);
    expect(seen.every((fields) => fields.trace_id === undefined)).to.equal(true);
  });
});
