/** What a run found: the problems, the printed tables and the one JSON line. */
import { spawnSync } from 'node:child_process';
import { cpus, release, totalmem, type as osType } from 'node:os';
import { RATE_LIMITS } from '@mrp/gateway';
import type { Ceilings } from './ceilings.ts';
import { round, type LoadFigures } from './load.ts';
import type { ProcessFigures, ProcessReport } from './process-stats.ts';
import type { ProfileFigures } from './profile.ts';
import { CATEGORIES, type WindowSummary } from './profile-summary.ts';
import type { RunFigures } from './run.ts';
import {
  CONNECTIONS,
  DURATION_S,
  LAG_TIMEOUT_S,
  PROFILE,
  RATE,
  RUNTIME,
  SAMPLERS,
  WARMUP_S,
} from './settings.ts';

/** The targets, as ratios of the bare-Koa-behind-plain-Envoy ceiling. */
export const TARGETS = { read_to_ceiling: 0.4, create_to_ceiling: 0.06 } as const;

type BaselineBound = 'gateway_rate_limit' | 'bench_rate' | 'platform';

export function machine() {
  const envoy = spawnSync('envoy', ['--version'], { encoding: 'utf8' });
  const envoyVersion = /version: \S*?\/(\d+\.\d+\.\d+)\//.exec(envoy.stdout)?.[1] ?? envoy.stdout.trim();
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memory_gib: round(totalmem() / 1024 ** 3),
    os: `${osType()} ${release()}`,
    node: process.version,
    envoy: envoyVersion || 'unknown',
  };
}

// ---------------------------------------------------------------------------------------------------------
// Problems: anything that makes the run exit 1.

function problemsOf(load: LoadFigures): string[] {
  const problems: string[] = [];
  if (load.non_2xx > 0) {
    const codes = Object.entries(load.status_codes)
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, count]) => `${count} x ${code}`)
      .join(', ');
    problems.push(`${load.scenario}: ${load.non_2xx} non-2xx answers (${codes})`);
    if (load.error_samples['429']?.includes('rate_limited')) {
      const bucket = RATE_LIMITS.gateway;
      problems.push(
        `${load.scenario}: the 429s are the gateway's listener-wide local rate limit (RATE_LIMITS.gateway in ` +
          `envoy/src/gateway.ts: ${bucket.tokensPerFill} per ${bucket.fillIntervalSeconds} s, burst ` +
          `${bucket.maxTokens}) limiting the load itself: its 2xx figure is that budget, not the platform's ` +
          `capacity (BENCH_RATE caps the load below it)`,
      );
    }
    for (const [code, body] of Object.entries(load.error_samples))
      problems.push(`${load.scenario}: a ${code} answered ${body.replace(/\s+/g, ' ')}`);
  }
  if (load.errors > 0)
    problems.push(`${load.scenario}: ${load.errors} connection errors (${load.timeouts} of them timeouts)`);
  return problems;
}

/**
 * Under overload the platform may refuse (429, 503) but must answer: anything else, a connection error or a
 * timeout, or a refusal without Retry-After is a problem; so is any failure in the normal load after it.
 */
function overloadProblems({ load, recovery }: NonNullable<RunFigures['overload']>): string[] {
  const problems: string[] = [];
  const refused = (load.status_codes['429'] ?? 0) + (load.status_codes['503'] ?? 0);
  const other = load.non_2xx - refused;
  if (other > 0)
    problems.push(
      `${load.scenario}: ${other} answers neither 2xx nor a refusal (429, 503): ${JSON.stringify(load.error_samples)}`,
    );
  if (load.errors > 0)
    problems.push(`${load.scenario}: ${load.errors} connection errors (${load.timeouts} of them timeouts)`);
  if (load.retry_after < refused)
    problems.push(
      `${load.scenario}: ${refused - load.retry_after} of ${refused} refusals without Retry-After`,
    );
  return [...problems, ...problemsOf(recovery)];
}

function runProblems(run: RunFigures): string[] {
  const { created, malformed } = run.creations;
  const problems = [...problemsOf(run.baseline), ...problemsOf(run.create)];
  if (malformed.length > 0)
    problems.push(
      `${run.create.scenario}: ${malformed.length} 2xx answers without id/created_at: ${malformed[0]!}`,
    );
  if (created.size !== run.create.ok_2xx)
    problems.push(
      `${run.create.scenario}: ${run.create.ok_2xx} answers were 2xx but ${created.size} distinct cases`,
    );
  if (run.event_lag.arrived < run.event_lag.created)
    problems.push(
      `event lag: only ${run.event_lag.arrived} of ${run.event_lag.created} case_created events reached the audit log in ${LAG_TIMEOUT_S} s`,
    );
  if (run.overload) problems.push(...overloadProblems(run.overload));
  // With more than one sampler, each problem says whose it is.
  return SAMPLERS.length > 1 ? problems.map((problem) => `[${run.sampler}] ${problem}`) : problems;
}

/** The ceilings in the order they are measured and printed; the first is the one the ratios use. */
function ceilingLoads(ceilings: Ceilings): LoadFigures[] {
  return [
    ceilings.koa_behind_envoy,
    ceilings.envoy_direct_response,
    ceilings.koa_direct,
    ceilings.koa_query_behind_envoy,
  ];
}

export function allProblems(ceilings: Ceilings, measured: readonly RunFigures[]): string[] {
  return [
    ...ceilingLoads(ceilings).flatMap((load) => problemsOf(load)),
    ...measured.flatMap((run) => runProblems(run)),
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Ratios.

function ratioOf(value: number, to: number): number | null {
  return to > 0 ? round(value / to, 3) : null;
}

function ratiosOf(run: RunFigures, ceilings: Ceilings) {
  const ceiling = ceilings.koa_behind_envoy.rps;
  return {
    read_to_ceiling: ratioOf(run.baseline.rps, ceiling),
    create_to_ceiling: ratioOf(run.create.rps, ceiling),
    // Not a target: how close the read comes to the same query with nothing of the platform around it.
    read_to_query_ceiling: ratioOf(run.baseline.rps, ceilings.koa_query_behind_envoy.rps),
    query_ceiling_to_ceiling: ratioOf(ceilings.koa_query_behind_envoy.rps, ceiling),
  };
}

/** What bounded the baseline's throughput, and so how to read the create / baseline ratio. */
function baselineBound(baseline: LoadFigures): BaselineBound {
  if ((baseline.status_codes['429'] ?? 0) > 0) return 'gateway_rate_limit';
  return RATE > 0 && baseline.rps >= RATE * 0.95 ? 'bench_rate' : 'platform';
}

const RATIO_NOTES: Record<BaselineBound, string> = {
  gateway_rate_limit:
    " (the baseline hit the gateway's rate limit: its real capacity is higher, so this is an upper bound)",
  bench_rate: ' (the baseline ran at the BENCH_RATE cap: this is create throughput over that cap)',
  platform: '',
};

// ---------------------------------------------------------------------------------------------------------
// Text.

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
        .join('  '),
    )
    .join('\n');
}

const fmt = (value: number | null | undefined, digits = 1) =>
  value === null || value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits);

const LOAD_HEADER = [
  'scenario',
  'req/s (2xx)',
  'p50 ms',
  'p95 ms',
  'p99 ms',
  'max ms',
  '2xx',
  'non-2xx',
  'errors',
];

function loadRow(load: LoadFigures): string[] {
  return [
    load.scenario,
    fmt(load.rps),
    fmt(load.latency_ms.p50, 2),
    fmt(load.latency_ms.p95, 2),
    fmt(load.latency_ms.p99, 2),
    fmt(load.latency_ms.max, 2),
    String(load.ok_2xx),
    String(load.non_2xx),
    String(load.errors),
  ];
}

function ceilingLines(ceilings: Ceilings): string[] {
  return [
    'ceilings (same Envoy binary, connections and duration; the ratios below are to the first):',
    table([LOAD_HEADER, ...ceilingLoads(ceilings).map(loadRow)]),
  ];
}

function targetLine(name: string, ratio: number | null, target: number): string {
  const verdict = ratio === null ? '' : ratio >= target ? ' (met)' : ' (NOT met)';
  return `${name} / ceiling: ${fmt(ratio, 3)}, target >= ${target}${verdict}`;
}

function lagLine(run: RunFigures): string {
  const lag = run.event_lag;
  return (
    `event lag (case created_at -> audit received_at): p50 ${fmt(lag.p50_ms, 0)} ms, p99 ${fmt(lag.p99_ms, 0)} ms, ` +
    `max ${fmt(lag.max_ms, 0)} ms; ${lag.arrived}/${lag.created} events arrived` +
    (lag.caught_up_after_ms === null ? '' : `, all within ${lag.caught_up_after_ms} ms of the load's end`)
  );
}

function readyLine(run: RunFigures): string {
  const each = Object.entries(run.ready_ms)
    .map(([name, ms]) => `${name} ${ms ?? '-'}`)
    .join(', ');
  const spawned = Object.entries(run.ready_after_spawn_ms)
    .map(([name, ms]) => `${name} ${ms ?? '-'}`)
    .join(', ');
  return (
    `time to ready (ms from the dev runner's start): ${each}; platform ${run.platform_ready_ms}\n` +
    `time to ready (ms from each process's own start, each started alone once the one before was ready; target <= 1500 for the services): ${spawned}`
  );
}

function processRow(name: string, figures: ProcessFigures, pid: string): string[] {
  const underLoad =
    figures.cpu_s_after === null || figures.cpu_s_idle === null
      ? null
      : figures.cpu_s_after - figures.cpu_s_idle;
  return [
    name,
    pid,
    fmt(figures.idle_rss_mb),
    fmt(figures.loaded_rss_mb),
    fmt(figures.peak_rss_mb),
    fmt(figures.cpu_s_idle, 2),
    fmt(figures.cpu_s_after, 2),
    fmt(underLoad, 2),
    figures.chart_limit_mib ? `${fmt(figures.chart_limit_mib, 0)} Mi` : '',
    figures.peak_to_limit ? fmt(figures.peak_to_limit, 2) : '',
  ];
}

function processLines(processes: ProcessReport): string[] {
  return [
    'processes (idle: ready and settled 3 s, before any load; loaded: after the create load and the lag wait;',
    "  each service runs with its chart's heap cap; peak / limit: peak RSS over its chart's memory limit, target <= 0.6):",
    table([
      [
        'process',
        'pid',
        'idle RSS MB',
        'loaded RSS MB',
        'peak RSS MB',
        'CPU s idle',
        'CPU s after',
        'CPU s load',
        'chart limit',
        'peak / limit',
      ],
      ...Object.entries(processes.per_process).map(([name, figures]) =>
        processRow(name, figures, String(figures.pid)),
      ),
      processRow('total: services + Envoy', processes.total, ''),
    ]),
  ];
}

function windowColumn(summary: WindowSummary | undefined): string[] {
  return CATEGORIES.map((category) => fmt(summary?.pct[category]));
}

function topOtherLines(summary: WindowSummary | undefined): string[] {
  if (!summary) return [];
  return [
    `  top "other" leaf functions, ${summary.window}: ` +
      (summary.top_other.map((frame) => `${frame.function} ${frame.where} ${fmt(frame.pct)} %`).join('; ') ||
        'none'),
  ];
}

function profileLines(profile: ProfileFigures): string[] {
  const { baseline, create } = profile.windows;
  return [
    `case-service CPU profile: ${profile.file ?? 'none'}`,
    ...(baseline && create
      ? [
          table([
            ['% of samples', 'baseline', 'create'],
            ...CATEGORIES.map((category, index) => [
              category,
              windowColumn(baseline)[index]!,
              windowColumn(create)[index]!,
            ]),
            ['samples', String(baseline.samples), String(create.samples)],
          ]),
          ...topOtherLines(baseline),
          ...topOtherLines(create),
        ]
      : []),
    ...profile.notes.map((note) => `  note: ${note}`),
  ];
}

function overloadLines(run: RunFigures): string[] {
  if (!run.overload) return [];
  const { load, recovery } = run.overload;
  const refusals = ['429', '503']
    .filter((code) => (load.status_codes[code] ?? 0) > 0)
    .map((code) => `${code} x${load.status_codes[code]}`)
    .join(', ');
  return [
    `overload: ${load.scenario}, ${load.connections} connections: 2xx ${fmt(load.rps)} req/s ` +
      `(p50 ${fmt(load.latency_ms.p50, 2)}, p99 ${fmt(load.latency_ms.p99, 2)} ms); refused ${refusals || 'none'} ` +
      `(p50 ${fmt(load.refused_latency_ms.p50, 2)}, p99 ${fmt(load.refused_latency_ms.p99, 2)} ms, ` +
      `${load.retry_after} with Retry-After); connection errors ${load.errors}`,
    `after it: ${recovery.scenario}: ${fmt(recovery.rps)} req/s, p50 ${fmt(recovery.latency_ms.p50, 2)} / ` +
      `p99 ${fmt(recovery.latency_ms.p99, 2)} ms, non-2xx ${recovery.non_2xx}, errors ${recovery.errors} ` +
      `(the baseline: p50 ${fmt(run.baseline.latency_ms.p50, 2)} / p99 ${fmt(run.baseline.latency_ms.p99, 2)} ms)`,
  ];
}

function runLines(run: RunFigures, ceilings: Ceilings): string[] {
  const ratios = ratiosOf(run, ceilings);
  const ratio = ratioOf(run.create.rps, run.baseline.rps);
  return [
    `sampler ${run.sampler}:`,
    table([LOAD_HEADER, loadRow(run.baseline), loadRow(run.create)]),
    '',
    `create / baseline throughput: ${fmt(ratio, 3)}${RATIO_NOTES[baselineBound(run.baseline)]}`,
    targetLine('reads', ratios.read_to_ceiling, TARGETS.read_to_ceiling),
    targetLine('creates', ratios.create_to_ceiling, TARGETS.create_to_ceiling),
    `reads / the query ceiling (Koa + one Postgres query, plain Envoy): ${fmt(ratios.read_to_query_ceiling, 3)}; ` +
      `that ceiling / the ceiling: ${fmt(ratios.query_ceiling_to_ceiling, 3)}`,
    lagLine(run),
    ...overloadLines(run),
    readyLine(run),
    '',
    ...processLines(run.processes),
    ...(run.profile ? ['', ...profileLines(run.profile)] : []),
    '',
  ];
}

/** The samplers' figures in one table, a column each. */
function sideBySide(measured: readonly RunFigures[], ceilings: Ceilings): string[] {
  const row = (name: string, cell: (run: RunFigures) => string) => [
    name,
    ...measured.map((run) => cell(run)),
  ];
  return [
    'side by side:',
    table([
      row('sampler', (run) => run.sampler),
      row('GET req/s', (run) => fmt(run.baseline.rps)),
      row(
        'GET p50 / p99 ms',
        (run) => `${fmt(run.baseline.latency_ms.p50, 2)} / ${fmt(run.baseline.latency_ms.p99, 2)}`,
      ),
      row(`GET / ceiling (>= ${TARGETS.read_to_ceiling})`, (run) =>
        fmt(ratiosOf(run, ceilings).read_to_ceiling, 3),
      ),
      row('POST req/s', (run) => fmt(run.create.rps)),
      row(
        'POST p50 / p99 ms',
        (run) => `${fmt(run.create.latency_ms.p50, 2)} / ${fmt(run.create.latency_ms.p99, 2)}`,
      ),
      row(`POST / ceiling (>= ${TARGETS.create_to_ceiling})`, (run) =>
        fmt(ratiosOf(run, ceilings).create_to_ceiling, 3),
      ),
      row(
        'event lag p50 / p99 ms',
        (run) => `${fmt(run.event_lag.p50_ms, 0)} / ${fmt(run.event_lag.p99_ms, 0)}`,
      ),
      row('platform ready ms', (run) => String(run.platform_ready_ms)),
      row('CPU s, services + Envoy, after', (run) => fmt(run.processes.total.cpu_s_after, 2)),
      row('RSS MB, services + Envoy, loaded', (run) => fmt(run.processes.total.loaded_rss_mb)),
    ]),
    '',
  ];
}

export function printReport(
  host: ReturnType<typeof machine>,
  ceilings: Ceilings,
  measured: readonly RunFigures[],
  problems: readonly string[],
): void {
  process.stdout.write(
    [
      '',
      `machine: ${host.cpu}, ${host.cores} cores, ${host.memory_gib} GiB, ${host.os}, Node ${host.node}, Envoy ${host.envoy}`,
      `load: ${CONNECTIONS} connections${RATE > 0 ? ` capped at ${RATE} req/s (not the ceilings)` : ''}, ` +
        `${DURATION_S} s per scenario after a ${WARMUP_S} s warm-up, through Envoy; services run ${RUNTIME === 'compiled' ? 'compiled (as the images start them)' : 'from source (type stripping)'}`,
      '',
      ...ceilingLines(ceilings),
      '',
      ...measured.flatMap((run) => runLines(run, ceilings)),
      ...(measured.length > 1 ? sideBySide(measured, ceilings) : []),
      ...(problems.length > 0 ? ['PROBLEMS:', ...problems.map((problem) => `  - ${problem}`), ''] : []),
    ].join('\n'),
  );
}

// ---------------------------------------------------------------------------------------------------------
// The JSON line.

const ceilingJson = (load: LoadFigures) => ({
  rps: load.rps,
  latency_ms: load.latency_ms,
  ok_2xx: load.ok_2xx,
  non_2xx: load.non_2xx,
  errors: load.errors,
});

function runJson(run: RunFigures, ceilings: Ceilings) {
  return {
    sampler: run.sampler,
    baseline: run.baseline,
    create: run.create,
    create_to_baseline_ratio: ratioOf(run.create.rps, run.baseline.rps),
    baseline_bound: baselineBound(run.baseline),
    event_lag: run.event_lag,
    ratios: ratiosOf(run, ceilings),
    platform_ready_ms: run.platform_ready_ms,
    ready_ms: run.ready_ms,
    ready_after_spawn_ms: run.ready_after_spawn_ms,
    processes: run.processes,
    ...(run.profile ? { profile: run.profile } : {}),
    ...(run.overload ? { overload: run.overload } : {}),
  };
}

/**
 * One line, `{"bench":"microservices-reference-platform",...}`. The top-level figures are those of the
 * first sampler (the production default), as before there were several; `runs` holds every sampler's.
 */
export function jsonLine(
  startedAt: Date,
  host: ReturnType<typeof machine>,
  ceilings: Ceilings,
  measured: readonly RunFigures[],
  problems: readonly string[],
): string {
  const all = measured.map((run) => runJson(run, ceilings));
  const { sampler, ...first } = all[0]!;
  return JSON.stringify({
    bench: 'microservices-reference-platform',
    at: startedAt.toISOString(),
    ok: problems.length === 0,
    machine: host,
    settings: {
      connections: CONNECTIONS,
      duration_s: DURATION_S,
      warmup_s: WARMUP_S,
      rate_limit_rps: RATE > 0 ? RATE : null,
      samplers: SAMPLERS.map((setting) => setting.label),
      runtime: RUNTIME,
      profile: PROFILE,
    },
    sampler,
    ...first,
    ceilings: {
      koa_behind_envoy: ceilingJson(ceilings.koa_behind_envoy),
      envoy_direct_response: ceilingJson(ceilings.envoy_direct_response),
      koa_direct: ceilingJson(ceilings.koa_direct),
      koa_query_behind_envoy: ceilingJson(ceilings.koa_query_behind_envoy),
    },
    targets: TARGETS,
    runs: all,
    problems,
  });
}
