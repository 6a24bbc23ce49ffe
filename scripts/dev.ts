/**
 * `make dev`: the whole platform as local processes. Checks Postgres and Redis, creates the databases
 * and runs migrations, renders and validates the Envoy config, starts every service and Envoy with
 * prefixed readable logs, says where everything is once all are ready, restarts a process that exits
 * (with a back-off, as a kubelet would), and stops everything on Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  GATEWAY_PORTS,
  localTarget,
  missingApiDocsFiles,
  renderEnvoyConfig,
  SERVICE_REGISTRY,
  SERVICES,
  stageApiDocsAssets,
} from '@mrp/gateway';
import { createLogger, ensureDatabase, migrate } from '@mrp/platform';

const root = resolve(import.meta.dirname, '..');
/** Where dev state lives: the generated signing key and the rendered Envoy config. */
const devDir = resolve(root, process.env.DEV_STATE_DIR ?? '.dev');
/** Database names are this prefix plus the service's store (mrp_user, ...). */
const databasePrefix = process.env.DEV_DATABASE_PREFIX ?? 'mrp_';
const postgresUrl = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const rawLogs = process.env.DEV_LOG_FORMAT === 'json';
/** Where traces go (OTLP/HTTP): the services' SDKs and Envoy export there; nothing fails without it. */
const otlpEndpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318';
/**
 * Envoy logs every failed export, so it traces only when a collector was named; the services export to
 * the OTel default endpoint either way and stay quiet when nothing listens there.
 */
const gatewayTracing = process.env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined;
/** Loaded before each service's entry point: starts OpenTelemetry before the libraries it instruments. */
const TELEMETRY_PRELOAD = '@mrp/platform/telemetry/register';
/**
 * How the services run: `source` runs their TypeScript as is (type stripping); `compiled` runs the
 * JavaScript `tsc --build` writes to each package's dist/, as the images do (less memory, faster start).
 */
const runtime = process.env.DEV_RUNTIME ?? 'source';
/**
 * `together` (the default) starts every process at once; `staggered` starts each once the one before it
 * answers /readyz, so each starts as a lone pod does (a restart, a new replica): `make bench` times each
 * service's start that way.
 */
const startMode = process.env.DEV_START ?? 'together';
const color = process.stdout.isTTY && !process.env.NO_COLOR;

const paint = (code: number, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
const say = (text: string) => {
  process.stdout.write(`${paint(1, '[dev]')} ${text}\n`);
};

/** A service of this repository that exists and runs as a local process. */
interface LocalService {
  readonly name: string;
  /** For an extra replica (`case-service-2`), the service it is a replica of. */
  readonly replicaOf?: string;
  readonly port: number;
  readonly entry: string;
  readonly env: Record<string, string>;
  readonly database?: { readonly name: string; readonly migrations: string };
}

function databaseUrl(name: string): string {
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * The local port of a service: `<NAME>_PORT` (e.g. `AUTH_SERVICE_PORT`) when set, otherwise the port
 * from the gateway's single source of truth.
 */
function portOf(name: string): number {
  const service = SERVICES.find((candidate) => candidate.name === name);
  if (!service) throw new Error(`unknown service ${name}`);
  const override = process.env[`${name.toUpperCase().replace(/-/g, '_')}_PORT`];
  return override ? Number(override) : service.localPort;
}

const gatewayPort = Number(process.env.GATEWAY_PORT ?? GATEWAY_PORTS.listener);
const adminPort = Number(process.env.GATEWAY_ADMIN_PORT ?? GATEWAY_PORTS.admin);

const jwks = `http://127.0.0.1:${portOf('auth-service')}/.well-known/jwks.json`;

/**
 * What a service gets beyond what every service gets (the JWKS URL and Redis; with a database of its own,
 * its DATABASE_URL, the runner having migrated it): the addresses of the services it calls.
 */
const EXTRA_ENV: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'auth-service': {
    // The key directory a rotation works on (make rotate-key); current.pem is generated on first start.
    AUTH_KEYS_DIR: join(devDir, 'keys'),
    AUTH_KEYS_RELOAD_MS: process.env.AUTH_KEYS_RELOAD_MS ?? '2000',
    USER_SERVICE_URL: `http://127.0.0.1:${portOf('user-service')}`,
  },
  'case-service': {
    AUTH_TOKEN_URL: `http://127.0.0.1:${portOf('auth-service')}/internal/v1/token`,
    SCORING_SERVICE_URL: `http://127.0.0.1:${portOf('scoring-service')}`,
  },
};

/** Every service of services/registry.json, in its order (the order `DEV_START=staggered` starts them in). */
const SERVICES_TO_RUN: readonly LocalService[] = SERVICE_REGISTRY.map((service) => {
  const database = service.database === null ? undefined : `${databasePrefix}${service.database}`;
  return {
    name: service.name,
    port: portOf(service.name),
    entry: `services/${service.name}/src/main.ts`,
    env: {
      // Token revocations are published in Redis for every service (ADR 0021).
      AUTH_JWKS_URL: jwks,
      REDIS_URL: redisUrl,
      ...(database ? { DATABASE_URL: databaseUrl(database), MIGRATE_ON_START: 'false' } : {}),
      ...EXTRA_ENV[service.name],
    },
    ...(database ? { database: { name: database, migrations: `services/${service.name}/migrations` } } : {}),
  };
});

/**
 * `DEV_REPLICAS_<SERVICE>=N` (e.g. DEV_REPLICAS_CASE_SERVICE=2): N instances of that service behind the
 * gateway. The extra ones are named `<service>-2`, ... and listen on `<SERVICE>_PORT_2`, ... (default: the
 * first one's port plus 100 per replica). The gateway checks each instance's /readyz and balances over the
 * ready ones, and every instance drains for SHUTDOWN_DRAIN_MS on SIGTERM (3 s here unless set: longer than
 * the health check's interval plus its timeout, 2 s, so the gateway has stopped sending it requests before
 * it closes its connections, even on a busy machine): a rolling restart, one instance at a time, loses no
 * request.
 */
const REPLICAS: readonly LocalService[] = SERVICES_TO_RUN.flatMap((service) => {
  const variable = service.name.toUpperCase().replace(/-/g, '_');
  const count = Number(process.env[`DEV_REPLICAS_${variable}`] ?? '1');
  if (!Number.isInteger(count) || count < 1 || count > 9) {
    process.stderr.write(`[dev] DEV_REPLICAS_${variable} must be an integer from 1 to 9\n`);
    process.exit(2);
  }
  return Array.from({ length: count - 1 }, (_, index) => {
    const ordinal = index + 2;
    const port = Number(process.env[`${variable}_PORT_${ordinal}`] ?? service.port + 100 * (ordinal - 1));
    const { database: _database, ...rest } = service;
    return { ...rest, name: `${service.name}-${ordinal}`, replicaOf: service.name, port };
  });
});

/** Every service process the runner starts: one per service, and the extra replicas. */
const PROCESSES: readonly LocalService[] = [...SERVICES_TO_RUN, ...REPLICAS];

async function reachable(url: string, probe?: { send: string; expect: string }): Promise<string | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const socket = connect({ host: hostname, port: Number(port), timeout: 2000 });
    const fail = (reason: string) => {
      socket.destroy();
      done(reason);
    };
    socket.once('error', (error) => {
      fail(error.message);
    });
    socket.once('timeout', () => {
      fail('timed out');
    });
    socket.once('connect', () => {
      if (!probe) {
        socket.end();
        done(undefined);
        return;
      }
      socket.write(probe.send);
      socket.once('data', (data) => {
        socket.end();
        done(
          data.toString().startsWith(probe.expect)
            ? undefined
            : `unexpected answer ${JSON.stringify(data.toString())}`,
        );
      });
    });
  });
}

async function checkInfrastructure(): Promise<void> {
  const problems: string[] = [];
  if (runtime !== 'source' && runtime !== 'compiled') {
    problems.push(`DEV_RUNTIME is "${runtime}": it must be source (the default) or compiled.`);
  }
  if (startMode !== 'together' && startMode !== 'staggered') {
    problems.push(`DEV_START is "${startMode}": it must be together (the default) or staggered.`);
  }
  const pg = await reachable(postgresUrl);
  if (pg) {
    problems.push(
      `Postgres is not reachable at ${new URL(postgresUrl).host} (${pg}). Start it, e.g.:\n` +
        `    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n` +
        `  or point POSTGRES_URL at a server you have (postgres://user@host:port/postgres).`,
    );
  }
  const redis = await reachable(redisUrl, { send: 'PING\r\n', expect: '+PONG' });
  if (redis) {
    problems.push(
      `Redis is not reachable at ${new URL(redisUrl).host} (${redis}). Start it, e.g.:\n` +
        `    redis-server --daemonize yes --bind 127.0.0.1 --port 6379\n` +
        `  or point REDIS_URL at a server you have.`,
    );
  }
  if (problems.length > 0) {
    for (const problem of problems) process.stderr.write(`${paint(31, '[dev]')} ${problem}\n`);
    process.exit(1);
  }
}

async function prepareDatabases(): Promise<void> {
  const logger = createLogger({ serviceName: 'dev', level: 'warn' });
  for (const service of SERVICES_TO_RUN) {
    if (!service.database) continue;
    const url = databaseUrl(service.database.name);
    await ensureDatabase(url);
    const applied = await migrate(url, join(root, service.database.migrations), logger);
    say(
      `${service.database.name}: ${applied.length > 0 ? `applied ${applied.join(', ')}` : 'migrations up to date'}`,
    );
  }
}

/** The collector Envoy exports its spans to, from the OTLP endpoint (Envoy's STATIC clusters need an IP). */
function otlpCollector(): { host: string; port: number } {
  const url = new URL(otlpEndpoint);
  const host = url.hostname === 'localhost' ? '127.0.0.1' : url.hostname.replace(/^\[|\]$/g, '');
  return { host, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
}

function renderGateway(): string {
  mkdirSync(devDir, { recursive: true });
  // The API reference's files Envoy serves (/docs): Swagger UI's, copied from node_modules when missing.
  stageApiDocsAssets();
  const missing = missingApiDocsFiles();
  if (missing.length > 0) {
    process.stderr.write(
      `${paint(31, '[dev]')} the gateway's API reference files are missing: ${missing.join(', ')} (git checkout charts/gateway/files/docs)\n`,
    );
    process.exit(1);
  }
  const file = join(devDir, 'envoy.json');
  const servicePorts = Object.fromEntries(SERVICES.map((service) => [service.name, portOf(service.name)]));
  writeFileSync(
    file,
    JSON.stringify(
      renderEnvoyConfig(
        localTarget({
          listenerPort: gatewayPort,
          adminPort,
          servicePorts,
          otlpCollector: gatewayTracing ? otlpCollector() : undefined,
          replicaPorts: Object.fromEntries(
            SERVICES_TO_RUN.map((service) => [
              service.name,
              REPLICAS.filter((replica) => replica.replicaOf === service.name).map((replica) => replica.port),
            ]),
          ),
          // Tests of key rotation shorten Envoy's JWKS cache (seconds); the default is the production one.
          jwksCacheSeconds: process.env.DEV_GATEWAY_JWKS_CACHE_S
            ? Number(process.env.DEV_GATEWAY_JWKS_CACHE_S)
            : undefined,
          // A front end served by its own dev server (e.g. GATEWAY_CORS_ORIGINS=http://localhost:5173).
          corsAllowedOrigins: (process.env.GATEWAY_CORS_ORIGINS ?? '')
            .split(',')
            .map((origin) => origin.trim())
            .filter(Boolean),
        }),
      ),
      null,
      2,
    ),
  );
  const check = spawnSync('envoy', ['--mode', 'validate', '-c', file, '--log-level', 'error'], {
    encoding: 'utf8',
  });
  if (check.status !== 0) {
    process.stderr.write(
      `${paint(31, '[dev]')} the rendered Envoy config is invalid:\n${check.stdout}${check.stderr}\n`,
    );
    process.exit(1);
  }
  return file;
}

/**
 * With DEV_RUNTIME=compiled, `tsc --build` of the services about to start (which builds the libraries they
 * reference first): they then run what was just compiled, never a stale dist/.
 */
function compileServices(): void {
  if (runtime !== 'compiled') return;
  const started = performance.now();
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const projects = SERVICES_TO_RUN.map((service) => `services/${service.name}`);
  const result = spawnSync(process.execPath, [tsc, '--build', ...projects], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`${paint(31, '[dev]')} tsc --build failed: the services were not started\n`);
    process.exit(1);
  }
  say(`compiled with tsc --build in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * A service's command line, `[...flags, '--import', preload, entry]`: its TypeScript entry point, or with
 * DEV_RUNTIME=compiled tsc's JavaScript beside it (src/main.ts -> dist/src/main.js), with every @mrp
 * package resolved to its dist/ as well (the mrp-compiled condition of their exports), as its image does.
 */
function serviceCommand(service: LocalService): { command: string; args: string[] } {
  const compiled = runtime === 'compiled';
  // The images' flags (see the Dockerfile): one copy of each dual package (ADR 0027) in both runtimes;
  // compiled, also the footprint flag (1 MiB semi-spaces) and the @mrp packages' dist/.
  const flags = compiled
    ? ['--max-semi-space-size=1', '--conditions=require', '--conditions=mrp-compiled']
    : ['--conditions=require'];
  const entry = compiled ? service.entry.replace(/\/src\/(.+)\.ts$/, '/dist/src/$1.js') : service.entry;
  return { command: process.execPath, args: [...flags, '--import', TELEMETRY_PRELOAD, entry] };
}

const LEVEL_COLORS: Record<string, number> = { debug: 2, info: 0, warn: 33, error: 31, fatal: 31 };

/** One JSON log line as `time level message key=value...`; other lines pass through. */
function readable(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const {
      time,
      level,
      message,
      service_name: _service,
      ...fields
    } = JSON.parse(line) as Record<string, unknown>;
    const clock = typeof time === 'string' ? time.slice(11, 23) : '';
    const rest = Object.entries(fields)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    const label = typeof level === 'string' ? level : 'info';
    return `${paint(2, clock)} ${paint(LEVEL_COLORS[label] ?? 0, label.padEnd(5))} ${typeof message === 'string' ? message : ''} ${paint(2, rest)}`;
  } catch {
    return line;
  }
}

const children = new Map<string, ChildProcess>();
let stopping = false;

/**
 * What happens when a process exits on its own: `always` (the default) starts it again after a back-off,
 * as a kubelet restarts a container; `never` stops the whole platform, for debugging the first failure.
 */
const restartPolicy = process.env.DEV_RESTART ?? 'always';
/** The first restart waits this long; each further one twice as long, up to the cap (ms). */
const RESTART_BACKOFF_MS = 1000;
const RESTART_BACKOFF_MAX_MS = 30_000;
/** A process that ran this long before it exited starts its back-off from the beginning again (ms). */
const RESTART_BACKOFF_RESET_MS = 60_000;

/** A process the runner keeps running: how to start it, and its restarts so far. */
interface Supervised {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  readonly tint: number;
  restarts: number;
  startedAt: number;
  pendingRestart: NodeJS.Timeout | undefined;
}
const supervised = new Map<string, Supervised>();

function start(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  tint: number,
): void {
  const entry: Supervised = {
    name,
    command,
    args,
    env,
    tint,
    restarts: 0,
    startedAt: 0,
    pendingRestart: undefined,
  };
  supervised.set(name, entry);
  launch(entry);
}

function launch(supervisedProcess: Supervised): void {
  const { name, command, args, env, tint } = supervisedProcess;
  supervisedProcess.startedAt = Date.now();
  // JSON logs go straight to the runner's own stdout, so the runner does no work per log line (the
  // benchmark runs this way); readable logs are parsed and prefixed line by line.
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: rawLogs ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
  });
  children.set(name, child);
  const prefix = paint(tint, `${name.padEnd(13)}|`);
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      process.stdout.write(`${prefix} ${readable(line)}\n`);
    });
  }
  let ended = false;
  const onEnd = (reason: string) => {
    if (ended) return;
    ended = true;
    if (children.get(name) === child) children.delete(name);
    if (!stopping) exited(supervisedProcess, reason);
  };
  child.once('exit', (code, signal) => {
    onEnd(signal ?? `code ${String(code)}`);
  });
  // A command that cannot be started (not found, not executable) reports an error instead of an exit.
  child.once('error', (error) => {
    onEnd(`could not start: ${error.message}`);
  });
}

/** A process ended without being asked to: restart it after its back-off, or stop everything. */
function exited(supervisedProcess: Supervised, reason: string): void {
  const { name } = supervisedProcess;
  if (restartPolicy === 'never') {
    say(paint(31, `${name} exited (${reason}); stopping the platform (DEV_RESTART=never)`));
    void stopAll(1);
    return;
  }
  if (Date.now() - supervisedProcess.startedAt >= RESTART_BACKOFF_RESET_MS) supervisedProcess.restarts = 0;
  const delay = Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_MS * 2 ** supervisedProcess.restarts);
  supervisedProcess.restarts += 1;
  say(
    paint(
      31,
      `${name} exited (${reason}); restarting it in ${(delay / 1000).toFixed(1)} s ` +
        `(restart ${supervisedProcess.restarts}; DEV_RESTART=never stops the platform instead)`,
    ),
  );
  supervisedProcess.pendingRestart = setTimeout(() => {
    supervisedProcess.pendingRestart = undefined;
    if (stopping) return;
    say(`starting ${name} again`);
    launch(supervisedProcess);
  }, delay);
}

async function stopAll(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('stopping...');
  for (const { pendingRestart } of supervised.values()) clearTimeout(pendingRestart);
  const exits = [...children.values()].map(
    (child) =>
      new Promise<void>((done) => {
        child.once('exit', () => {
          done();
        });
        child.kill('SIGTERM');
      }),
  );
  await Promise.race([Promise.all(exits), sleep(10_000)]);
  for (const child of children.values()) child.kill('SIGKILL');
  say('stopped');
  process.exit(exitCode);
}

async function waitUntil(name: string, url: string, attempts = 150): Promise<void> {
  for (let attempt = 0; attempt < attempts && !stopping; attempt += 1) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await sleep(200);
  }
  throw new Error(`${name} did not become ready at ${url}`);
}

// ---- Per-service node flags (`make bench` profiles case-service this way) ----------------------------------
/**
 * `DEV_NODE_FLAGS_<SERVICE>`, e.g. DEV_NODE_FLAGS_CASE_SERVICE="--cpu-prof --cpu-prof-dir=/tmp/p": extra node
 * flags for that one service's process, split on whitespace, placed before all others.
 */
function extraNodeFlags(name: string): string[] {
  const flags = process.env[`DEV_NODE_FLAGS_${name.toUpperCase().replace(/-/g, '_')}`]?.trim();
  return flags ? flags.split(/\s+/) : [];
}
// ---- end of per-service node flags -------------------------------------------------------------------------

async function main(): Promise<void> {
  await checkInfrastructure();
  await prepareDatabases();
  compileServices();
  const envoyConfig = renderGateway();
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));

  const tints = [36, 35, 34, 32, 33];
  for (const service of PROCESSES) {
    const base = service.replicaOf ?? service.name;
    const { command, args } = serviceCommand(service);
    start(
      service.name,
      command,
      [...extraNodeFlags(base), ...args],
      {
        APP_ENV: 'development',
        // As in the images: glibc returns freed large blocks (argon2's 19 MiB) instead of keeping them.
        MALLOC_MMAP_THRESHOLD_: '131072',
        PORT: String(service.port),
        OTEL_SERVICE_NAME: base,
        OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
        // With replicas, a stopping instance stays up (failing /readyz) until the gateway's health check
        // has taken it out.
        ...(REPLICAS.length > 0 ? { SHUTDOWN_DRAIN_MS: process.env.SHUTDOWN_DRAIN_MS ?? '3000' } : {}),
        ...service.env,
      },
      tints[SERVICES_TO_RUN.findIndex((each) => each.name === base)] ?? 0,
    );
    if (startMode === 'staggered') await waitUntil(service.name, `http://127.0.0.1:${service.port}/readyz`);
  }
  start(
    'gateway',
    'envoy',
    // No hot restart: Envoy then keeps no shared memory, so a restarted Envoy never trips over what a
    // killed one left, and several runners on one machine need no distinct --base-id.
    ['-c', envoyConfig, '--log-level', 'warn', '--disable-hot-restart'],
    {},
    32,
  );

  await Promise.all([
    ...PROCESSES.map((service) => waitUntil(service.name, `http://127.0.0.1:${service.port}/readyz`)),
    waitUntil('gateway', `http://127.0.0.1:${adminPort}/ready`),
    waitUntil('gateway', `http://127.0.0.1:${gatewayPort}/healthz`),
  ]);
  const notRunning = SERVICES.filter(
    (service) => !SERVICES_TO_RUN.some((local) => local.name === service.name),
  );
  say(
    [
      paint(32, 'the platform is ready'),
      `  gateway (Envoy)          http://localhost:${gatewayPort}   admin http://127.0.0.1:${adminPort}`,
      `  API reference            http://localhost:${gatewayPort}/docs   (/openapi.json: every routed operation)`,
      ...PROCESSES.map(
        (service) =>
          `  ${service.name.padEnd(24)} http://127.0.0.1:${service.port}   (/healthz /readyz /metrics /openapi.json)`,
      ),
      ...(notRunning.length > 0
        ? [
            `  not built yet (the gateway answers 503): ${notRunning.map((service) => service.name).join(', ')}`,
          ]
        : []),
      '  dev users: admin@example.com/admin123, analyst@example.com/analyst123, viewer@example.com/viewer123',
      `  try: curl -X POST http://localhost:${gatewayPort}/v1/auth/login -d "username=admin@example.com&password=admin123"`,
      `  traffic for the dashboards and traces: make traffic${gatewayPort === 8080 ? '' : ` GATEWAY_URL=http://localhost:${gatewayPort}`}`,
      '  Ctrl-C stops everything.',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${paint(31, '[dev]')} ${error instanceof Error ? error.message : String(error)}\n`);
  void stopAll(1);
});
