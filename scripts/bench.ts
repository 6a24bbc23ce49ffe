/**
 * `make bench`: a load benchmark of the whole platform through the real Envoy. Starts scripts/dev.ts on
 * free ports with its own databases, Redis logical database and state directory; measures an
 * authenticated read (the baseline), case creation, and the event lag from a case to its audit entry;
 * prints a table and one JSON line; and always stops the platform and drops what it created. See
 * docs/benchmarks.md.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, hostname, release, tmpdir, totalmem, type as osType } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { createRedis, type Redis } from '@mrp/events';
import { RATE_LIMITS } from '@mrp/gateway';
import { dropDatabase } from '@mrp/platform';

const root = resolve(import.meta.dirname, '..');

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    process.stderr.write(`[bench] ${name} must be an integer from ${min} to ${max} (got "${raw}")\n`);
    process.exit(2);
  }
  return value;
}

const CONNECTIONS = intFromEnv('BENCH_CONNECTIONS', 10, 1, 1000);
const DURATION_S = intFromEnv('BENCH_DURATION_S', 10, 1, 600);
const WARMUP_S = intFromEnv('BENCH_WARMUP_S', 2, 0, 60);
const READY_TIMEOUT_S = intFromEnv('BENCH_READY_TIMEOUT_S', 120, 10, 600);
const LAG_TIMEOUT_S = intFromEnv('BENCH_LAG_TIMEOUT_S', 60, 1, 600);
/** Optional cap on requests per second over all connections (0: none), e.g. to stay under the gateway's limit. */
const RATE = intFromEnv('BENCH_RATE', 0, 0, 1_000_000);
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Everything the run may take, after which it stops itself: start, two warm-ups, two runs, the lag wait. */
const OVERALL_LIMIT_MS = (READY_TIMEOUT_S + 2 * (WARMUP_S + DURATION_S + 15) + LAG_TIMEOUT_S + 90) * 1000;

const STORES = ['user', 'case', 'audit'] as const;
/** The key that marks a Redis logical database as taken by a benchmark run. */
const REDIS_CLAIM_KEY = 'mrp:bench:claim';
/** Logical database 0 is what `make dev` uses; a benchmark never touches it. */
const REDIS_FIRST_DB = 1;
const PORT_NAMES = [
  'GATEWAY_PORT',
  'GATEWAY_ADMIN_PORT',
  'AUTH_SERVICE_PORT',
  'USER_SERVICE_PORT',
  'CASE_SERVICE_PORT',
  'SCORING_SERVICE_PORT',
  'AUDIT_TELEMETRY_SERVICE_PORT',
] as const;

const say = (text: string) => {
  process.stdout.write(`[bench] ${text}\n`);
};

// ---------------------------------------------------------------------------------------------------------
// Cleanup: every resource registers how to release it; they are released in reverse order, once, whether
// the run succeeds, fails, is interrupted or runs out of time.

const releases: { name: string; run: () => Promise<void> }[] = [];
let cleaning: Promise<void> | undefined;
/** Set once cleanup starts: no new load or wait begins after it. */
let stopping = false;
let runner: ChildProcess | undefined;
let currentLoad: autocannon.Instance | undefined;

function onRelease(name: string, run: () => Promise<void>): void {
  releases.push({ name, run });
}

async function cleanup(): Promise<void> {
  stopping = true;
  cleaning ??= (async () => {
    currentLoad?.stop();
    for (const step of releases.reverse()) {
      try {
        await step.run();
      } catch (error) {
        process.stderr.write(`[bench] cleanup: ${step.name} failed: ${message(error)}\n`);
      }
    }
  })();
  return cleaning;
}

async function finish(exitCode: number): Promise<never> {
  await cleanup();
  process.exit(exitCode);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// A last resort if the process exits without cleanup (an uncaught error): no platform process outlives it.
process.once('exit', () => {
  if (runner?.pid !== undefined && runner.exitCode === null && runner.signalCode === null) {
    try {
      process.kill(-runner.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

// ---------------------------------------------------------------------------------------------------------
// Ports, Redis logical database, the platform.

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => {
        done(port);
      });
    });
  });
}

function redisUrlForDb(index: number): string {
  const url = new URL(REDIS_URL);
  url.pathname = `/${index}`;
  return url.toString();
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A claim left by a benchmark on this host whose process is gone (it was killed before cleaning up). */
function staleClaim(raw: string | null): boolean {
  if (raw === null) return false;
  try {
    const claim = JSON.parse(raw) as { host?: unknown; pid?: unknown };
    return claim.host === hostname() && typeof claim.pid === 'number' && !processAlive(claim.pid);
  } catch {
    return false;
  }
}

/**
 * A connection to the Redis of REDIS_URL on logical database `index`, chosen by an explicit SELECT: a
 * database index in the URL that the server does not have is ignored by the client, which then stays on 0.
 */
async function connectRedis(index: number): Promise<Redis> {
  const redis = createRedis(redisUrlForDb(0), {
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.select(index);
    return redis;
  } catch (error) {
    redis.disconnect();
    throw error;
  }
}

/**
 * Claims an empty Redis logical database (1, 2, ...) for this run, so its streams and consumer groups never
 * mix with a developer's `make dev` (database 0) or another run. The claim is a key set with NX; the
 * database must hold nothing else. A database left behind by a killed run on this host is reclaimed.
 */
async function claimRedisDatabase(token: string): Promise<{ index: number; url: string }> {
  for (let index = REDIS_FIRST_DB; ; index += 1) {
    let redis: Redis;
    try {
      redis = await connectRedis(index);
    } catch (error) {
      if (/index is out of range|invalid DB index/i.test(message(error))) break;
      throw error;
    }
    try {
      let size = await redis.dbsize();
      if (size > 0 && staleClaim(await redis.get(REDIS_CLAIM_KEY))) {
        say(`redis db ${index}: reclaiming what a killed benchmark left behind`);
        await redis.flushdb();
        size = 0;
      }
      if (size !== 0) continue;
      const claimed = await redis.set(REDIS_CLAIM_KEY, token, 'NX');
      if (claimed === 'OK' && (await redis.dbsize()) === 1) return { index, url: redisUrlForDb(index) };
      if (claimed === 'OK') await redis.del(REDIS_CLAIM_KEY);
    } finally {
      redis.disconnect();
    }
  }
  throw new Error(
    `no empty Redis logical database from ${REDIS_FIRST_DB} on at ${new URL(REDIS_URL).host}: ` +
      'each holds keys (raise `databases` in redis.conf, or empty one that is not in use)',
  );
}

async function releaseRedisDatabase(index: number, token: string): Promise<void> {
  const redis = await connectRedis(index);
  try {
    // Only a database this run still holds is flushed: its streams, consumer groups and the claim itself.
    if ((await redis.get(REDIS_CLAIM_KEY)) === token) await redis.flushdb();
  } finally {
    redis.disconnect();
  }
}

/** Starts scripts/dev.ts as `make dev` would, on the given ports and stores, and waits until it is ready. */
async function startPlatform(
  ports: Record<string, number>,
  env: Record<string, string>,
  log: WriteStream,
): Promise<void> {
  const child = spawn(process.execPath, ['scripts/dev.ts'], {
    cwd: root,
    env: {
      ...process.env,
      ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])),
      ...env,
      NO_COLOR: '1',
      DEV_LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C reaches only this script, which stops the platform in order, and the
    // whole group (the runner, every service and Envoy) can be killed if the runner does not stop.
    detached: true,
  });
  runner = child;
  const exited = new Promise<void>((done) => {
    child.once('exit', () => {
      done();
    });
  });
  onRelease('stop the platform', async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      say('stopping the platform');
      process.kill(child.pid, 'SIGINT');
      await Promise.race([exited, sleep(20_000)]);
    }
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is empty: everything stopped
      }
    }
  });

  let ready = false;
  /** The runner's last lines, shown when it does not get ready. */
  const tail: string[] = [];
  const lastLines = () => tail.map((line) => `  | ${line}`).join('\n');
  const readiness = new Promise<void>((done, fail) => {
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (log.writable) log.write(`${line}\n`);
        if (!ready) {
          tail.push(line.length > 400 ? `${line.slice(0, 400)}...` : line);
          if (tail.length > 25) tail.shift();
        }
        if (!ready && line.includes('the platform is ready')) {
          ready = true;
          done();
        }
      });
    }
    void exited.then(() => {
      fail(
        new Error(
          `the dev runner exited (${String(child.exitCode ?? child.signalCode)}) before it was ready:\n${lastLines()}`,
        ),
      );
    });
  });
  await withDeadline(
    readiness,
    READY_TIMEOUT_S * 1000,
    () => `the platform was not ready in ${READY_TIMEOUT_S} s:\n${lastLines()}`,
  );
}

async function withDeadline<T>(work: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, fail) => {
    timer = setTimeout(() => {
      fail(new Error(what()));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------------------
// HTTP through the gateway.

const USERS = {
  admin: { username: 'admin@example.com', password: 'admin123' },
  analyst: { username: 'analyst@example.com', password: 'analyst123' },
  viewer: { username: 'viewer@example.com', password: 'viewer123' },
} as const;

/** One login per role: the gateway allows 20 logins per minute per client address. */
async function login(gateway: string, role: keyof typeof USERS): Promise<string> {
  const response = await fetch(`${gateway}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(USERS[role]).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`login as ${role} answered ${response.status}: ${text}`);
  return (JSON.parse(text) as { access_token: string }).access_token;
}

function tokenSubject(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      sub?: unknown;
    };
    return typeof payload.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// ---------------------------------------------------------------------------------------------------------
// Load.

interface LoadFigures {
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
}

interface LoadPlan {
  readonly scenario: string;
  readonly url: string;
  readonly durationS: number;
  readonly options: Omit<autocannon.Options, 'url' | 'duration' | 'connections' | 'requests'>;
  readonly request: autocannon.Request;
  /** Called with each 2xx body (not during warm-up). */
  readonly onSuccess?: (body: string) => void;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

function checkNotStopping(): void {
  if (stopping) throw new Error('stopping');
}

/** Announces the next phase, unless the run is stopping. */
function phase(text: string): void {
  checkNotStopping();
  say(text);
}

async function runLoad(plan: LoadPlan): Promise<LoadFigures> {
  checkNotStopping();
  const latencies: number[] = [];
  const samples: Record<string, string> = {};
  let instance: autocannon.Instance | undefined;
  const result = await new Promise<autocannon.Result>((done, fail) => {
    instance = autocannon(
      {
        ...plan.options,
        url: plan.url,
        connections: CONNECTIONS,
        duration: plan.durationS,
        timeout: 10,
        ...(RATE > 0 ? { overallRate: RATE } : {}),
        requests: [
          {
            ...plan.request,
            onResponse: (status, body) => {
              if (status >= 200 && status < 300) plan.onSuccess?.(body);
              else samples[String(status)] ??= body.slice(0, 300);
            },
          },
        ],
      },
      (error: unknown, finished) => {
        if (error) fail(error instanceof Error ? error : new Error(message(error)));
        else done(finished);
      },
    );
    currentLoad = instance;
    instance.on('response', (_client, status, _bytes, responseTime) => {
      if (status >= 200 && status < 300) latencies.push(responseTime);
    });
  });
  currentLoad = undefined;
  latencies.sort((a, b) => a - b);
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, stat.count ?? 0]),
  );
  const ok = result['2xx'];
  return {
    scenario: plan.scenario,
    connections: CONNECTIONS,
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
  };
}

async function warmUp(plan: LoadPlan): Promise<void> {
  if (WARMUP_S === 0) return;
  phase(`warm-up: ${plan.scenario}, ${CONNECTIONS} connections, ${WARMUP_S} s (not measured)`);
  await runLoad({ ...plan, durationS: WARMUP_S, onSuccess: undefined });
}

// ---------------------------------------------------------------------------------------------------------
// Event lag: a case's created_at (case-db) to its case_created row's received_at (audit-db), both stamped by
// the same Postgres server's clock.

interface LagFigures {
  readonly created: number;
  readonly arrived: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
  /** From the end of the create run until the audit log held every case (or the wait gave up). */
  readonly caught_up_after_ms: number | null;
}

interface AuditPage {
  items: { subject: string; received_at: string }[];
  next_cursor: string | null;
}

async function auditArrivals(gateway: string, token: string, since: string): Promise<Map<string, number>> {
  const arrivals = new Map<string, number>();
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ type: 'case_created', limit: '100', since });
    if (cursor) query.set('cursor', cursor);
    const response = await fetch(`${gateway}/v1/audit?${query.toString()}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`GET /v1/audit answered ${response.status}: ${text}`);
    const page = JSON.parse(text) as AuditPage;
    for (const item of page.items) {
      if (item.subject.startsWith('case:')) arrivals.set(item.subject.slice(5), Date.parse(item.received_at));
    }
    cursor = page.next_cursor;
  } while (cursor);
  return arrivals;
}

async function measureLag(
  gateway: string,
  token: string,
  created: ReadonlyMap<string, number>,
  since: string,
  loadEnded: number,
): Promise<LagFigures> {
  const deadline = Date.now() + LAG_TIMEOUT_S * 1000;
  let arrivals = new Map<string, number>();
  let caughtUp: number | null = null;
  for (;;) {
    checkNotStopping();
    arrivals = await auditArrivals(gateway, token, since);
    const missing = [...created.keys()].filter((id) => !arrivals.has(id)).length;
    if (missing === 0) {
      caughtUp = Date.now() - loadEnded;
      break;
    }
    if (Date.now() >= deadline) break;
    await sleep(500);
  }
  const lags = [...created]
    .filter(([id]) => arrivals.has(id))
    .map(([id, createdAt]) => arrivals.get(id)! - createdAt)
    .sort((a, b) => a - b);
  return {
    created: created.size,
    arrived: lags.length,
    p50_ms: percentile(lags, 50),
    p99_ms: percentile(lags, 99),
    max_ms: lags.at(-1) ?? Number.NaN,
    caught_up_after_ms: caughtUp,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The machine and the report.

function machine() {
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

const fmt = (value: number | null, digits = 1) =>
  value === null || Number.isNaN(value) ? '-' : value.toFixed(digits);

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

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const startedAt = new Date();
  const id = randomBytes(3).toString('hex');
  const prefix = `mrp_bench_${id}_`;
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
    for (const store of STORES) await dropDatabase(new URL(`/${prefix}${store}`, POSTGRES_URL).toString());
  });

  const claimToken = JSON.stringify({
    host: hostname(),
    pid: process.pid,
    run: id,
    at: startedAt.toISOString(),
  });
  const redisDb = await claimRedisDatabase(claimToken);
  onRelease('release the Redis database', () => releaseRedisDatabase(redisDb.index, claimToken));

  const ports: Record<string, number> = {};
  for (const name of PORT_NAMES) ports[name] = await freePort();
  const gateway = `http://127.0.0.1:${ports.GATEWAY_PORT!}`;
  say(
    `starting the platform: gateway ${gateway}, databases ${prefix}{${STORES.join(',')}}, ` +
      `Redis db ${redisDb.index}, log ${logFile}`,
  );
  const platformStart = Date.now();
  await startPlatform(
    ports,
    {
      DEV_STATE_DIR: stateDir,
      DEV_DATABASE_PREFIX: prefix,
      POSTGRES_URL,
      REDIS_URL: redisDb.url,
    },
    log,
  );
  say(`the platform is ready (${round((Date.now() - platformStart) / 1000)} s)`);

  const analyst = await login(gateway, 'analyst');
  const viewer = await login(gateway, 'viewer');
  const admin = await login(gateway, 'admin');
  const analystId = tokenSubject(analyst);
  const ownerId = analystId !== undefined && UUID.test(analystId) ? analystId : randomUUID();

  const list: LoadPlan = {
    scenario: 'GET /v1/cases?limit=1',
    url: `${gateway}/v1/cases?limit=1`,
    durationS: DURATION_S,
    options: { headers: { authorization: `Bearer ${viewer}` } },
    request: { method: 'GET' },
  };
  const created = new Map<string, number>();
  const malformed: string[] = [];
  const create: LoadPlan = {
    scenario: 'POST /v1/cases',
    url: `${gateway}/v1/cases`,
    durationS: DURATION_S,
    options: {
      method: 'POST',
      headers: { authorization: `Bearer ${analyst}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Bench', owner_id: ownerId }),
    },
    request: {
      method: 'POST',
      // A fresh Idempotency-Key per request: each one is a new case, never a replay.
      setupRequest: (request) => ({
        ...request,
        headers: { ...request.headers, 'idempotency-key': randomUUID() },
      }),
    },
    onSuccess: (body) => {
      try {
        const record = JSON.parse(body) as { id?: unknown; created_at?: unknown };
        if (typeof record.id === 'string' && typeof record.created_at === 'string')
          created.set(record.id, Date.parse(record.created_at));
        else malformed.push(body.slice(0, 200));
      } catch {
        malformed.push(body.slice(0, 200));
      }
    },
  };

  // Warm both paths first (JIT, connection pools, the JWKS cache); the create warm-up also leaves cases in
  // the table so that the baseline's page holds one.
  await warmUp(create);
  await warmUp(list);
  if (WARMUP_S > 0) {
    // The read warm-up may have emptied the gateway's token bucket: let it refill so every run starts alike.
    const bucket = RATE_LIMITS.gateway;
    await sleep(Math.ceil(bucket.maxTokens / bucket.tokensPerFill) * bucket.fillIntervalSeconds * 1000);
  }

  phase(`baseline: ${list.scenario}, ${CONNECTIONS} connections, ${DURATION_S} s`);
  const baseline = await runLoad(list);
  phase(`create: ${create.scenario}, ${CONNECTIONS} connections, ${DURATION_S} s`);
  const since = new Date(Date.now() - 1000).toISOString();
  const creation = await runLoad(create);
  const loadEnded = Date.now();

  phase(`waiting (at most ${LAG_TIMEOUT_S} s) until the audit log holds the ${created.size} created cases`);
  const lag = await measureLag(gateway, admin, created, since, loadEnded);

  const problems = [...problemsOf(baseline), ...problemsOf(creation)];
  if (malformed.length > 0)
    problems.push(
      `${create.scenario}: ${malformed.length} 2xx answers without id/created_at: ${malformed[0]!}`,
    );
  if (created.size !== creation.ok_2xx)
    problems.push(
      `${create.scenario}: ${creation.ok_2xx} answers were 2xx but ${created.size} distinct cases`,
    );
  if (lag.arrived < lag.created)
    problems.push(
      `event lag: only ${lag.arrived} of ${lag.created} case_created events reached the audit log in ${LAG_TIMEOUT_S} s`,
    );

  const ratio = baseline.rps > 0 ? round(creation.rps / baseline.rps, 3) : null;
  // What bounded the baseline's throughput, and so how to read the ratio.
  const baselineBound =
    (baseline.status_codes['429'] ?? 0) > 0
      ? 'gateway_rate_limit'
      : RATE > 0 && baseline.rps >= RATE * 0.95
        ? 'bench_rate'
        : 'platform';
  const ratioNote = {
    gateway_rate_limit:
      " (the baseline hit the gateway's rate limit: its real capacity is higher, so this is an upper bound)",
    bench_rate: ' (the baseline ran at the BENCH_RATE cap: this is create throughput over that cap)',
    platform: '',
  }[baselineBound];
  const host = machine();
  const rows = [
    ['scenario', 'req/s (2xx)', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', '2xx', 'non-2xx', 'errors'],
    ...[baseline, creation].map((load) => [
      load.scenario,
      fmt(load.rps),
      fmt(load.latency_ms.p50, 2),
      fmt(load.latency_ms.p95, 2),
      fmt(load.latency_ms.p99, 2),
      fmt(load.latency_ms.max, 2),
      String(load.ok_2xx),
      String(load.non_2xx),
      String(load.errors),
    ]),
  ];
  process.stdout.write(
    [
      '',
      `machine: ${host.cpu}, ${host.cores} cores, ${host.memory_gib} GiB, ${host.os}, Node ${host.node}, Envoy ${host.envoy}`,
      `load: ${CONNECTIONS} connections${RATE > 0 ? ` capped at ${RATE} req/s` : ''}, ${DURATION_S} s per ` +
        `scenario after a ${WARMUP_S} s warm-up, through Envoy`,
      '',
      table(rows),
      '',
      `create / baseline throughput: ${fmt(ratio, 3)}${ratioNote}`,
      `event lag (case created_at -> audit received_at): p50 ${fmt(lag.p50_ms, 0)} ms, p99 ${fmt(lag.p99_ms, 0)} ms, ` +
        `max ${fmt(lag.max_ms, 0)} ms; ${lag.arrived}/${lag.created} events arrived` +
        (lag.caught_up_after_ms === null
          ? ''
          : `, all within ${lag.caught_up_after_ms} ms of the load's end`),
      ...(problems.length > 0 ? ['', 'PROBLEMS:', ...problems.map((problem) => `  - ${problem}`)] : []),
      '',
    ].join('\n'),
  );
  process.stdout.write(
    `${JSON.stringify({
      bench: 'microservices-reference-platform',
      at: startedAt.toISOString(),
      ok: problems.length === 0,
      machine: host,
      settings: {
        connections: CONNECTIONS,
        duration_s: DURATION_S,
        warmup_s: WARMUP_S,
        rate_limit_rps: RATE > 0 ? RATE : null,
      },
      baseline,
      create: creation,
      create_to_baseline_ratio: ratio,
      baseline_bound: baselineBound,
      event_lag: lag,
      problems,
    })}\n`,
  );
  keepLog = problems.length > 0;
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
  if (!stopping) process.stderr.write(`[bench] ${message(error)}\n`);
  await finish(1);
});
