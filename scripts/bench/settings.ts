/**
 * The benchmark's settings, all from the environment (docs/benchmarks.md lists them). A bad value stops the
 * run with exit code 2 before anything starts.
 */
import { resolve } from 'node:path';
import { SERVICE_NAMES as REGISTERED_SERVICES } from '@mrp/gateway';
import { TRACE_SAMPLER_NAMES } from '@mrp/platform';

/** The repository's root: where scripts/dev.ts runs from. */
export const ROOT = resolve(import.meta.dirname, '..', '..');

function badSetting(text: string): never {
  process.stderr.write(`[bench] ${text}\n`);
  process.exit(2);
}

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max)
    badSetting(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
  return value;
}

function flagFromEnv(name: string): boolean {
  const raw = process.env[name]?.trim().toLowerCase() ?? '';
  if (raw === '' || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  return badSetting(`${name} must be 1 or 0 (got "${raw}")`);
}

export const CONNECTIONS = intFromEnv('BENCH_CONNECTIONS', 10, 1, 1000);
export const DURATION_S = intFromEnv('BENCH_DURATION_S', 10, 1, 600);
export const WARMUP_S = intFromEnv('BENCH_WARMUP_S', 2, 0, 60);
export const READY_TIMEOUT_S = intFromEnv('BENCH_READY_TIMEOUT_S', 120, 10, 600);
export const LAG_TIMEOUT_S = intFromEnv('BENCH_LAG_TIMEOUT_S', 60, 1, 600);
/** Optional cap on requests per second over all connections (0: none), e.g. to stay under the gateway's limit. */
export const RATE = intFromEnv('BENCH_RATE', 0, 0, 1_000_000);
/**
 * How the services run: `compiled` (the default) as their images start them, on tsc's JavaScript, so the
 * memory and start-up figures are the images'; `source` as `make dev` does by default (type stripping).
 */
export const RUNTIME = ((): 'compiled' | 'source' => {
  const raw = process.env.BENCH_RUNTIME?.trim() || 'compiled';
  if (raw !== 'compiled' && raw !== 'source')
    return badSetting(`BENCH_RUNTIME must be compiled or source (got "${raw}")`);
  return raw;
})();
/** Whether case-service runs with --cpu-prof and each load window is summarised. */
export const PROFILE = flagFromEnv('BENCH_PROFILE');
/** Whether each run ends with the overload scenario: reads at BENCH_OVERLOAD_FACTOR times the baseline. */
export const OVERLOAD = flagFromEnv('BENCH_OVERLOAD');
export const OVERLOAD_FACTOR = intFromEnv('BENCH_OVERLOAD_FACTOR', 4, 2, 20);
/** Connections of the overload: more than a service admits at once (HTTP_MAX_IN_FLIGHT, 256). */
export const OVERLOAD_CONNECTIONS = intFromEnv('BENCH_OVERLOAD_CONNECTIONS', 512, 10, 4000);
/** How long the normal reads after the overload run, to show the platform is back to normal. */
export const RECOVERY_S = 5;
/** Between the overload and those reads: the admitted requests finish (at most HTTP_MAX_IN_FLIGHT each). */
export const RECOVERY_PAUSE_MS = 2000;
export const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** How long the platform is left alone after it is ready, before the idle process figures are taken. */
export const SETTLE_MS = 3000;

/** One tracing setting the platform is measured with: OTEL_TRACES_SAMPLER and its optional argument. */
export interface SamplerSetting {
  /** As written in BENCH_SAMPLERS, e.g. `parentbased_traceidratio:0.1`. */
  readonly label: string;
  readonly name: string;
  readonly arg: string | undefined;
}

function samplerFrom(label: string): SamplerSetting {
  const [name = '', arg, ...extra] = label.split(':');
  if (!TRACE_SAMPLER_NAMES.has(name) || extra.length > 0)
    badSetting(
      `BENCH_SAMPLERS: "${label}" is not <sampler>[:<ratio>] with a sampler of ${[...TRACE_SAMPLER_NAMES].join(', ')}`,
    );
  if (arg !== undefined) {
    const ratio = Number(arg);
    if (arg === '' || Number.isNaN(ratio) || ratio < 0 || ratio > 1)
      badSetting(`BENCH_SAMPLERS: the ratio of "${label}" must be a number from 0 to 1`);
  }
  return { label, name, arg };
}

/**
 * The first is the production default (10 % of new traces, callers' decisions followed), and is the one the
 * top-level figures of the JSON line report; the others run after it, each on a freshly started platform.
 */
export const SAMPLERS: readonly SamplerSetting[] = (() => {
  const labels = (process.env.BENCH_SAMPLERS?.trim() || 'parentbased_traceidratio:0.1,parentbased_always_on')
    .split(',')
    .map((label) => label.trim())
    .filter((label) => label !== '');
  if (labels.length === 0) badSetting('BENCH_SAMPLERS names no sampler');
  return labels.map(samplerFrom);
})();

/** Everything a run may take, after which it stops itself. */
export const OVERALL_LIMIT_MS = (() => {
  const loadS = WARMUP_S + DURATION_S + 15;
  const ceilingsS = 30 + 3 * loadS;
  const platformRunS = READY_TIMEOUT_S + SETTLE_MS / 1000 + 2 * loadS + LAG_TIMEOUT_S + 30;
  return (ceilingsS + SAMPLERS.length * platformRunS + 90) * 1000;
})();

/** The port of each service, by the variable dev.ts reads it from. */
export function portVariable(service: string): string {
  return `${service.toUpperCase().replaceAll('-', '_')}_PORT`;
}

/** The services of services/registry.json, in its order. */
export const SERVICE_NAMES: readonly string[] = REGISTERED_SERVICES;
