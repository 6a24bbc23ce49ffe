/**
 * A Postgres of the chaos run's own: a cluster made by initdb in a temporary folder, on a spare port, so
 * that the run can crash and restart it without touching the machine's shared server. Durable as a real one
 * (fsync on): a restart after an immediate shutdown recovers from the WAL, and every commit acknowledged
 * before the crash must still be there.
 *
 * Postgres refuses to run as root: as root, the cluster belongs to the `postgres` user and its programs run
 * as that user. Without initdb (no server binaries installed), `ChaosPostgres.create` returns undefined and
 * the run falls back to the shared server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/** The folder holding initdb and postgres: on PATH, else the newest of Debian's /usr/lib/postgresql/<v>/bin. */
function serverBinaries(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return join(onPath, '..');
  const debian = '/usr/lib/postgresql';
  if (!existsSync(debian)) return undefined;
  const versions = readdirSync(debian)
    .filter((version) => existsSync(join(debian, version, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(debian, versions[0], 'bin');
}

/** As root, the uid and gid of the `postgres` user; otherwise undefined (run as ourselves). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('running as root, but there is no postgres user');
  return { uid, gid };
}

async function accepts(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export class ChaosPostgres {
  readonly port: number;
  readonly #bin: string;
  readonly #dir: string;
  readonly #user: { uid: number; gid: number } | undefined;
  readonly #settings: Readonly<Record<string, string>>;
  #process: ChildProcess | undefined;

  private constructor(
    port: number,
    bin: string,
    dir: string,
    user: { uid: number; gid: number } | undefined,
    settings: Readonly<Record<string, string>>,
  ) {
    this.port = port;
    this.#bin = bin;
    this.#dir = dir;
    this.#user = user;
    this.#settings = settings;
  }

  /**
   * initdb's a cluster in a temporary folder; undefined when the server's programs are not installed.
   * `files` are written into the cluster's folder, owned by the server's user and readable by it only (a
   * TLS key must be); `settings` are further `-c` options, and may name those files by `{dir}`.
   */
  static create(
    port: number,
    options: {
      readonly files?: Readonly<Record<string, string>>;
      readonly settings?: Readonly<Record<string, string>>;
    } = {},
  ): ChaosPostgres | undefined {
    const bin = serverBinaries();
    if (!bin) return undefined;
    const user = serverUser();
    const dir = mkdtempSync(join(tmpdir(), 'mrp-chaos-pg-'));
    if (user) chownSync(dir, user.uid, user.gid);
    const init = spawnSync(
      join(bin, 'initdb'),
      ['--pgdata', join(dir, 'data'), '--username', 'postgres', '--auth', 'trust', '--encoding', 'UTF8'],
      { encoding: 'utf8', ...user },
    );
    if (init.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
    }
    for (const [name, content] of Object.entries(options.files ?? {})) {
      const file = join(dir, name);
      writeFileSync(file, content, { mode: 0o600 });
      if (user) chownSync(file, user.uid, user.gid);
    }
    const settings = Object.fromEntries(
      Object.entries(options.settings ?? {}).map(([key, value]) => [key, value.replaceAll('{dir}', dir)]),
    );
    return new ChaosPostgres(port, bin, dir, user, settings);
  }

  /** The maintenance database, as POSTGRES_URL names it for the dev runner. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Starts the server (recovering from its WAL after a crash) and waits until it accepts queries. */
  async start(): Promise<void> {
    const child = spawn(
      join(this.#bin, 'postgres'),
      [
        '-D',
        join(this.#dir, 'data'),
        '-p',
        String(this.port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${this.#dir}`,
        '-c',
        'max_connections=200',
        '-c',
        'fsync=on',
        '-c',
        'synchronous_commit=on',
        ...Object.entries(this.#settings).flatMap(([key, value]) => ['-c', `${key}=${value}`]),
      ],
      { stdio: 'ignore', ...this.#user },
    );
    child.once('error', () => undefined);
    this.#process = child;
    for (let attempt = 0; attempt < 300; attempt += 1) {
      if (await accepts(this.url)) return;
      if (child.exitCode !== null) break;
      await sleep(50);
    }
    throw new Error(`postgres did not start on port ${this.port}`);
  }

  /** An immediate shutdown (SIGQUIT): no checkpoint, every connection cut, as a crash would. */
  async crash(): Promise<void> {
    await this.#signal('SIGQUIT');
  }

  /** A fast shutdown, then the cluster's folder is removed. */
  async destroy(): Promise<void> {
    await this.#signal('SIGINT');
    rmSync(this.#dir, { recursive: true, force: true });
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill(signal);
    await exited;
  }
}
