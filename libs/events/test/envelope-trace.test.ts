import { randomUUID } from 'node:crypto';
import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { expect } from 'chai';
import { createEvent } from '../src/index.ts';

const newEvent = (traceparent?: string | null) => ({
  type: 'score_pending' as const,
  source: 'case-service',
  subject: `case:${randomUUID()}`,
  data: { case_id: randomUUID(), reason: 'scoring unavailable' },
  ...(traceparent === undefined ? {} : { traceparent }),
});

describe('createEvent and trace context', () => {
  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  after(() => {
    context.disable();
  });

  it('when a span is active and no traceparent is given, the event carries the active span as W3C traceparent', () => {
    const span = {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
    };
    const event = context.with(trace.setSpanContext(ROOT_CONTEXT, span), () => createEvent(newEvent()));
    expect(event.traceparent).to.equal('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  });

  it('when the caller passes a traceparent, it is kept as given', () => {
    const given = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
    const event = context.with(
      trace.setSpanContext(ROOT_CONTEXT, {
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        spanId: '00f067aa0ba902b7',
        traceFlags: 1,
      }),
      () => createEvent(newEvent(given)),
    );
    expect(event.traceparent).to.equal(given);
  });

  it('when no span is active, the event has no traceparent', () => {
    expect(createEvent(newEvent()).traceparent).to.equal(null);
  });
});
