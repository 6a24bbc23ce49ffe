/** One load with autocannon, and what it measured. */
import autocannon from 'autocannon';
import { checkNotStopping, message, phase, setCurrentLoad } from './lifecycle.ts';
import { CONNECTIONS, RATE, WARMUP_S } from './settings.ts';

export interface LoadFigures {
  readonly scenario: string;
  readonly connections: number;
  readonly duration_s: number;
  readonly responses: number;
  /** Successful (2xx) responses per second over the run. */
  readonly rps: number;
  /** Latency of the 2xx responses, ms. */
  readonly latency_ms: {
    readonly p50: number;
    readonly p95: number;
    readonly p99: number;
    readonly max: number;
  };
  readonly ok_2xx: number;
  readonly non_2xx: number;
  readonly status_codes: Record<string, number>;
  /** Connection errors and timeouts. */
  readonly errors: number;
  readonly timeouts: number;
  /** The first answer of each non-2xx status, cut short: what went wrong, in the platform's words. */
  readonly error_samples: Record<string, string>;
  /** Latency of the non-2xx responses, ms (how fast a refusal comes). */
  readonly refused_latency_ms: { readonly p50: number; readonly p99: number };
  /** Of the 429 and 503 answers, how many said when to come back (Retry-After). */
  readonly retry_after: number;
}

export interface LoadPlan {
  readonly scenario: string;
  readonly url: string;
  readonly durationS: number;
  readonly options: Omit<autocannon.Options, 'url' | 'duration' | 'connections' | 'requests'>;
  readonly request: autocannon.Request;
  /** Called with each 2xx body (not during warm-up). */
  readonly onSuccess?: (body: string) => void;
  /** Ignore BENCH_RATE: a ceiling measures what the path can do, not what the cap lets through. */
  readonly uncapped?: boolean;
  /** Instead of BENCH_CONNECTIONS (the overload scenario). */
  readonly connections?: number;
  /** Requests per second over all connections, instead of BENCH_RATE (the overload scenario). */
  readonly rate?: number;
}

/** A load and the monotonic-clock window it ran in (process.hrtime.bigint(), ns). */
export interface TimedLoad {
  readonly figures: LoadFigures;
  readonly fromNs: bigint;
  readonly toNs: bigint;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

function figuresOf(
  plan: LoadPlan,
  result: autocannon.Result,
  latencies: number[],
  refusedLatencies: number[],
  samples: Record<string, string>,
  retryAfter: number,
): LoadFigures {
  latencies.sort((a, b) => a - b);
  refusedLatencies.sort((a, b) => a - b);
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, stat.count ?? 0]),
  );
  const ok = result['2xx'];
  return {
    scenario: plan.scenario,
    connections: plan.connections ?? CONNECTIONS,
    duration_s: round(result.duration, 2),
    responses: result['1xx'] + ok + result['3xx'] + result['4xx'] + result['5xx'],
    rps: round(ok / result.duration),
    latency_ms: {
      p50: round(percentile(latencies, 50), 2),
      p95: round(percentile(latencies, 95), 2),
      p99: round(percentile(latencies, 99), 2),
      max: round(latencies.at(-1) ?? Number.NaN, 2),
    },
    ok_2xx: ok,
    non_2xx: result.non2xx,
    status_codes: statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
    error_samples: samples,
    refused_latency_ms: {
      p50: round(percentile(refusedLatencies, 50), 2),
      p99: round(percentile(refusedLatencies, 99), 2),
    },
    retry_after: retryAfter,
  };
}

export async function runLoad(plan: LoadPlan): Promise<LoadFigures> {
  checkNotStopping();
  const latencies: number[] = [];
  const refusedLatencies: number[] = [];
  const samples: Record<string, string> = {};
  let retryAfter = 0;
  const rate = plan.rate ?? (RATE > 0 && !plan.uncapped ? RATE : 0);
  const result = await new Promise<autocannon.Result>((done, fail) => {
    const instance = autocannon(
      {
        ...plan.options,
        url: plan.url,
        connections: plan.connections ?? CONNECTIONS,
        duration: plan.durationS,
        timeout: 10,
        ...(rate > 0 ? { overallRate: rate } : {}),
        requests: [
          {
            ...plan.request,
            onResponse: (status, body, _context, headers) => {
              if (status >= 200 && status < 300) plan.onSuccess?.(body);
              else samples[String(status)] ??= body.slice(0, 300);
              if (
                (status === 429 || status === 503) &&
                Object.keys(headers ?? {}).some((name) => name.toLowerCase() === 'retry-after')
              )
                retryAfter += 1;
            },
          },
        ],
      },
      (error: unknown, finished) => {
        if (error) fail(error instanceof Error ? error : new Error(message(error)));
        else done(finished);
      },
    );
    setCurrentLoad(instance);
    instance.on('response', (_client, status, _bytes, responseTime) => {
      if (status >= 200 && status < 300) latencies.push(responseTime);
      else refusedLatencies.push(responseTime);
    });
  });
  setCurrentLoad(undefined);
  return figuresOf(plan, result, latencies, refusedLatencies, samples, retryAfter);
}

/** Runs the load and notes when it started and ended on the clock the CPU profile uses. */
export async function runTimedLoad(plan: LoadPlan): Promise<TimedLoad> {
  const fromNs = process.hrtime.bigint();
  const figures = await runLoad(plan);
  return { figures, fromNs, toNs: process.hrtime.bigint() };
}

export async function warmUp(plan: LoadPlan): Promise<void> {
  if (WARMUP_S === 0) return;
  phase(`warm-up: ${plan.scenario}, ${CONNECTIONS} connections, ${WARMUP_S} s (not measured)`);
  await runLoad({ ...plan, durationS: WARMUP_S, onSuccess: undefined });
}
