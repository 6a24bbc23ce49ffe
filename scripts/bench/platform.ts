/**
 * The platform under load: scripts/dev.ts started as `make dev` would, on the run's own ports and stores,
 * with the time each service took to answer /readyz.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { killGroup, onRelease, say, trackGroup, withDeadline } from './lifecycle.ts';
import { firstOk, freePort } from './net.ts';
import { platformPids, processStartedAt } from './process-stats.ts';
import { READY_TIMEOUT_S, ROOT, RUNTIME, SERVICE_NAMES, portVariable } from './settings.ts';

export { SERVICE_NAMES };

const PORT_NAMES = ['GATEWAY_PORT', 'GATEWAY_ADMIN_PORT', ...SERVICE_NAMES.map(portVariable)];
/** Every port the platform's run listens on, by the variable dev.ts reads it from. */
export type Ports = Readonly<Record<string, number>> & { GATEWAY_PORT: number; GATEWAY_ADMIN_PORT: number };

/** How often each service's /readyz is asked while the platform starts (the resolution of ready_ms). */
const READY_POLL_MS = 25;

export interface Platform {
  readonly runnerPid: number;
  readonly gateway: string;
  /** From the runner's start to its "the platform is ready" line. */
  readonly readyMs: number;
  /** From the runner's start to each service's first 200 on /readyz (and Envoy's on its admin /ready). */
  readonly serviceReadyMs: Readonly<Record<string, number | null>>;
  /** Per process, from its own start (its /proc start time) to its first ready answer (ms). */
  readonly readyAfterSpawnMs: Readonly<Record<string, number | null>>;
  /** Stops the platform (SIGINT to the runner, which stops every service with SIGTERM); idempotent. */
  readonly stop: () => Promise<void>;
}

export async function freePorts(): Promise<Ports> {
  const ports: Record<string, number> = {};
  for (const name of PORT_NAMES) ports[name] = await freePort();
  return { ...ports, GATEWAY_PORT: ports.GATEWAY_PORT!, GATEWAY_ADMIN_PORT: ports.GATEWAY_ADMIN_PORT! };
}

function readinessUrls(ports: Ports): [string, string][] {
  return [
    ...SERVICE_NAMES.map((name): [string, string] => [
      name,
      `http://127.0.0.1:${ports[portVariable(name)]}/readyz`,
    ]),
    ['envoy', `http://127.0.0.1:${ports.GATEWAY_ADMIN_PORT}/ready`],
  ];
}

function spawnRunner(ports: Ports, env: Readonly<Record<string, string | undefined>>): ChildProcess {
  const child = spawn(process.execPath, ['scripts/dev.ts'], {
    cwd: ROOT,
    // An undefined value leaves the variable out (spawn skips it): a sampler without an argument must not
    // inherit the caller's OTEL_TRACES_SAMPLER_ARG.
    env: {
      ...process.env,
      ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])),
      ...env,
      NO_COLOR: '1',
      DEV_LOG_FORMAT: 'json',
      DEV_RUNTIME: RUNTIME,
      // Each service starts once the one before it is ready, so its time to ready is its own start's, as a
      // lone pod's (a restart, a new replica), not five processes sharing the machine's cores.
      DEV_START: 'staggered',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C reaches only this script, which stops the platform in order, and the
    // whole group (the runner, every service and Envoy) can be killed if the runner does not stop.
    detached: true,
  });
  trackGroup(child);
  return child;
}

function stopper(child: ChildProcess, exited: Promise<void>): () => Promise<void> {
  let stopped: Promise<void> | undefined;
  return () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        say('stopping the platform');
        process.kill(child.pid, 'SIGINT');
        await Promise.race([exited, sleep(20_000)]);
      }
      killGroup(child);
    })();
    return stopped;
  };
}

/** Resolves when the runner says the platform is ready; fails if it exits first. Its output goes to `log`. */
function runnerReady(child: ChildProcess, exited: Promise<void>, log: WriteStream): Promise<void> {
  let ready = false;
  /** The runner's last lines, shown when it does not get ready. */
  const tail: string[] = [];
  const lastLines = () => tail.map((line) => `  | ${line}`).join('\n');
  const readiness = new Promise<void>((done, fail) => {
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
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
  return withDeadline(
    readiness,
    READY_TIMEOUT_S * 1000,
    () => `the platform was not ready in ${READY_TIMEOUT_S} s:\n${lastLines()}`,
  );
}

/**
 * How long each process took from its own start to its first ready answer: what a readiness probe sees,
 * without the runner's own preparation (databases, migrations, Envoy's config, tsc) before it.
 */
function readyAfterSpawn(
  runnerPid: number,
  answeredAt: ReadonlyMap<string, number>,
): Record<string, number | null> {
  const pids = platformPids(runnerPid);
  return Object.fromEntries(
    [...answeredAt.keys()].map((name) => {
      const pid = pids.get(name);
      const started = pid === undefined ? undefined : processStartedAt(pid);
      const answered = answeredAt.get(name)!;
      return [name, started === undefined ? null : Math.max(0, Math.round(answered - started))];
    }),
  );
}

/** Starts scripts/dev.ts on the given ports with `env` added, and waits until it is ready. */
export async function startPlatform(
  ports: Ports,
  env: Readonly<Record<string, string | undefined>>,
  log: WriteStream,
): Promise<Platform> {
  const startedAt = performance.now();
  const child = spawnRunner(ports, env);
  const exited = new Promise<void>((done) => {
    child.once('exit', () => {
      done();
    });
  });
  const stop = stopper(child, exited);
  onRelease('stop the platform', stop);

  let givenUp = false;
  const giveUp = () => givenUp || child.exitCode !== null || child.signalCode !== null;
  const answeredAt = new Map<string, number>();
  const polls = readinessUrls(ports).map(async ([name, url]): Promise<[string, number | null]> => {
    const at = await firstOk(url, READY_POLL_MS, giveUp);
    if (at !== undefined) answeredAt.set(name, performance.timeOrigin + at);
    return [name, at === undefined ? null : Math.round(at - startedAt)];
  });
  try {
    await runnerReady(child, exited, log);
  } finally {
    // The runner polls less often than this script, so its ready line normally comes after every answer.
    setTimeout(() => {
      givenUp = true;
    }, 2000).unref();
  }
  const readyMs = Math.round(performance.now() - startedAt);
  const serviceReadyMs = Object.fromEntries(await Promise.all(polls));
  return {
    runnerPid: child.pid!,
    gateway: `http://127.0.0.1:${ports.GATEWAY_PORT}`,
    readyMs,
    serviceReadyMs,
    readyAfterSpawnMs: readyAfterSpawn(child.pid!, answeredAt),
    stop,
  };
}
