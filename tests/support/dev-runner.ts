import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { dropDatabase } from '@mrp/platform';
import { freePort } from './ports.ts';
import { POSTGRES_URL } from './test-database.ts';

const root = resolve(import.meta.dirname, '..', '..');

export const DEV_PORT_NAMES = [
  'GATEWAY_PORT',
  'GATEWAY_ADMIN_PORT',
  'AUTH_SERVICE_PORT',
  'USER_SERVICE_PORT',
  'CASE_SERVICE_PORT',
  'SCORING_SERVICE_PORT',
  'AUDIT_TELEMETRY_SERVICE_PORT',
] as const;
export type DevPortName = (typeof DEV_PORT_NAMES)[number];

/**
 * `make dev` as a user runs it: scripts/dev.ts as real processes, on spare ports, with databases and a
 * state folder of its own that `stop` removes.
 */
export class DevRunner {
  readonly ports: Partial<Record<DevPortName, number>> = {};
  /** Everything the runner printed, its processes' output included. */
  output = '';
  exit: Promise<number | null> = Promise.resolve(null);
  #runner: ChildProcess | undefined;
  readonly #prefix = `mrp_test_dev_${randomBytes(3).toString('hex')}_`;
  readonly #stateDir = mkdtempSync(join(tmpdir(), 'mrp-dev-'));

  /** The runner's DEV_STATE_DIR: the rendered Envoy config, and auth-service's key directory `keys/`. */
  get stateDir(): string {
    return this.#stateDir;
  }

  get pid(): number {
    return this.#runner!.pid!;
  }

  get gateway(): string {
    return this.url('GATEWAY_PORT');
  }

  url(portName: DevPortName): string {
    return `http://127.0.0.1:${this.ports[portName]!}`;
  }

  isRunning(): boolean {
    return this.#runner !== undefined && this.#runner.exitCode === null && this.#runner.signalCode === null;
  }

  /** Starts the runner with `env` added and resolves once it says the platform is ready. */
  async start(env: Record<string, string> = {}): Promise<void> {
    for (const name of DEV_PORT_NAMES) this.ports[name] = await freePort();
    const runner = spawn(process.execPath, ['scripts/dev.ts'], {
      cwd: root,
      env: {
        ...process.env,
        ...Object.fromEntries(Object.entries(this.ports).map(([name, port]) => [name, String(port)])),
        DEV_STATE_DIR: this.#stateDir,
        DEV_DATABASE_PREFIX: this.#prefix,
        POSTGRES_URL,
        NO_COLOR: '1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#runner = runner;
    this.exit = new Promise((done) => {
      runner.once('exit', (code) => {
        done(code);
      });
    });
    await new Promise<void>((ready, fail) => {
      const timer = setTimeout(() => {
        fail(new Error(`not ready in time:\n${this.output}`));
      }, 80_000);
      const watch = (chunk: Buffer) => {
        this.output += chunk.toString();
        if (this.output.includes('the platform is ready')) {
          clearTimeout(timer);
          ready();
        }
      };
      runner.stdout.on('data', watch);
      runner.stderr.on('data', watch);
      void this.exit.then((code) => {
        clearTimeout(timer);
        fail(new Error(`dev runner exited with ${String(code)}:\n${this.output}`));
      });
    });
  }

  /** With DEV_LOG_FORMAT=json: the lines a process printed (each names its process in `service_name`). */
  logs(name: string): Record<string, unknown>[] {
    return this.output.split('\n').flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        return parsed.service_name === name ? [parsed] : [];
      } catch {
        return [];
      }
    });
  }

  /**
   * The pid of the runner's child whose command line contains `fragment` (Linux /proc); with `port`, the one
   * started with that PORT (replicas share their command line).
   */
  childPid(fragment: string, port?: number): number | undefined {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (parent !== this.pid) continue;
        if (
          readFileSync(`/proc/${entry}/cmdline`, 'utf8')
            .split('\0')
            .some((arg) => arg.includes(fragment)) &&
          (port === undefined ||
            readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`PORT=${port}`))
        )
          return Number(entry);
      } catch {
        // the process ended while it was being read
      }
    }
    return undefined;
  }

  /** Stops the runner (Ctrl-C, then SIGKILL after 20 s) and removes its databases and state. */
  async stop(): Promise<void> {
    if (this.isRunning()) {
      this.#runner!.kill('SIGINT');
      const stopped = await Promise.race([
        this.exit.then(() => true),
        new Promise<false>((done) => {
          setTimeout(() => {
            done(false);
          }, 20_000).unref();
        }),
      ]);
      if (!stopped) this.#runner!.kill('SIGKILL');
    }
    for (const store of ['user', 'case', 'audit'])
      await dropDatabase(new URL(`/${this.#prefix}${store}`, POSTGRES_URL).toString());
    rmSync(this.#stateDir, { recursive: true, force: true });
  }
}
