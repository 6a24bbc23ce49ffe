import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { expect } from 'chai';
import { DevRunner } from '../support/dev-runner.ts';
import { eventually } from '../support/eventually.ts';
import { contract, request } from '../support/http.ts';
import { login } from '../support/platform.ts';
import { freePort } from '../support/ports.ts';
import { decodeTraceExport, type ProtobufSpan } from '../support/otlp-protobuf.ts';

/** One span as the services export it (OTLP/JSON), with the resource's service name. */
interface ReceivedSpan {
  readonly service: string;
  readonly serviceVersion: string;
  readonly scope: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** OTLP span kinds (the protobuf enum, as OTLP/JSON writes it). */
const SPAN_KIND = { server: 2, client: 3, consumer: 5 } as const;

type OtlpValue = Record<string, unknown>;

function attributeValue(value: OtlpValue | undefined): unknown {
  if (!value) return undefined;
  for (const key of ['stringValue', 'intValue', 'boolValue', 'doubleValue']) {
    if (key in value) return value[key];
  }
  return undefined;
}

function attributes(list: unknown): Record<string, unknown> {
  if (!Array.isArray(list)) return {};
  return Object.fromEntries(
    (list as { key: string; value?: OtlpValue }[]).map((item) => [item.key, attributeValue(item.value)]),
  );
}

/** OTLP/JSON ids are hex; some encoders write base64: either way, lowercase hex. */
function hexId(id: unknown): string {
  if (typeof id !== 'string' || id === '') return '';
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

/** A tiny OTLP/HTTP receiver: keeps the spans of JSON exports (the services') and protobuf exports (Envoy's). */
class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Spans from protobuf exports (Envoy's). */
  readonly protobufSpans: ProtobufSpan[] = [];
  readonly #server: Server;

  constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
      });
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        if (req.method === 'POST' && req.url === '/v1/traces') {
          if ((req.headers['content-type'] ?? '').includes('json')) this.#collect(body.toString('utf8'));
          else this.protobufSpans.push(...decodeTraceExport(body));
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((done) => {
      this.#server.listen(0, '127.0.0.1', done);
    });
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((done) => {
      this.#server.close(() => {
        done();
      });
    });
  }

  #collect(text: string): void {
    const payload = JSON.parse(text) as {
      resourceSpans?: {
        resource?: { attributes?: unknown };
        scopeSpans?: { scope?: { name?: string }; spans?: Record<string, unknown>[] }[];
      }[];
    };
    for (const resourceSpans of payload.resourceSpans ?? []) {
      const resource = attributes(resourceSpans.resource?.attributes);
      const name = resource['service.name'];
      const version = resource['service.version'];
      const service = typeof name === 'string' ? name : '';
      const serviceVersion = typeof version === 'string' ? version : '';
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          this.spans.push({
            service,
            serviceVersion,
            scope: scopeSpans.scope?.name ?? '',
            traceId: hexId(span.traceId),
            spanId: hexId(span.spanId),
            parentSpanId: hexId(span.parentSpanId),
            name: String(span.name),
            kind: Number(span.kind),
            attributes: attributes(span.attributes),
          });
        }
      }
    }
  }
}

/** Logs in as admin, creates an owner, then creates one case through Envoy; returns its id and request ID. */
async function createCase(gateway: string): Promise<{ caseId: string; requestId: string }> {
  const token = await login(gateway, 'admin');
  const owner = await request(`${gateway}/v1/users`, {
    method: 'POST',
    token,
    json: {
      email: `owner-${randomBytes(4).toString('hex')}@example.com`,
      role: 'analyst',
      full_name: 'Owner',
    },
  });
  expect(owner.status, owner.text).to.equal(201);
  const created = await request(`${gateway}/v1/cases`, {
    method: 'POST',
    token,
    headers: { 'idempotency-key': `trace-${randomBytes(4).toString('hex')}` },
    json: { title: 'Traced', owner_id: contract('User', owner.body).id },
  });
  expect(created.status, created.text).to.equal(201);
  const requestId = created.headers.get('x-request-id');
  expect(requestId).to.be.a('string');
  return { caseId: contract('CaseV1', created.body).id, requestId: requestId! };
}

describe('tracing through the platform (scripts/dev.ts, Envoy, OTLP)', function () {
  describe('with an OTLP receiver', function () {
    const receiver = new OtlpReceiver();
    const platform = new DevRunner();

    before(async function () {
      this.timeout(90_000);
      const port = await receiver.listen();
      await platform.start({
        DEV_LOG_FORMAT: 'json',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
        // Export every few hundred milliseconds instead of every five seconds.
        OTEL_BSP_SCHEDULE_DELAY: '200',
      });
    });

    after(async function () {
      this.timeout(40_000);
      await platform.stop();
      await receiver.close();
    });

    // The first requests after "the platform is ready" (a login, a user, a case): an earlier version lost the
    // first case's spans from case-, scoring- and audit-telemetry-service, so this test must stay first.
    it('the first case created after start-up is one trace from Envoy through case-service (and its database), scoring-service and the audit consumer, and the logs carry it', async function () {
      this.timeout(60_000);
      const { caseId, requestId } = await createCase(platform.gateway);

      // Envoy started the trace: its access log names it, and case-service's log line for the request carries it.
      let traceId = '';
      await eventually(() => {
        const access = platform
          .logs('gateway')
          .find((line) => line.request_id === requestId && line.method === 'POST');
        expect(access, 'the gateway access log line').to.not.equal(undefined);
        expect(access!.trace_id).to.match(/^[0-9a-f]{32}$/);
        traceId = String(access!.trace_id);
      }, 100);

      let caseLogs: Record<string, unknown>[] = [];
      await eventually(() => {
        caseLogs = platform.logs('case-service').filter((line) => line.request_id === requestId);
        expect(
          caseLogs.map((line) => line.message),
          'case-service log lines',
        ).to.include('request completed');
      }, 100);
      for (const line of caseLogs) {
        expect(line.trace_id, JSON.stringify(line)).to.equal(traceId);
        expect(line.span_id).to.match(/^[0-9a-f]{16}$/);
        expect(line.service_name).to.equal('case-service');
      }
      const scoringLogs = platform.logs('scoring-service').filter((line) => line.request_id === requestId);
      expect(scoringLogs, 'scoring-service log lines for the request').not.to.be.empty;
      for (const line of scoringLogs) expect(line.trace_id, JSON.stringify(line)).to.equal(traceId);

      await eventually(() => {
        const spans = receiver.spans.filter((span) => span.traceId === traceId);
        const from = (service: string) => spans.filter((span) => span.service === service);
        const caseServer = from('case-service').find(
          (span) => span.kind === SPAN_KIND.server && span.parentSpanId !== '',
        );
        expect(
          caseServer,
          `a case-service server span under Envoy's span in ${JSON.stringify(spans)}`,
        ).to.not.equal(undefined);
        expect(caseServer!.serviceVersion, 'service.version').to.match(/^\d+\.\d+\.\d+/);
        // Envoy's own span is the parent: it is not among the services' spans.
        expect(spans.map((span) => span.spanId)).not.to.include(caseServer!.parentSpanId);
        expect(
          from('case-service').some((span) => span.scope.includes('pg') && span.kind === SPAN_KIND.client),
          'a pg span from case-service',
        ).to.equal(true);
        expect(caseServer!.name, 'the server span is named after its route').to.equal('POST /v1/cases');
        expect(caseServer!.attributes['http.route']).to.equal('/v1/cases');
        expect(
          from('scoring-service').some((span) => span.kind === SPAN_KIND.server),
          'scoring-service',
        ).to.equal(true);
        const consumed = from('audit-telemetry-service').filter(
          (span) =>
            span.kind === SPAN_KIND.consumer &&
            span.name === 'events:case process' &&
            span.attributes['mrp.event.type'] === 'case_created',
        );
        expect(consumed, 'the audit consumer span of the case_created event').to.have.length.greaterThan(0);
        // Envoy exported its own span (OTLP/HTTP protobuf) to the same receiver: the gateway's server
        // span of this trace, and it is the parent of case-service's server span.
        const gateway = receiver.protobufSpans.filter(
          (span) => span.traceId === traceId && span.service === 'gateway',
        );
        expect(
          gateway,
          `the gateway's span in ${JSON.stringify(receiver.protobufSpans)}`,
        ).to.have.length.greaterThan(0);
        expect(gateway.map((span) => span.spanId)).to.include(caseServer!.parentSpanId);
      }, 100);

      // The event on the stream carried the request's trace context (the audit log stores it).
      const token = await login(platform.gateway, 'admin');
      await eventually(async () => {
        const audit = await request(`${platform.gateway}/v1/audit?case_id=${caseId}&type=case_created`, {
          token,
        });
        expect(audit.status, audit.text).to.equal(200);
        const { items } = contract('AuditEventList', audit.body);
        expect(items).to.have.length(1);
        expect(items[0]!.traceparent).to.match(new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`));
      }, 100);

      // Latency buckets carry exemplars: the create request's bucket points at its trace.
      const metrics = await fetch(`http://127.0.0.1:${platform.ports.CASE_SERVICE_PORT!}/metrics`);
      expect(metrics.headers.get('content-type')).to.match(/^application\/openmetrics-text/);
      const exemplar = (await metrics.text())
        .split('\n')
        .find(
          (line) =>
            line.startsWith('http_request_duration_seconds_bucket{') &&
            line.includes('route="/v1/cases"') &&
            line.includes(`trace_id="${traceId}"`),
        );
      expect(exemplar, "a bucket line with the request's trace id as exemplar").to.be.a('string');
    });
  });

  describe('with no OTLP receiver listening', function () {
    const platform = new DevRunner();

    before(async function () {
      this.timeout(90_000);
      const closed = await freePort();
      await platform.start({
        DEV_LOG_FORMAT: 'json',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closed}`,
        OTEL_BSP_SCHEDULE_DELAY: '200',
      });
    });

    after(async function () {
      this.timeout(40_000);
      await platform.stop();
    });

    it('requests still succeed, and the logs still carry trace ids', async function () {
      this.timeout(30_000);
      const { requestId } = await createCase(platform.gateway);
      // The service writes its log lines asynchronously: wait for the request's completion line.
      await eventually(() => {
        const lines = platform.logs('case-service').filter((line) => line.request_id === requestId);
        expect(lines.map((line) => line.message)).to.include('request completed');
        for (const line of lines) expect(line.trace_id, JSON.stringify(line)).to.match(/^[0-9a-f]{32}$/);
      }, 100);
    });
  });
});
