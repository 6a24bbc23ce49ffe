/**
 * `make chaos`: the platform under faults while clients create cases. Starts scripts/dev.ts (which starts
 * a process that dies again after a back-off) on free ports with databases and a Redis of its own, puts
 * steady case creation through Envoy from clients that retry as documented, and every CHAOS_INTERVAL_S
 * injects the next fault (scripts/chaos/faults.ts). Then it proves, from the databases: every
 * acknowledged case exists, no Idempotency-Key made two cases, every case has exactly one case_created
 * in the audit log. Prints what happened and one JSON line; exits 0 only if nothing was lost or doubled.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dropDatabase } from '@mrp/platform';
import { login, tokenSubject } from './bench/gateway-client.ts';
import { finish, isStopping, message, onRelease } from './bench/lifecycle.ts';
import { freePort } from './bench/net.ts';
import { freePorts, startPlatform } from './bench/platform.ts';
import { POSTGRES_URL } from './bench/settings.ts';
import { runClients, type ClientFigures } from './chaos/clients.ts';
import { FAULTS, inject, type FaultRecord } from './chaos/faults.ts';
import { ChaosPostgres } from './chaos/postgres-server.ts';
import { ChaosRedis } from './chaos/redis-server.ts';
import { verify, type Verdict } from './chaos/verify.ts';

const say = (text: string) => {
  process.stdout.write(`[chaos] ${text}\n`);
};

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    process.stderr.write(`[chaos] ${name} must be an integer from ${min} to ${max} (got "${raw}")\n`);
    process.exit(2);
  }
  return value;
}

const DURATION_S = intFromEnv('CHAOS_DURATION_S', 120, 5, 3600);
const INTERVAL_S = intFromEnv('CHAOS_INTERVAL_S', 8, 1, 600);
const CLIENTS = intFromEnv('CHAOS_CLIENTS', 4, 1, 100);
const REDIS_DOWN_MS = intFromEnv('CHAOS_REDIS_DOWN_MS', 3000, 0, 60_000);
const POSTGRES_DOWN_MS = intFromEnv('CHAOS_POSTGRES_DOWN_MS', 3000, 0, 60_000);
/** How long one create may keep retrying, and how long the audit log may take to catch up (ms). */
const RETRY_FOR_MS = 60_000;
const AUDIT_WAIT_MS = 90_000;
const STORES = ['user', 'case', 'audit'] as const;

/**
 * For each fault, how long until a create sent after it was acknowledged: what a client saw of it. (A
 * create already past the failing part when the fault hit may still succeed; it does not count.)
 */
function recoveries(faults: readonly FaultRecord[], clients: ClientFigures): (number | null)[] {
  return faults.map((fault) => {
    const after = clients.acknowledged.filter((ack) => ack.sentAt >= fault.at).map((ack) => ack.at);
    return after.length === 0 ? null : Math.min(...after) - fault.at;
  });
}

function report(faults: readonly FaultRecord[], clients: ClientFigures, verdict: Verdict): boolean {
  const recovered = recoveries(faults, clients);
  say('faults (recovered: until a create sent after the fault was acknowledged):');
  faults.forEach((fault, index) => {
    const ms = recovered[index];
    say(
      `  ${fault.fault.padEnd(24)} ${fault.detail.padEnd(44)} recovered ${ms === null ? 'never' : `${ms} ms`}`,
    );
  });
  const retries = [...clients.retried].map(([why, count]) => `${why} x${count}`).join(', ') || 'none';
  say(
    `requests ${clients.requests}; acknowledged ${verdict.acknowledged}; stored ${verdict.casesStored}; ` +
      `given up ${clients.givenUp.length}; retried: ${retries}`,
  );
  const ok =
    verdict.lost.length === 0 &&
    verdict.doubled.length === 0 &&
    verdict.auditMissing.length === 0 &&
    verdict.auditDoubled.length === 0 &&
    clients.unexpected.length === 0;
  say(
    `lost ${verdict.lost.length}, doubled ${verdict.doubled.length}, missing from the audit log ` +
      `${verdict.auditMissing.length}, twice in it ${verdict.auditDoubled.length}, unexpected answers ` +
      `${clients.unexpected.length}${clients.unexpected[0] ? ` (first: ${clients.unexpected[0]})` : ''}; ` +
      `audit log complete ${verdict.auditCaughtUpAfterMs === null ? 'never' : `${verdict.auditCaughtUpAfterMs} ms after the load`}`,
  );
  say(ok ? 'nothing acknowledged was lost or doubled' : 'FAILED: see above');
  process.stdout.write(
    `${JSON.stringify({
      chaos: 'microservices-reference-platform',
      ok,
      settings: {
        duration_s: DURATION_S,
        interval_s: INTERVAL_S,
        clients: CLIENTS,
        redis_down_ms: REDIS_DOWN_MS,
      },
      faults: faults.map((fault, index) => ({
        ...fault,
        at: new Date(fault.at).toISOString(),
        recovered_ms: recovered[index],
      })),
      requests: clients.requests,
      retried: Object.fromEntries(clients.retried),
      given_up: clients.givenUp.length,
      unexpected: clients.unexpected,
      verdict: {
        ...verdict,
        lost: verdict.lost.length,
        doubled: verdict.doubled.length,
        audit_missing: verdict.auditMissing.length,
        audit_doubled: verdict.auditDoubled.length,
      },
    })}\n`,
  );
  return ok;
}

async function main(): Promise<void> {
  const id = randomBytes(3).toString('hex');
  const databasePrefix = `mrp_chaos_${id}_`;
  const stateDir = mkdtempSync(join(tmpdir(), 'mrp-chaos-'));
  const logFile = join(tmpdir(), `mrp-chaos-${id}.log`);
  const log = createWriteStream(logFile);
  onRelease('remove the state directory', async () => {
    rmSync(stateDir, { recursive: true, force: true });
    await new Promise<void>((done) => log.end(done));
    say(`the platform's log is in ${logFile}`);
  });
  // A Postgres of the run's own, to crash; the shared server (POSTGRES_URL) when none can be made.
  const ownPostgres = ChaosPostgres.create(await freePort());
  if (ownPostgres) {
    onRelease('stop and remove the run’s Postgres', () => ownPostgres.destroy());
    await ownPostgres.start();
  } else {
    say(`no initdb here: the run uses ${POSTGRES_URL}, and the Postgres fault drops connections instead`);
  }
  const postgresUrl = ownPostgres?.url ?? POSTGRES_URL;
  onRelease('drop the databases', async () => {
    if (ownPostgres) return;
    for (const store of STORES)
      await dropDatabase(new URL(`/${databasePrefix}${store}`, postgresUrl).toString());
  });
  const redis = new ChaosRedis(await freePort());
  await redis.start();
  onRelease('stop Redis', () => redis.kill());

  say(
    `run ${id}: ${DURATION_S} s, a fault every ${INTERVAL_S} s, ${CLIENTS} clients; databases ${databasePrefix}* on ${ownPostgres ? `a Postgres of its own (:${ownPostgres.port})` : postgresUrl}, Redis :${redis.port}`,
  );
  const ports = await freePorts();
  const platform = await startPlatform(
    ports,
    {
      DEV_STATE_DIR: stateDir,
      DEV_DATABASE_PREFIX: databasePrefix,
      POSTGRES_URL: postgresUrl,
      REDIS_URL: redis.url,
    },
    log,
  );
  say(`the platform is ready: ${platform.gateway}`);

  let token = await login(platform.gateway, 'analyst');
  const ownerId = tokenSubject(token)!;
  const endsAt = Date.now() + DURATION_S * 1000;
  const clients = runClients(CLIENTS, {
    gateway: platform.gateway,
    token: () => token,
    renewToken: async () => {
      token = await login(platform.gateway, 'analyst');
    },
    ownerId,
    stopping: () => Date.now() >= endsAt || isStopping(),
    retryForMs: RETRY_FOR_MS,
  });

  const faults: FaultRecord[] = [];
  const context = {
    runnerPid: platform.runnerPid,
    redis,
    postgres: ownPostgres,
    postgresUrl,
    databasePrefix,
    redisDownMs: REDIS_DOWN_MS,
    postgresDownMs: POSTGRES_DOWN_MS,
  };
  for (let index = 0; Date.now() + INTERVAL_S * 1000 < endsAt && !isStopping(); index += 1) {
    await sleep(INTERVAL_S * 1000);
    const fault = await inject(FAULTS[index % FAULTS.length]!, context);
    faults.push(fault);
    say(`${fault.fault}: ${fault.detail}`);
  }
  const figures = await clients;
  say('load stopped; waiting for the audit log, then checking the databases');
  const database = (store: string) => new URL(`/${databasePrefix}${store}`, postgresUrl).toString();
  const verdict = await verify(
    figures.acknowledged,
    { caseUrl: database('case'), auditUrl: database('audit') },
    AUDIT_WAIT_MS,
  );
  await finish(report(faults, figures, verdict) ? 0 : 1);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping the platform and dropping the databases`);
    void finish(130);
  });
}

setTimeout(
  () => {
    process.stderr.write('[chaos] the run exceeded its time limit; stopping\n');
    void finish(1);
  },
  (DURATION_S + RETRY_FOR_MS / 1000 + AUDIT_WAIT_MS / 1000 + 180) * 1000,
).unref();

main().catch(async (error: unknown) => {
  if (!isStopping()) process.stderr.write(`[chaos] ${message(error)}\n`);
  await finish(1);
});
