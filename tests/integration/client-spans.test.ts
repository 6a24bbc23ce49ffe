import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Span,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AlwaysOnSampler,
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';
import { expect } from 'chai';
import { createRedis, type Redis } from '@mrp/events';
import { createPool, traceRedisCommands, type Pool } from '@mrp/platform';
import { POSTGRES_URL } from '../support/test-database.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The platform's own client spans (libs/platform/src/telemetry/client-spans.ts, ADR 0030) against the real
 * Postgres and Redis: a statement or command inside a recording span is a child client span with the
 * semantic attributes; outside one, or inside an unsampled one, nothing is made.
 */
describe("client spans of Postgres statements and Redis commands (the platform's own, real servers)", () => {
  const exporter = new InMemorySpanExporter();
  const tracer = () => trace.getTracer('test');
  let pool: Pool;
  let redis: Redis;
  let stopRedisSpans: () => void;
  const postgres = new URL(POSTGRES_URL);

  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(
      new TracerProvider({
        sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
        spanProcessors: [new SimpleSpanProcessor({ exporter })],
      }),
    );
    stopRedisSpans = traceRedisCommands();
    pool = createPool({ connectionString: POSTGRES_URL, applicationName: 'client-spans-test', max: 2 });
    redis = createRedis(REDIS_URL, { enableOfflineQueue: true });
    await redis.ping();
  });

  after(async () => {
    stopRedisSpans();
    await pool.end();
    await redis.quit();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  beforeEach(() => {
    exporter.reset();
  });

  /** Runs `work` inside a new recording span and returns that span's context ids with the spans made. */
  async function inSpan(work: () => Promise<unknown>): Promise<{ parent: Span; spans: ReadableSpan[] }> {
    let parent!: Span;
    await tracer().startActiveSpan('parent', async (span) => {
      parent = span;
      try {
        await work();
      } finally {
        span.end();
      }
    });
    return { parent, spans: exporter.getFinishedSpans().filter((span) => span.name !== 'parent') };
  }

  const parentId = (span: ReadableSpan) => span.parentSpanContext?.spanId;

  it("a pool's statement in a recording span is a child client span with the statement's text, not its values", async () => {
    const { parent, spans } = await inSpan(() => pool.query('SELECT $1::text AS secret', ['do-not-record']));
    expect(spans).to.have.length(1);
    const [span] = spans;
    expect(span!.name).to.equal(`SELECT ${postgres.pathname.slice(1)}`);
    expect(span!.kind).to.equal(SpanKind.CLIENT);
    expect(span!.instrumentationScope.name).to.equal('@mrp/platform/pg');
    expect(parentId(span!)).to.equal(parent.spanContext().spanId);
    expect(span!.spanContext().traceId).to.equal(parent.spanContext().traceId);
    expect(span!.attributes).to.deep.equal({
      'db.system.name': 'postgresql',
      'db.query.text': 'SELECT $1::text AS secret',
      'db.operation.name': 'SELECT',
      'db.namespace': postgres.pathname.slice(1),
      'server.address': postgres.hostname,
      'server.port': Number(postgres.port || 5432),
    });
    expect(span!.status.code).to.equal(SpanStatusCode.UNSET);
    expect(JSON.stringify(span!.attributes)).not.to.include('do-not-record');
  });

  it("a checked-out client's statements (a transaction, a named statement) are spans too, and the span stays active after each", async () => {
    const active: (string | undefined)[] = [];
    const { parent, spans } = await inSpan(async () => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        active.push(trace.getActiveSpan()?.spanContext().spanId);
        await client.query({ name: 'client-spans-test', text: 'SELECT 1 AS one', values: [] });
        active.push(trace.getActiveSpan()?.spanContext().spanId);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    });
    expect(spans.map((span) => span.attributes['db.operation.name'])).to.deep.equal([
      'BEGIN',
      'SELECT',
      'COMMIT',
    ]);
    expect(spans.every((span) => parentId(span) === parent.spanContext().spanId)).to.equal(true);
    expect(active).to.deep.equal([parent.spanContext().spanId, parent.spanContext().spanId]);
  });

  it('a failing statement ends its span as an error with the SQLSTATE, and the caller still gets the error', async () => {
    let caught: unknown;
    const { spans } = await inSpan(async () => {
      caught = await pool.query('SELECT 1 / 0').catch((error: unknown) => error);
    });
    expect((caught as { code?: string }).code).to.equal('22012');
    expect(spans).to.have.length(1);
    expect(spans[0]!.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'division by zero' });
    expect(spans[0]!.attributes['error.type']).to.equal('22012');
    expect(spans[0]!.events.map((event) => event.name)).to.deep.equal(['exception']);
  });

  it('makes no span outside a span, nor inside an unsampled one', async () => {
    await pool.query('SELECT 1');
    await redis.get('client-spans-test:absent');
    const unsampled = trace.wrapSpanContext({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.NONE,
    });
    await context.with(trace.setSpan(context.active(), unsampled), async () => {
      await pool.query('SELECT 1');
      await redis.get('client-spans-test:absent');
    });
    expect(exporter.getFinishedSpans()).to.deep.equal([]);
  });

  it('a Redis command in a recording span is a child client span with its sanitised arguments', async () => {
    const key = `client-spans-test:${process.pid}`;
    const { parent, spans } = await inSpan(async () => {
      await redis.xadd(key, '*', 'event', '{"secret":"do-not-record"}');
      await redis.del(key);
    });
    expect(spans.map((span) => span.name)).to.deep.equal(['XADD', 'DEL']);
    const [xadd, del] = spans;
    expect(xadd!.kind).to.equal(SpanKind.CLIENT);
    expect(xadd!.instrumentationScope.name).to.equal('@mrp/platform/ioredis');
    expect(parentId(xadd!)).to.equal(parent.spanContext().spanId);
    const redisUrl = new URL(REDIS_URL);
    expect(xadd!.attributes).to.deep.equal({
      'db.system.name': 'redis',
      'db.operation.name': 'XADD',
      'db.query.text': `XADD ${key} ? ? ?`,
      'db.namespace': '0',
      'server.address': redisUrl.hostname,
      'server.port': Number(redisUrl.port || 6379),
    });
    expect(del!.attributes['db.query.text']).to.equal(`DEL ${key}`);
  });

  it('a failing Redis command ends its span as an error, and the caller still gets the error', async () => {
    let caught: unknown;
    const { spans } = await inSpan(async () => {
      caught = await redis.call('XADD', ['client-spans-test:bad']).catch((error: unknown) => error);
    });
    expect(caught).to.be.instanceOf(Error);
    expect(spans).to.have.length(1);
    expect(spans[0]!.status.code).to.equal(SpanStatusCode.ERROR);
    expect(spans[0]!.status.message).to.equal((caught as Error).message);
  });
});
