/**
 * The ceilings, measured in the same run with the same Envoy binary, connections and duration as the
 * scenarios: a bare Koa handler behind a plain Envoy (the ceiling the targets are ratios of), Envoy's own
 * direct_response, the bare Koa handler without Envoy, and a Koa handler that does only the read's one
 * Postgres query, behind the plain Envoy: what a read could reach with nothing of the platform around it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { dropDatabase, ensureDatabase } from '@mrp/platform';
import { killGroup, onRelease, phase, trackGroup } from './lifecycle.ts';
import { runLoad, warmUp, type LoadFigures, type LoadPlan } from './load.ts';
import { firstOk, freePort } from './net.ts';
import { DIRECT_PATH, plainEnvoyConfig } from './plain-envoy.ts';
import { CONNECTIONS, DURATION_S, POSTGRES_URL, ROOT } from './settings.ts';

export interface Ceilings {
  readonly koa_behind_envoy: LoadFigures;
  readonly envoy_direct_response: LoadFigures;
  readonly koa_direct: LoadFigures;
  readonly koa_query_behind_envoy: LoadFigures;
}

/** Rows in the query ceiling's table: enough for the index to be used, as in the platform's runs. */
const CEILING_ROWS = 2000;

/**
 * The query ceiling's database, `<prefix>ceiling`: a cases table with the columns the page reads, its
 * keyset index and some rows. Dropped at cleanup.
 */
async function ceilingDatabase(databasePrefix: string): Promise<string> {
  const url = new URL(`/${databasePrefix}ceiling`, POSTGRES_URL).toString();
  await ensureDatabase(url);
  onRelease('drop the ceiling database', () => dropDatabase(url));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // nosemgrep: sql-template-interpolation -- CEILING_ROWS is this file's constant
    await client.query(`
      CREATE TABLE IF NOT EXISTS cases (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        title text NOT NULL,
        status text NOT NULL DEFAULT 'NEW',
        owner_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX IF NOT EXISTS cases_keyset ON cases (created_at DESC, id DESC);
      INSERT INTO cases (title, owner_id) SELECT 'Bench', gen_random_uuid() FROM generate_series(1, ${CEILING_ROWS});
      ANALYZE cases;`);
  } finally {
    await client.end();
  }
  return url;
}

/**
 * The platform's Envoy takes the dev runner's pid modulo 60000 as its --base-id (its shared memory and
 * hot-restart sockets); the plain Envoy takes one above that range, so the two never share one.
 */
const PLAIN_ENVOY_BASE_ID = 60_000 + (process.pid % 60_000);

interface Helper {
  readonly child: ChildProcess;
  /** SIGTERM, then SIGKILL to its group after 5 s; idempotent. */
  readonly stop: () => Promise<void>;
}

/** A helper process in its own process group, its output in the run's log, stopped at cleanup at the latest. */
function startHelper(name: string, command: string, args: string[], log: WriteStream): Helper {
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  trackGroup(child);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      if (log.writable) log.write(`[${name}] ${line}\n`);
    });
  }
  const exited = new Promise<void>((done) => {
    child.once('exit', () => {
      done();
    });
  });
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5000)]);
      }
      killGroup(child);
    })();
    return stopped;
  };
  onRelease(`stop ${name}`, stop);
  return { child, stop };
}

async function waitForOk(name: string, child: ChildProcess, url: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  const answered = await firstOk(
    url,
    50,
    () => Date.now() > deadline || child.exitCode !== null || child.signalCode !== null,
  );
  if (answered === undefined) throw new Error(`${name} did not answer 200 at ${url}`);
}

function validateEnvoyConfig(file: string): void {
  const check = spawnSync('envoy', ['--mode', 'validate', '-c', file, '--log-level', 'error'], {
    encoding: 'utf8',
  });
  if (check.status !== 0)
    throw new Error(`the plain Envoy config is invalid:\n${check.stdout}${check.stderr}`);
}

function ceilingPlan(scenario: string, url: string): LoadPlan {
  return { scenario, url, durationS: DURATION_S, options: {}, request: { method: 'GET' }, uncapped: true };
}

async function measure(plan: LoadPlan): Promise<LoadFigures> {
  await warmUp(plan);
  phase(`ceiling: ${plan.scenario}, ${CONNECTIONS} connections, ${DURATION_S} s`);
  return runLoad(plan);
}

/** Starts the bare Koa process and the plain Envoy in front of it, measures the four, and stops both. */
export async function measureCeilings(
  stateDir: string,
  databasePrefix: string,
  log: WriteStream,
): Promise<Ceilings> {
  const ports = { upstream: await freePort(), listener: await freePort(), admin: await freePort() };
  const configFile = join(stateDir, 'plain-envoy.json');
  writeFileSync(configFile, JSON.stringify(plainEnvoyConfig(ports), null, 2));
  validateEnvoyConfig(configFile);

  phase(`ceilings: a bare Koa handler on :${ports.upstream}, a plain Envoy on :${ports.listener}`);
  const koa = startHelper(
    'bare-koa',
    process.execPath,
    ['scripts/bench/bare-koa.ts', String(ports.upstream), await ceilingDatabase(databasePrefix)],
    log,
  );
  const envoy = startHelper(
    'plain-envoy',
    'envoy',
    ['-c', configFile, '--log-level', 'warn', '--base-id', String(PLAIN_ENVOY_BASE_ID)],
    log,
  );
  await waitForOk('the bare Koa handler', koa.child, `http://127.0.0.1:${ports.upstream}/`);
  await waitForOk('the plain Envoy', envoy.child, `http://127.0.0.1:${ports.admin}/ready`);

  const koaBehindEnvoy = await measure(
    ceilingPlan('bare Koa behind plain Envoy', `http://127.0.0.1:${ports.listener}/`),
  );
  const directResponse = await measure(
    ceilingPlan('Envoy direct_response', `http://127.0.0.1:${ports.listener}${DIRECT_PATH}`),
  );
  const koaDirect = await measure(ceilingPlan('bare Koa, no Envoy', `http://127.0.0.1:${ports.upstream}/`));
  const koaQuery = await measure(
    ceilingPlan('Koa + one Postgres query, plain Envoy', `http://127.0.0.1:${ports.listener}/query`),
  );

  // Stopped before the platform starts, so that they take nothing from it.
  await Promise.all([envoy.stop(), koa.stop()]);
  return {
    koa_behind_envoy: koaBehindEnvoy,
    envoy_direct_response: directResponse,
    koa_direct: koaDirect,
    koa_query_behind_envoy: koaQuery,
  };
}
