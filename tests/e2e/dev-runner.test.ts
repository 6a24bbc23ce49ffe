import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { dropDatabase } from '@mrp/platform';
import { eventually } from '../support/eventually.ts';
import { request } from '../support/http.ts';
import { freePort } from '../support/ports.ts';
import { login } from '../support/platform.ts';
import { POSTGRES_URL } from '../support/test-database.ts';

const root = resolve(import.meta.dirname, '..', '..');

const PORT_NAMES = [
  'GATEWAY_PORT',
  'GATEWAY_ADMIN_PORT',
  'AUTH_SERVICE_PORT',
  'USER_SERVICE_PORT',
  'CASE_SERVICE_PORT',
  'SCORING_SERVICE_PORT',
  'AUDIT_TELEMETRY_SERVICE_PORT',
] as const;

/** `make dev` as a user runs it (the same script, as real processes), on spare ports and its own databases. */
class DevRunner {
  readonly ports: Record<string, number> = {};
  output = '';
  exit: Promise<number | null> = Promise.resolve(null);
  #runner: ChildProcess | undefined;
  readonly #prefix = `mrp_test_dev_${randomBytes(3).toString('hex')}_`;
  readonly #stateDir = mkdtempSync(join(tmpdir(), 'mrp-dev-'));

  get pid(): number {
    return this.#runner!.pid!;
  }

  isRunning(): boolean {
    return this.#runner !== undefined && this.#runner.exitCode === null && this.#runner.signalCode === null;
  }

  url(portName: (typeof PORT_NAMES)[number]): string {
    return `http://127.0.0.1:${this.ports[portName]!}`;
  }

  async start(env: Record<string, string> = {}): Promise<void> {
    for (const name of PORT_NAMES) this.ports[name] = await freePort();
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

  /** The pid of the runner's child whose command line contains `fragment` (Linux /proc). */
  childPid(fragment: string): number | undefined {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (parent !== this.pid) continue;
        if (
          readFileSync(`/proc/${entry}/cmdline`, 'utf8')
            .split('\0')
            .some((arg) => arg.includes(fragment))
        )
          return Number(entry);
      } catch {
        // the process ended while it was being read
      }
    }
    return undefined;
  }

  async cleanup(): Promise<void> {
    if (this.isRunning()) {
      this.#runner!.kill('SIGINT');
      await Promise.race([this.exit, new Promise((done) => setTimeout(done, 15_000).unref())]);
      if (this.isRunning()) this.#runner!.kill('SIGKILL');
    }
    for (const store of ['user', 'case', 'audit'])
      await dropDatabase(new URL(`/${this.#prefix}${store}`, POSTGRES_URL).toString());
    rmSync(this.#stateDir, { recursive: true, force: true });
  }
}

const answers = async (url: string): Promise<boolean> =>
  fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    (response) => response.ok,
    () => false,
  );

describe('the dev runner (scripts/dev.ts)', () => {
  const dev = new DevRunner();

  before(async function () {
    this.timeout(90_000);
    await dev.start();
  });

  after(async function () {
    this.timeout(30_000);
    await dev.cleanup();
  });

  it('serves the login and create-user flow through its Envoy, with prefixed logs from every process', async () => {
    const gateway = dev.url('GATEWAY_PORT');
    const token = await login(gateway, 'admin');
    const created = await request(`${gateway}/v1/users`, {
      method: 'POST',
      token,
      json: { email: 'new@example.com', role: 'viewer', full_name: 'New User' },
    });
    expect(created.status, created.text).to.equal(201);
    expect(dev.output)
      .to.match(/^auth-service +\| /m)
      .and.to.match(/^user-service +\| /m)
      .and.to.match(/^gateway +\| /m);
  });

  it('starts a service killed with SIGKILL again after its back-off, and the platform keeps running', async function () {
    this.timeout(60_000);
    const killed = dev.childPid('services/case-service/');
    expect(killed, 'the case-service process').to.be.a('number');
    process.kill(killed!, 'SIGKILL');
    await eventually(() => {
      expect(dev.output).to.match(/case-service exited \(SIGKILL\); restarting it in 1\.0 s \(restart 1;/);
    }, 100);
    await eventually(async () => {
      const restarted = dev.childPid('services/case-service/');
      expect(restarted, 'a new case-service process').to.be.a('number').and.not.equal(killed);
      expect(await answers(`${dev.url('CASE_SERVICE_PORT')}/readyz`), 'case-service ready').to.equal(true);
    }, 150);
    const gateway = dev.url('GATEWAY_PORT');
    const listed = await request(`${gateway}/v1/cases?limit=1`, { token: await login(gateway, 'viewer') });
    expect(listed.status, listed.text).to.equal(200);
    expect(dev.isRunning(), 'the runner').to.equal(true);
  });

  it('starts Envoy again when it is killed, and the gateway answers again', async function () {
    this.timeout(60_000);
    const killed = dev.childPid('envoy.json');
    expect(killed, 'the Envoy process').to.be.a('number');
    process.kill(killed!, 'SIGKILL');
    await eventually(() => {
      expect(dev.output).to.match(/gateway exited \(SIGKILL\); restarting it in/);
    }, 100);
    await eventually(async () => {
      expect(await answers(`${dev.url('GATEWAY_PORT')}/healthz`), 'the gateway').to.equal(true);
    }, 150);
    expect(dev.isRunning(), 'the runner').to.equal(true);
  });

  it('stops every process cleanly on Ctrl-C (SIGINT) and exits 0', async function () {
    this.timeout(20_000);
    process.kill(dev.pid, 'SIGINT');
    expect(await dev.exit).to.equal(0);
    for (const name of [
      'GATEWAY_PORT',
      'AUTH_SERVICE_PORT',
      'USER_SERVICE_PORT',
      'CASE_SERVICE_PORT',
    ] as const) {
      expect(await answers(`${dev.url(name)}/healthz`), `${name} still answers`).to.equal(false);
    }
  });
});

describe('the dev runner with DEV_RESTART=never', () => {
  const dev = new DevRunner();

  before(async function () {
    this.timeout(90_000);
    await dev.start({ DEV_RESTART: 'never' });
  });

  after(async function () {
    this.timeout(30_000);
    await dev.cleanup();
  });

  it('stops the whole platform, exit code 1, when one process exits', async function () {
    this.timeout(30_000);
    const killed = dev.childPid('services/auth-service/');
    expect(killed, 'the auth-service process').to.be.a('number');
    process.kill(killed!, 'SIGKILL');
    expect(await dev.exit).to.equal(1);
    expect(dev.output).to.include('auth-service exited (SIGKILL); stopping the platform (DEV_RESTART=never)');
    expect(await answers(`${dev.url('GATEWAY_PORT')}/healthz`), 'the gateway').to.equal(false);
  });
});
