import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { expect } from 'chai';
import { context, propagation, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import {
  OtlpJsonTraceExporter,
  otlpSettingsFromEnvironment,
  otlpValue,
  parseOtlpHeaders,
  type OtlpExporterSettings,
} from '../src/telemetry/otlp-exporter.ts';

interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A collector stand-in: answers each export with the next status of `statuses` (then 200). */
async function collector(
  statuses: number[] = [],
  delayMs = 0,
): Promise<{ url: URL; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      setTimeout(() => {
        res.writeHead(statuses.shift() ?? 200, { 'content-type': 'application/json' }).end('{}');
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: new URL(`http://127.0.0.1:${port}/v1/traces`), received, server };
}

const settings = (url: URL, overrides: Partial<OtlpExporterSettings> = {}): OtlpExporterSettings => ({
  url,
  headers: {},
  timeoutMs: 5000,
  compression: 'none',
  ...overrides,
});

/** Finished spans from a real tracer provider: a server span, its client child with an event, a link. */
async function finishedSpans(): Promise<ReadableSpan[]> {
  const spans: ReadableSpan[] = [];
  const keep: SpanExporter = {
    export(batch, done) {
      spans.push(...batch);
      done({ code: ExportResultCode.SUCCESS });
    },
    shutdown: () => Promise.resolve(),
    forceFlush: () => Promise.resolve(),
  };
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'test-service', 'service.version': '1.2.3' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: keep })],
  });
  const tracer = provider.getTracer('@mrp/test', '0.0.1');
  const linked = {
    traceId: 'a'.repeat(32),
    spanId: 'b'.repeat(16),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  };
  const server = tracer.startSpan('GET /v1/cases', {
    kind: SpanKind.SERVER,
    startTime: [1_700_000_000, 123_456_789],
    links: [{ context: linked, attributes: { why: 'test' } }],
  });
  server.setAttributes({ 'http.response.status_code': 200, ratio: 0.25, ok: true, tags: ['a', 'b'] });
  const client = tracer.startSpan('POST', { kind: SpanKind.CLIENT }, trace.setSpan(context.active(), server));
  client.addEvent('retry', { attempt: 2 }, [1_700_000_000, 500_000_000]);
  client.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  client.end();
  server.end([1_700_000_001, 0]);
  await provider.forceFlush();
  return spans;
}

function exportOnce(exporter: OtlpJsonTraceExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => {
    exporter.export(spans, resolve);
  });
}

/** The parts of an OTLP/JSON export the tests read. */
interface ExportBody {
  readonly resourceSpans: {
    readonly resource: { readonly attributes: unknown[] };
    readonly scopeSpans: { readonly scope: unknown; readonly spans: Record<string, unknown>[] }[];
  }[];
}

describe('the OTLP/JSON span exporter', function () {
  const servers: Server[] = [];
  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  after(async () => {
    context.disable();
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe('settings from the environment', () => {
    it('takes the traces endpoint as is, else appends v1/traces to the general one, else localhost:4318', () => {
      const url = (env: NodeJS.ProcessEnv) => otlpSettingsFromEnvironment(env).url.href;
      expect(url({})).to.equal('http://localhost:4318/v1/traces');
      expect(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).to.equal(
        'http://collector:4318/v1/traces',
      );
      expect(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://c.example/otlp/' })).to.equal(
        'https://c.example/otlp/v1/traces',
      );
      expect(
        url({
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:9999/spans',
        }),
      ).to.equal('http://b:9999/spans');
      expect(url({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).to.equal('http://localhost:4318/v1/traces');
    });

    it('refuses an endpoint that is not an http(s) URL', () => {
      expect(() => otlpSettingsFromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).to.throw(
        /is not a URL/,
      );
      expect(() =>
        otlpSettingsFromEnvironment({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://c:4317' }),
      ).to.throw(/not an http or https URL/);
    });

    it('merges headers (the traces ones win), and reads timeout and compression, falling back on bad values', () => {
      const read = otlpSettingsFromEnvironment({
        OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Basic%20abc,x-tenant=one',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=two',
        OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
        OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'GZIP',
      });
      expect(read.headers).to.deep.equal({ authorization: 'Basic abc', 'x-tenant': 'two' });
      expect(read.timeoutMs).to.equal(2500);
      expect(read.compression).to.equal('gzip');
      const fallback = otlpSettingsFromEnvironment({
        OTEL_EXPORTER_OTLP_TIMEOUT: 'soon',
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '-1',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd',
      });
      expect(fallback.timeoutMs).to.equal(10_000);
      expect(fallback.compression).to.equal('none');
      expect(
        otlpSettingsFromEnvironment({
          OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '750',
          OTEL_EXPORTER_OTLP_TIMEOUT: '9',
        }).timeoutMs,
      ).to.equal(750);
    });

    it('parses the header list leniently: blanks, entries without a name or "=", and bad escapes', () => {
      expect(parseOtlpHeaders(undefined)).to.deep.equal({});
      expect(parseOtlpHeaders(' a = 1 ,,=x,novalue, B=%E0%A4%A,c=x=y')).to.deep.equal({
        a: '1',
        b: '%E0%A4%A',
        c: 'x=y',
      });
    });
  });

  it('writes attribute values as OTLP/JSON does', () => {
    expect(otlpValue('x')).to.deep.equal({ stringValue: 'x' });
    expect(otlpValue(3)).to.deep.equal({ intValue: 3 });
    expect(otlpValue(0.5)).to.deep.equal({ doubleValue: 0.5 });
    expect(otlpValue(false)).to.deep.equal({ boolValue: false });
    expect(otlpValue(new Uint8Array([1, 2, 255]))).to.deep.equal({ bytesValue: 'AQL/' });
    expect(otlpValue([1, 'a'])).to.deep.equal({
      arrayValue: { values: [{ intValue: 1 }, { stringValue: 'a' }] },
    });
    expect(otlpValue({ k: true })).to.deep.equal({
      kvlistValue: { values: [{ key: 'k', value: { boolValue: true } }] },
    });
    expect(otlpValue(null)).to.deep.equal({});
    expect(otlpValue(undefined)).to.deep.equal({});
  });

  it('POSTs spans as an ExportTraceServiceRequest: resource, scope, ids, kinds, times, attributes, events, links', async () => {
    const { url, received, server } = await collector();
    servers.push(server);
    const exporter = new OtlpJsonTraceExporter(settings(url, { headers: { 'x-tenant': 'one' } }));
    const spans = await finishedSpans();
    // Exported from inside a sampled span, with tracing and propagation registered as in a service.
    const provider = new TracerProvider();
    trace.setGlobalTracerProvider(provider);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const active = provider.getTracer('test').startSpan('outer');
    try {
      const result = await context.with(trace.setSpan(context.active(), active), () =>
        exportOnce(exporter, spans),
      );
      expect(result).to.deep.equal({ code: ExportResultCode.SUCCESS });
    } finally {
      active.end();
      trace.disable();
      propagation.disable();
    }
    expect(received).to.have.length(1);
    const [request] = received as [Received];
    expect(request.method).to.equal('POST');
    expect(request.path).to.equal('/v1/traces');
    expect(request.headers['content-type']).to.equal('application/json');
    expect(request.headers['x-tenant']).to.equal('one');
    expect(request.headers.traceparent, 'the export itself is not traced').to.equal(undefined);
    const body = JSON.parse(request.body.toString('utf8')) as ExportBody;
    expect(body.resourceSpans).to.have.length(1);
    const [resourceSpans] = body.resourceSpans as [ExportBody['resourceSpans'][number]];
    expect(resourceSpans.resource.attributes).to.deep.include({
      key: 'service.name',
      value: { stringValue: 'test-service' },
    });
    expect(resourceSpans.scopeSpans).to.have.length(1);
    const [scopeSpans] = resourceSpans.scopeSpans as [
      ExportBody['resourceSpans'][number]['scopeSpans'][number],
    ];
    expect(scopeSpans.scope).to.deep.equal({ name: '@mrp/test', version: '0.0.1' });
    const [client, serverSpan] = scopeSpans.spans as [Record<string, unknown>, Record<string, unknown>];
    const [clientSource, serverSource] = spans as [ReadableSpan, ReadableSpan];
    expect(serverSpan).to.deep.include({
      traceId: serverSource.spanContext().traceId,
      spanId: serverSource.spanContext().spanId,
      name: 'GET /v1/cases',
      kind: 2,
      startTimeUnixNano: '1700000000123456789',
      endTimeUnixNano: '1700000001000000000',
      droppedAttributesCount: 0,
      status: { code: 0 },
      flags: 0x101,
    });
    expect(serverSpan).to.not.have.property('parentSpanId');
    expect(serverSpan.attributes).to.deep.equal([
      { key: 'http.response.status_code', value: { intValue: 200 } },
      { key: 'ratio', value: { doubleValue: 0.25 } },
      { key: 'ok', value: { boolValue: true } },
      { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } } },
    ]);
    expect(serverSpan.links).to.deep.equal([
      {
        traceId: 'a'.repeat(32),
        spanId: 'b'.repeat(16),
        attributes: [{ key: 'why', value: { stringValue: 'test' } }],
        droppedAttributesCount: 0,
        flags: 0x301,
      },
    ]);
    expect(client).to.deep.include({
      traceId: serverSource.spanContext().traceId,
      spanId: clientSource.spanContext().spanId,
      parentSpanId: serverSource.spanContext().spanId,
      kind: 3,
      status: { code: 2, message: 'boom' },
    });
    expect(client.events).to.deep.equal([
      {
        timeUnixNano: '1700000000500000000',
        name: 'retry',
        attributes: [{ key: 'attempt', value: { intValue: 2 } }],
        droppedAttributesCount: 0,
      },
    ]);
  });

  it('gzips the body when compression is gzip', async () => {
    const { url, received, server } = await collector();
    servers.push(server);
    const exporter = new OtlpJsonTraceExporter(settings(url, { compression: 'gzip' }));
    expect((await exportOnce(exporter, await finishedSpans())).code).to.equal(ExportResultCode.SUCCESS);
    const [request] = received as [Received];
    expect(request.headers['content-encoding']).to.equal('gzip');
    const body = JSON.parse(gunzipSync(request.body).toString('utf8')) as ExportBody;
    expect(body.resourceSpans).to.have.length(1);
  });

  it('retries an export answered 503 or 429, and gives up on a 400 at once', async () => {
    const busy = await collector([503, 429]);
    servers.push(busy.server);
    const retrying = new OtlpJsonTraceExporter(settings(busy.url), { baseDelayMs: 5 });
    expect((await exportOnce(retrying, await finishedSpans())).code).to.equal(ExportResultCode.SUCCESS);
    expect(busy.received).to.have.length(3);

    const refusing = await collector([400, 400]);
    servers.push(refusing.server);
    const failed = await exportOnce(
      new OtlpJsonTraceExporter(settings(refusing.url), { baseDelayMs: 5 }),
      await finishedSpans(),
    );
    expect(failed.code).to.equal(ExportResultCode.FAILED);
    expect(failed.error?.message).to.equal('the OTLP endpoint answered 400');
    expect(refusing.received).to.have.length(1);
  });

  it('fails, without retrying, when nothing listens or the collector is slower than the timeout', async () => {
    const closed = await collector();
    await new Promise((resolve) => closed.server.close(resolve));
    const refused = await exportOnce(new OtlpJsonTraceExporter(settings(closed.url)), await finishedSpans());
    expect(refused.code).to.equal(ExportResultCode.FAILED);
    expect((refused.error as NodeJS.ErrnoException).code).to.equal('ECONNREFUSED');

    const slow = await collector([], 500);
    servers.push(slow.server);
    const late = await exportOnce(
      new OtlpJsonTraceExporter(settings(slow.url, { timeoutMs: 100 })),
      await finishedSpans(),
    );
    expect(late.code).to.equal(ExportResultCode.FAILED);
    expect(late.error?.name).to.equal('TimeoutError');
  });

  it('shutdown waits for the exports under way, then refuses new ones', async () => {
    const { url, received, server } = await collector([], 100);
    servers.push(server);
    const exporter = new OtlpJsonTraceExporter(settings(url));
    const results: ExportResult[] = [];
    exporter.export(await finishedSpans(), (result) => results.push(result));
    await exporter.shutdown();
    expect(results.map((result) => result.code)).to.deep.equal([ExportResultCode.SUCCESS]);
    expect(received).to.have.length(1);
    const after = await exportOnce(exporter, await finishedSpans());
    expect(after.code).to.equal(ExportResultCode.FAILED);
    expect(received).to.have.length(1);
  });
});
