/**
 * One measured platform: started with one trace sampler, left to settle, then the baseline, the create
 * load and the event lag, with its processes' figures before and after the load; stopped at the end so
 * that case-service writes its CPU profile.
 */
import { randomUUID } from 'node:crypto';
import type { WriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { RATE_LIMITS } from '@mrp/gateway';
import { measureLag, type LagFigures } from './event-lag.ts';
import { login, tokenSubject, UUID } from './gateway-client.ts';
import { checkNotStopping, phase, say } from './lifecycle.ts';
import { round, runTimedLoad, warmUp, type LoadFigures, type LoadPlan } from './load.ts';
import { chartHeapFlags } from './chart-memory.ts';
import { freePorts, SERVICE_NAMES, startPlatform, type Platform } from './platform.ts';
import { processReport, snapshotPlatform, type ProcessReport } from './process-stats.ts';
import { profileSetup, summariseProfile, type ProfileFigures } from './profile.ts';
import { createPlan, overloadPlan, readPlan, recoveryPlan, type Creations } from './scenarios.ts';
import {
  CONNECTIONS,
  DURATION_S,
  LAG_TIMEOUT_S,
  OVERLOAD,
  OVERLOAD_CONNECTIONS,
  OVERLOAD_FACTOR,
  POSTGRES_URL,
  PROFILE,
  RECOVERY_PAUSE_MS,
  RECOVERY_S,
  SETTLE_MS,
  WARMUP_S,
  type SamplerSetting,
} from './settings.ts';

/** What every platform run shares: its stores, state directory and log. */
export interface RunContext {
  readonly id: string;
  readonly stateDir: string;
  readonly databasePrefix: string;
  readonly redisUrl: string;
  readonly log: WriteStream;
}

export interface RunFigures {
  readonly sampler: string;
  /** From the dev runner's start to its "the platform is ready". */
  readonly platform_ready_ms: number;
  /** From the dev runner's start to each service's first 200 on /readyz (Envoy: admin /ready). */
  readonly ready_ms: Readonly<Record<string, number | null>>;
  /** From each process's own start to its first ready answer (what a readiness probe sees). */
  readonly ready_after_spawn_ms: Readonly<Record<string, number | null>>;
  readonly baseline: LoadFigures;
  readonly create: LoadFigures;
  readonly event_lag: LagFigures;
  readonly processes: ProcessReport;
  readonly profile: ProfileFigures | null;
  readonly creations: Creations;
  /** With BENCH_OVERLOAD=1: the overload, and the normal reads right after it. */
  readonly overload: { readonly load: LoadFigures; readonly recovery: LoadFigures } | null;
}

/** The sampler's two variables; one without an argument must not inherit the caller's argument. */
function samplerEnv(sampler: SamplerSetting): Record<string, string | undefined> {
  return { OTEL_TRACES_SAMPLER: sampler.name, OTEL_TRACES_SAMPLER_ARG: sampler.arg };
}

async function readyPlatform(
  sampler: SamplerSetting,
  context: RunContext,
  extraEnv: Record<string, string>,
): Promise<Platform> {
  const ports = await freePorts();
  phase(
    `[${sampler.label}] starting the platform: gateway http://127.0.0.1:${ports.GATEWAY_PORT}, ` +
      `databases ${context.databasePrefix}{user,case,audit}, log ${context.log.path.toString()}`,
  );
  if (context.log.writable)
    context.log.write(`---- bench: the platform with OTEL_TRACES_SAMPLER ${sampler.label}\n`);
  const platform = await startPlatform(
    ports,
    {
      DEV_STATE_DIR: context.stateDir,
      DEV_DATABASE_PREFIX: context.databasePrefix,
      POSTGRES_URL,
      REDIS_URL: context.redisUrl,
      ...samplerEnv(sampler),
      ...extraEnv,
      // Each service with its chart's heap cap, as in a pod (extra flags, e.g. the profiler's, kept).
      ...chartHeapFlags(SERVICE_NAMES, extraEnv),
    },
    context.log,
  );
  const each = Object.entries(platform.serviceReadyMs)
    .map(([name, ms]) => `${name} ${ms === null ? '-' : round(ms / 1000, 2)}`)
    .join(', ');
  say(`the platform is ready (${round(platform.readyMs / 1000)} s; /readyz answered after, in s: ${each})`);
  return platform;
}

/** Warms both paths (JIT, connection pools, the JWKS cache) and lets the gateway's token bucket refill. */
async function warmUpBoth(create: LoadPlan, read: LoadPlan): Promise<void> {
  // The create warm-up also leaves cases in the table, so that the baseline's page holds one.
  await warmUp(create);
  await warmUp(read);
  if (WARMUP_S > 0) {
    // The read warm-up may have emptied the gateway's token bucket: let it refill so every run starts alike.
    const bucket = RATE_LIMITS.gateway;
    await sleep(Math.ceil(bucket.maxTokens / bucket.tokensPerFill) * bucket.fillIntervalSeconds * 1000);
  }
}

export async function runPlatform(sampler: SamplerSetting, context: RunContext): Promise<RunFigures> {
  const profiling = PROFILE ? profileSetup(context.id) : undefined;
  const platform = await readyPlatform(sampler, context, profiling?.env ?? {});

  await sleep(SETTLE_MS);
  checkNotStopping();
  const idle = snapshotPlatform(platform.runnerPid);

  const gateway = platform.gateway;
  const analyst = await login(gateway, 'analyst');
  const viewer = await login(gateway, 'viewer');
  const admin = await login(gateway, 'admin');
  const analystId = tokenSubject(analyst);
  const ownerId = analystId !== undefined && UUID.test(analystId) ? analystId : randomUUID();
  const creations: Creations = { created: new Map(), malformed: [] };
  const read = readPlan(gateway, viewer);
  const create = createPlan(gateway, analyst, ownerId, creations);
  await warmUpBoth(create, read);

  phase(`[${sampler.label}] baseline: ${read.scenario}, ${CONNECTIONS} connections, ${DURATION_S} s`);
  const baseline = await runTimedLoad(read);
  phase(`[${sampler.label}] create: ${create.scenario}, ${CONNECTIONS} connections, ${DURATION_S} s`);
  const since = new Date(Date.now() - 1000).toISOString();
  const creation = await runTimedLoad(create);
  const loadEnded = Date.now();

  phase(
    `waiting (at most ${LAG_TIMEOUT_S} s) until the audit log holds the ${creations.created.size} created cases`,
  );
  const lag = await measureLag(gateway, admin, creations.created, since, loadEnded);
  const loaded = snapshotPlatform(platform.runnerPid);

  let overload: RunFigures['overload'] = null;
  if (OVERLOAD) {
    const plan = overloadPlan(read, baseline.figures.rps, OVERLOAD_FACTOR, OVERLOAD_CONNECTIONS);
    phase(
      `[${sampler.label}] overload: ${plan.scenario}, ${plan.rate ?? 0} req/s over ${OVERLOAD_CONNECTIONS} connections, ${DURATION_S} s`,
    );
    const load = (await runTimedLoad(plan)).figures;
    // The requests the services admitted are still being answered for a moment after the load stops.
    await sleep(RECOVERY_PAUSE_MS);
    phase(`[${sampler.label}] recovery: ${read.scenario}, ${CONNECTIONS} connections, ${RECOVERY_S} s`);
    const recovery = (await runTimedLoad(recoveryPlan(read, RECOVERY_S))).figures;
    overload = { load, recovery };
  }

  // Stopped here rather than at cleanup: case-service writes its profile as it exits, and the next
  // sampler's platform must not share the machine with this one.
  await platform.stop();
  return {
    sampler: sampler.label,
    platform_ready_ms: platform.readyMs,
    ready_ms: platform.serviceReadyMs,
    ready_after_spawn_ms: platform.readyAfterSpawnMs,
    baseline: baseline.figures,
    create: creation.figures,
    event_lag: lag,
    processes: processReport(idle, loaded),
    profile: profiling ? summariseProfile(profiling.dir, baseline, creation) : null,
    creations,
    overload,
  };
}
