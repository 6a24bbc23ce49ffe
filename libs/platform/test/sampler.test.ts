import { expect } from 'chai';
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { SamplingDecision } from '@opentelemetry/sdk-trace';
import { buildSampler, chooseSampler, PRODUCTION_SAMPLE_RATIO } from '../src/telemetry/sampler.ts';

const SAMPLES = 2000;

/** The share of root traces a sampler keeps, over trace ids spread across the id space. */
function rootShare(environment: NodeJS.ProcessEnv): number {
  const sampler = buildSampler(chooseSampler(environment));
  let kept = 0;
  for (let index = 0; index < SAMPLES; index += 1) {
    // Spread the ids: the ratio sampler reads the trace id's low 8 bytes as a number.
    const traceId = (index * 2654435761).toString(16).padStart(32, '0').slice(-32);
    const result = sampler.shouldSample(ROOT_CONTEXT, traceId, 'GET /v1/cases', SpanKind.SERVER, {}, []);
    if (result.decision === SamplingDecision.RECORD_AND_SAMPLED) kept += 1;
  }
  return kept / SAMPLES;
}

describe('telemetry sampler', () => {
  it('samples a share of new traces in production, and every trace elsewhere', () => {
    expect(chooseSampler({ APP_ENV: 'production' })).to.deep.equal({
      name: 'parentbased_traceidratio',
      ratio: PRODUCTION_SAMPLE_RATIO,
    });
    expect(chooseSampler({ APP_ENV: 'development' })).to.deep.equal({
      name: 'parentbased_always_on',
      ratio: undefined,
    });
    expect(chooseSampler({})).to.deep.equal({ name: 'parentbased_always_on', ratio: undefined });
    expect(rootShare({ APP_ENV: 'development' })).to.equal(1);
    expect(rootShare({ APP_ENV: 'production' })).to.be.within(0.05, 0.15);
  });

  it('lets the standard OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG win over the profile', () => {
    expect(
      chooseSampler({ APP_ENV: 'production', OTEL_TRACES_SAMPLER: 'parentbased_always_on' }),
    ).to.deep.equal({ name: 'parentbased_always_on', ratio: undefined });
    expect(chooseSampler({ APP_ENV: 'production', OTEL_TRACES_SAMPLER_ARG: '0.5' })).to.deep.equal({
      name: 'parentbased_traceidratio',
      ratio: 0.5,
    });
    expect(
      chooseSampler({
        APP_ENV: 'development',
        OTEL_TRACES_SAMPLER: ' TraceIdRatio ',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      }),
    ).to.deep.equal({ name: 'traceidratio', ratio: 0.25 });
    expect(rootShare({ OTEL_TRACES_SAMPLER: 'always_off' })).to.equal(0);
  });

  it('falls back to the profile for an unknown sampler or a ratio outside 0 to 1', () => {
    expect(chooseSampler({ APP_ENV: 'production', OTEL_TRACES_SAMPLER: 'sometimes' }).name).to.equal(
      'parentbased_traceidratio',
    );
    for (const arg of ['1.5', '-0.1', 'half']) {
      expect(chooseSampler({ APP_ENV: 'production', OTEL_TRACES_SAMPLER_ARG: arg }).ratio).to.equal(
        PRODUCTION_SAMPLE_RATIO,
      );
    }
    expect(
      chooseSampler({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '' }).ratio,
    ).to.equal(1);
  });

  it("follows the caller's decision under a parent-based sampler, whatever the ratio", () => {
    const sampler = buildSampler({ name: 'parentbased_traceidratio', ratio: 0 });
    const parent = (flags: TraceFlags) =>
      trace.setSpanContext(ROOT_CONTEXT, {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: flags,
        isRemote: true,
      });
    const decide = (flags: TraceFlags) =>
      sampler.shouldSample(parent(flags), '0af7651916cd43dd8448eb211c80319c', 'x', SpanKind.SERVER, {}, [])
        .decision;
    expect(decide(TraceFlags.SAMPLED)).to.equal(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(TraceFlags.NONE)).to.equal(SamplingDecision.NOT_RECORD);
  });
});
