/**
 * `make bench`: a load benchmark of the whole platform through the real Envoy. Measures the ceilings (a
 * bare Koa handler behind a plain Envoy, Envoy's direct_response, bare Koa alone, Koa doing the read's one
 * Postgres query behind the plain Envoy), then, once per trace
 * sampler, starts scripts/dev.ts on free ports with its own databases, Redis logical database and state
 * directory and measures an authenticated read (the baseline), case creation, the event lag from a case to
 * its audit entry, and the platform's processes; prints tables and one JSON line; and always stops what it
 * started and drops what it created. See docs/benchmarks.md; the parts are in scripts/bench/.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropDatabase } from '@mrp/platform';
import { measureCeilings } from './bench/ceilings.ts';
import { finish, isStopping, message, onRelease, say } from './bench/lifecycle.ts';
import { claimRedisDatabase, releaseRedisDatabase } from './bench/redis-claim.ts';
import { allProblems, jsonLine, machine, printReport } from './bench/report.ts';
import { runPlatform, type RunContext, type RunFigures } from './bench/run.ts';
import { OVERALL_LIMIT_MS, POSTGRES_URL, SAMPLERS } from './bench/settings.ts';

const STORES = ['user', 'case', 'audit'] as const;

/** The state directory, the log, the databases and the Redis database, each released at cleanup. */
async function prepare(
  id: string,
  startedAt: Date,
): Promise<RunContext & { keepLog: (keep: boolean) => void }> {
  const databasePrefix = `mrp_bench_${id}_`;
  const stateDir = mkdtempSync(join(tmpdir(), 'mrp-bench-'));
  const logFile = join(tmpdir(), `mrp-bench-${id}.log`);
  const log = createWriteStream(logFile);
  let keepLog = true;
  onRelease('remove the state directory and the log', async () => {
    rmSync(stateDir, { recursive: true, force: true });
    await new Promise<void>((done) => log.end(done));
    if (keepLog) say(`the platform's log is kept in ${logFile}`);
    else rmSync(logFile, { force: true });
  });
  onRelease('drop the databases', async () => {
    for (const store of STORES)
      await dropDatabase(new URL(`/${databasePrefix}${store}`, POSTGRES_URL).toString());
  });

  const claimToken = JSON.stringify({
    host: hostname(),
    pid: process.pid,
    run: id,
    at: startedAt.toISOString(),
  });
  const redisDb = await claimRedisDatabase(claimToken);
  onRelease('release the Redis database', () => releaseRedisDatabase(redisDb.index, claimToken));
  say(
    `run ${id}: databases ${databasePrefix}{${STORES.join(',')}}, Redis db ${redisDb.index}, log ${logFile}`,
  );
  return {
    id,
    stateDir,
    databasePrefix,
    redisUrl: redisDb.url,
    log,
    keepLog: (keep) => {
      keepLog = keep;
    },
  };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const context = await prepare(randomBytes(3).toString('hex'), startedAt);
  const ceilings = await measureCeilings(context.stateDir, context.databasePrefix, context.log);
  // Every sampler gets a freshly started platform on the same stores: the cases of the first run are still
  // there for the second, which changes nothing a page of one case or an insert costs.
  const measured: RunFigures[] = [];
  for (const sampler of SAMPLERS) measured.push(await runPlatform(sampler, context));

  const problems = allProblems(ceilings, measured);
  const host = machine();
  printReport(host, ceilings, measured, problems);
  process.stdout.write(`${jsonLine(startedAt, host, ceilings, measured, problems)}\n`);
  context.keepLog(problems.length > 0);
  await finish(problems.length > 0 ? 1 : 0);
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (interrupted) return;
    interrupted = true;
    say(`${signal}: stopping the load and the platform, dropping the databases`);
    void finish(130);
  });
}

setTimeout(() => {
  process.stderr.write(
    `[bench] the run exceeded its overall limit of ${OVERALL_LIMIT_MS / 1000} s; stopping\n`,
  );
  void finish(1);
}, OVERALL_LIMIT_MS).unref();

main().catch(async (error: unknown) => {
  if (!isStopping()) process.stderr.write(`[bench] ${message(error)}\n`);
  await finish(1);
});
