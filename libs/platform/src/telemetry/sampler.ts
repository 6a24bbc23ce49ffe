import { diag } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace';

/** The share of traces a production process starts on its own (callers' sampled flags are followed). */
export const PRODUCTION_SAMPLE_RATIO = 0.1;

export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

/** The samplers of the OpenTelemetry specification that `OTEL_TRACES_SAMPLER` may name here. */
export const TRACE_SAMPLER_NAMES: ReadonlySet<string> = new Set<string>([
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
]);

export interface SamplerChoice {
  readonly name: SamplerName;
  /** The ratio of the traceidratio samplers; undefined for the others. */
  readonly ratio: number | undefined;
}

/**
 * Which sampler a process uses. The standard `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` win;
 * without them the profile decides: production samples `PRODUCTION_SAMPLE_RATIO` of new traces and
 * follows the caller's decision (`parentbased_traceidratio`), every other profile traces everything
 * (`parentbased_always_on`), so a developer sees every request. A value it does not know is reported
 * and the profile's default used, as the OpenTelemetry SDKs do.
 */
export function chooseSampler(environment: NodeJS.ProcessEnv): SamplerChoice {
  const production = environment.APP_ENV?.trim() === 'production';
  const fallback: SamplerName = production ? 'parentbased_traceidratio' : 'parentbased_always_on';
  const requested = environment.OTEL_TRACES_SAMPLER?.trim().toLowerCase();
  let name: SamplerName = fallback;
  if (requested) {
    if (TRACE_SAMPLER_NAMES.has(requested)) name = requested as SamplerName;
    else diag.error(`unknown OTEL_TRACES_SAMPLER "${requested}"; using ${fallback}`);
  }
  if (!name.endsWith('traceidratio')) return { name, ratio: undefined };
  return { name, ratio: ratioFrom(environment.OTEL_TRACES_SAMPLER_ARG, production) };
}

function ratioFrom(raw: string | undefined, production: boolean): number {
  const fallback = production ? PRODUCTION_SAMPLE_RATIO : 1;
  if (raw === undefined || raw.trim() === '') return fallback;
  const ratio = Number(raw);
  if (Number.isNaN(ratio) || ratio < 0 || ratio > 1) {
    diag.error(`OTEL_TRACES_SAMPLER_ARG "${raw}" is not a ratio from 0 to 1; using ${fallback}`);
    return fallback;
  }
  return ratio;
}

export function buildSampler(choice: SamplerChoice): Sampler {
  switch (choice.name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(choice.ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(choice.ratio) });
  }
}

export function samplerFromEnvironment(environment: NodeJS.ProcessEnv): Sampler {
  return buildSampler(chooseSampler(environment));
}
