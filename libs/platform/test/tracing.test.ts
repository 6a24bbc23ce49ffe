import { Writable } from 'node:stream';
import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { expect } from 'chai';
import { activeTraceFields, createLogger, shutdownTelemetry } from '../src/index.ts';

const SPAN = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: TraceFlags.SAMPLED,
};

function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe('trace context in logs', () => {
  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  after(() => {
    context.disable();
  });

  it('when a span is active, every log line carries its trace_id and span_id beside request_id and service_name', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ serviceName: 'test-service', destination: stream });
    context.with(trace.setSpanContext(ROOT_CONTEXT, SPAN), () => {
      logger.child({ request_id: 'req-1' }).info('inside');
    });
    expect(lines[0]).to.include({
      service_name: 'test-service',
      request_id: 'req-1',
      trace_id: SPAN.traceId,
      span_id: SPAN.spanId,
      message: 'inside',
    });
  });

  it('when no span is active (or tracing is off), log lines have no trace fields', () => {
    const { lines, stream } = capture();
    createLogger({ serviceName: 'test-service', destination: stream }).info('outside');
    expect(lines[0]).not.to.have.property('trace_id');
    expect(lines[0]).not.to.have.property('span_id');
    expect(activeTraceFields()).to.deep.equal({});
  });

  it('when the SDK was never started, shutting telemetry down does nothing', async () => {
    await shutdownTelemetry();
  });
});
