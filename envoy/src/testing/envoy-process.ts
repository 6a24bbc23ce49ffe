import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { API_DOCS } from '../gateway.ts';
import { LOCAL_API_DOCS_DIRECTORY } from '../render-envoy-config.ts';
import { setTimeout as sleep } from 'node:timers/promises';

/** One access-log line as Envoy wrote it (the gateway logs JSON objects). */
export type AccessLogEntry = Readonly<Record<string, unknown>>;

export interface StartEnvoyOptions {
  /** The Envoy v3 bootstrap, e.g. from `renderEnvoyConfig`. */
  readonly config: object;
  /** How long Envoy may take to report LIVE on its admin `/ready`. */
  readonly readyTimeoutMs?: number;
  readonly logLevel?: string;
  /** Worker threads; two by default, so cross-worker behaviour (shared buckets) is exercised. */
  readonly concurrency?: number;
  /** Access logs are flushed this often, so tests see them promptly (Envoy's default is 10 s). */
  readonly logFlushIntervalMs?: number;
  /** The Envoy executable; `envoy` from PATH by default. */
  readonly binary?: string;
}

/** A running Envoy started by `startEnvoy`. */
export interface EnvoyProcess {
  readonly pid: number;
  /** `http://<admin address>:<admin port>`, read from the config. */
  readonly adminUrl: string;
  /** Access-log lines received so far, parsed. */
  accessLog(): readonly AccessLogEntry[];
  /** Resolves with the first access-log entry matching `predicate`, waiting for it if needed. */
  waitForAccessLog(
    predicate: (entry: AccessLogEntry) => boolean,
    timeoutMs?: number,
  ): Promise<AccessLogEntry>;
  /** Everything Envoy wrote to stderr (its own log). */
  stderr(): string;
  /** Sends SIGTERM and resolves once Envoy has exited (SIGKILL if it does not within a few seconds). */
  stop(): Promise<void>;
}

export interface ValidationResult {
  readonly exitCode: number;
  /** stdout and stderr together. */
  readonly output: string;
}

let started = 0;

/** A `--base-id` no other Envoy started by this test process (or, very likely, any other) uses. */
function uniqueBaseId(): number {
  started += 1;
  return ((process.pid % 40_000) * 100 + (started % 100)) >>> 0;
}

/**
 * Writes `config` for an Envoy of this machine. A container's config names the API reference's files where
 * the container has them (API_DOCS.containerDirectory); here Envoy reads them from this checkout.
 */
async function writeConfig(config: object): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mrp-envoy-'));
  const file = join(dir, 'envoy.json');
  const text = JSON.stringify(config, null, 2).replaceAll(
    `"${API_DOCS.containerDirectory}/`,
    `"${LOCAL_API_DOCS_DIRECTORY}/`,
  );
  await writeFile(file, text);
  return { dir, file };
}

function adminUrlOf(config: object): string {
  const socket = (
    config as { admin?: { address?: { socket_address?: { address?: unknown; port_value?: unknown } } } }
  ).admin?.address?.socket_address;
  if (typeof socket?.address !== 'string' || typeof socket.port_value !== 'number') {
    throw new Error('the Envoy config has no admin.address.socket_address with an address and port_value');
  }
  const host = socket.address.includes(':') ? `[${socket.address}]` : socket.address;
  return `http://${host}:${socket.port_value}`;
}

async function isLive(adminUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${adminUrl}/ready`, { signal: AbortSignal.timeout(1000) });
    return response.status === 200 && (await response.text()).trim() === 'LIVE';
  } catch {
    return false;
  }
}

/**
 * Starts the real Envoy with `config` and resolves once its admin interface reports LIVE. Rejects with
 * Envoy's stderr if it exits or does not become ready in time (and leaves no process behind).
 */
export async function startEnvoy(options: StartEnvoyOptions): Promise<EnvoyProcess> {
  const adminUrl = adminUrlOf(options.config);
  const { dir, file } = await writeConfig(options.config);
  const args = [
    '-c',
    file,
    '--base-id',
    String(uniqueBaseId()),
    '--disable-hot-restart',
    '--log-level',
    options.logLevel ?? 'warn',
    '--concurrency',
    String(options.concurrency ?? 2),
    '--file-flush-interval-msec',
    String(options.logFlushIntervalMs ?? 50),
  ];
  const child = spawn(options.binary ?? 'envoy', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // An Envoy must not outlive the test run that started it, even when the run is interrupted.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });

  const entries: AccessLogEntry[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
        entries.push(parsed as AccessLogEntry);
    } catch {
      // Not an access-log line; Envoy's own log goes to stderr, so there is nothing to keep.
    }
    for (const wake of waiters) wake();
  });

  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    });
    child.once('error', (error) => {
      spawnError = error;
      resolve();
    });
  });

  const cleanUp = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    await rm(dir, { recursive: true, force: true });
  };

  const stop = async (): Promise<void> => {
    if (exit === undefined && spawnError === undefined) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    await cleanUp();
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 15_000);
  for (;;) {
    if (spawnError !== undefined) {
      await cleanUp();
      throw new Error(`could not start ${options.binary ?? 'envoy'}: ${spawnError.message}`);
    }
    if (exit !== undefined) {
      await cleanUp();
      throw new Error(
        `envoy exited (code ${exit.code}, signal ${exit.signal}) before it was ready:\n${stderr}`,
      );
    }
    if (await isLive(adminUrl)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `envoy was not LIVE at ${adminUrl}/ready within ${options.readyTimeoutMs ?? 15_000} ms:\n${stderr}`,
      );
    }
    await sleep(50);
  }

  return {
    pid: child.pid!,
    adminUrl,
    accessLog: () => [...entries],
    waitForAccessLog: async (predicate, timeoutMs = 5000) => {
      const found = (): AccessLogEntry | undefined => entries.find(predicate);
      const already = found();
      if (already) return already;
      return new Promise<AccessLogEntry>((resolve, reject) => {
        const wake = (): void => {
          const entry = found();
          if (!entry) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(entry);
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(
            new Error(`no matching access-log entry within ${timeoutMs} ms (${entries.length} entries seen)`),
          );
        }, timeoutMs);
        waiters.add(wake);
      });
    },
    stderr: () => stderr,
    stop,
  };
}

/** Runs `envoy --mode validate` on `config`: exit code 0 means Envoy accepts it as a whole. */
export async function validateEnvoyConfig(config: object, binary = 'envoy'): Promise<ValidationResult> {
  const { dir, file } = await writeConfig(config);
  try {
    return await new Promise<ValidationResult>((resolve, reject) => {
      const child = spawn(
        binary,
        ['--mode', 'validate', '-c', file, '--log-level', 'warn', '--disable-hot-restart'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      child.once('error', reject);
      child.once('close', (code, signal) => {
        resolve({ exitCode: code ?? (signal ? 128 : 1), output });
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Ports handed out below the kernel's ephemeral range (32768 and up on Linux): a port the kernel picks
 * for "port 0" comes from that range, where any outgoing connection may take it before the test's server
 * binds it; below it, only another listener can.
 */
const FREE_PORT_RANGE = { from: 20_000, to: 32_000 } as const;

async function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, host, () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/**
 * Ports this process has handed out: a port is free until its user binds it, so two callers asking one
 * after the other (a gateway and a service of the same platform) could otherwise be given the same one.
 */
const handedOut = new Set<number>();

/**
 * A TCP port that was free a moment ago on `host`, chosen at random outside the ephemeral range, and never
 * one this process has handed out before.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port =
      FREE_PORT_RANGE.from + Math.floor(Math.random() * (FREE_PORT_RANGE.to - FREE_PORT_RANGE.from));
    if (handedOut.has(port)) continue;
    if (await bindable(port, host)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${FREE_PORT_RANGE.from} and ${FREE_PORT_RANGE.to} on ${host}`);
}

/** A self-signed certificate for 127.0.0.1 and localhost (EC P-256, one day), for tests of TLS. */
export interface TestCertificate {
  readonly certificateFile: string;
  readonly privateKeyFile: string;
  /** The certificate itself (PEM): a client trusts it as its CA. */
  readonly pem: string;
  readonly remove: () => Promise<void>;
}

/** Makes a TestCertificate with the openssl command line tool. */
export async function createTestCertificate(): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'mrp-tls-'));
  const certificateFile = join(dir, 'tls.crt');
  const privateKeyFile = join(dir, 'tls.key');
  await new Promise<void>((resolve, reject) => {
    const openssl = spawn(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        privateKeyFile,
        '-out',
        certificateFile,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    openssl.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    openssl.on('error', reject);
    openssl.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`openssl exited ${code}: ${stderr}`));
    });
  });
  return {
    certificateFile,
    privateKeyFile,
    pem: await readFile(certificateFile, 'utf8'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
