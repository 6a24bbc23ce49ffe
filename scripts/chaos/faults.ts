/**
 * The faults, one every interval, in turn: SIGKILL each service and Envoy (the dev runner starts them
 * again after its back-off, as a kubelet would), SIGKILL Redis (brought back empty a few seconds later),
 * and a Postgres crash: the run's own server shut down immediately (no checkpoint, every connection cut)
 * and started again a few seconds later, recovering from its WAL. Where no server of the run's own could
 * be made (no initdb), Postgres drops every connection of the platform's databases instead.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SERVICE_NAMES } from '@mrp/gateway';
import pg from 'pg';
import { platformPids } from '../bench/process-stats.ts';
import type { ChaosPostgres } from './postgres-server.ts';
import type { ChaosRedis } from './redis-server.ts';

/** What the platform runs on, faulted between the services. */
const INFRASTRUCTURE_FAULTS = ['redis', 'gateway', 'postgres'] as const;

/**
 * Every fault of a round, in order: each service of services/registry.json (killed), case-service first as
 * the one every write goes through, with the infrastructure's faults between them.
 */
export const FAULTS: readonly string[] = (() => {
  const services = [...SERVICE_NAMES].sort(
    (a, b) => Number(b === 'case-service') - Number(a === 'case-service'),
  );
  return services.flatMap((service, index) =>
    index < INFRASTRUCTURE_FAULTS.length ? [service, INFRASTRUCTURE_FAULTS[index]!] : [service],
  );
})();
/** A service's name (its processes are killed), or one of the infrastructure faults. */
export type Fault = string;

export interface FaultRecord {
  readonly fault: Fault;
  /** ms since the epoch */
  readonly at: number;
  readonly detail: string;
}

export interface FaultContext {
  readonly runnerPid: number;
  readonly redis: ChaosRedis;
  /** The run's own Postgres, when it has one. */
  readonly postgres: ChaosPostgres | undefined;
  /** A connection to the server's maintenance database, to end the platform's connections. */
  readonly postgresUrl: string;
  readonly databasePrefix: string;
  readonly redisDownMs: number;
  readonly postgresDownMs: number;
}

function killProcess(context: FaultContext, name: string): string {
  // The runner names Envoy "gateway"; /proc knows it by its binary.
  const pid = platformPids(context.runnerPid).get(name === 'gateway' ? 'envoy' : name);
  if (pid === undefined) return 'not running (still restarting?): skipped';
  process.kill(pid, 'SIGKILL');
  return `SIGKILL pid ${pid}`;
}

async function dropConnections(context: FaultContext): Promise<string> {
  const client = new pg.Client({ connectionString: context.postgresUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname LIKE $1 AND pid <> pg_backend_pid()`,
      [`${context.databasePrefix}%`],
    );
    return `${rowCount ?? 0} connections terminated`;
  } finally {
    await client.end();
  }
}

async function restartRedis(context: FaultContext): Promise<string> {
  await context.redis.kill();
  await sleep(context.redisDownMs);
  await context.redis.start();
  return `SIGKILL, back empty after ${context.redisDownMs} ms`;
}

async function crashPostgres(context: FaultContext): Promise<string> {
  const server = context.postgres;
  if (!server) return `${await dropConnections(context)} (no server of the run's own to crash)`;
  await server.crash();
  await sleep(context.postgresDownMs);
  const restarting = Date.now();
  await server.start();
  return `immediate shutdown (a crash), started again after ${context.postgresDownMs} ms, accepting queries ${Date.now() - restarting} ms later`;
}

export async function inject(fault: Fault, context: FaultContext): Promise<FaultRecord> {
  const at = Date.now();
  const detail =
    fault === 'redis'
      ? await restartRedis(context)
      : fault === 'postgres'
        ? await crashPostgres(context)
        : killProcess(context, fault);
  return { fault, at, detail };
}
