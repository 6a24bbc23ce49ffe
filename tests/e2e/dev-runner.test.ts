import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { dropDatabase } from '@mrp/platform';
import { request } from '../support/http.ts';
import { freePort } from '../support/ports.ts';
import { login } from '../support/platform.ts';
import { POSTGRES_URL } from '../support/test-database.ts';

const root = resolve(import.meta.dirname, '..', '..');

/** `make dev` as a user runs it (the same script, as real processes), on spare ports and its own database. */
describe('the dev runner (scripts/dev.ts)', () => {
  let runner: ChildProcess;
  let output = '';
  let exit: Promise<number | null>;
  const prefix = `mrp_test_dev_${randomBytes(3).toString('hex')}_`;
  const stateDir = mkdtempSync(join(tmpdir(), 'mrp-dev-'));
  const ports: Record<string, number> = {};

  before(async function () {
    this.timeout(90_000);
    for (const name of [
      'GATEWAY_PORT',
      'GATEWAY_ADMIN_PORT',
      'AUTH_SERVICE_PORT',
      'USER_SERVICE_PORT',
      'CASE_SERVICE_PORT',
      'SCORING_SERVICE_PORT',
      'AUDIT_TELEMETRY_SERVICE_PORT',
    ]) {
      ports[name] = await freePort();
    }
    runner = spawn(process.execPath, ['scripts/dev.ts'], {
      cwd: root,
      env: {
        ...process.env,
        ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])),
        DEV_STATE_DIR: stateDir,
        DEV_DATABASE_PREFIX: prefix,
        POSTGRES_URL,
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exit = new Promise((done) => {
      runner.once('exit', (code) => {
        done(code);
      });
    });
    await new Promise<void>((ready, fail) => {
      const timer = setTimeout(() => {
        fail(new Error(`not ready in time:\n${output}`));
      }, 80_000);
      const watch = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('the platform is ready')) {
          clearTimeout(timer);
          ready();
        }
      };
      runner.stdout!.on('data', watch);
      runner.stderr!.on('data', watch);
      void exit.then((code) => {
        fail(new Error(`dev runner exited with ${String(code)}:\n${output}`));
      });
    });
  });

  after(async () => {
    if (runner.exitCode === null) runner.kill('SIGKILL');
    for (const store of ['user', 'case', 'audit'])
      await dropDatabase(new URL(`/${prefix}${store}`, POSTGRES_URL).toString());
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('serves the login and create-user flow through its Envoy, with prefixed logs from every process', async () => {
    const gateway = `http://127.0.0.1:${ports.GATEWAY_PORT!}`;
    const token = await login(gateway, 'admin');
    const created = await request(`${gateway}/v1/users`, {
      method: 'POST',
      token,
      json: { email: 'new@example.com', role: 'viewer', full_name: 'New User' },
    });
    expect(created.status, created.text).to.equal(201);
    expect(output)
      .to.match(/^auth-service +\| /m)
      .and.to.match(/^user-service +\| /m)
      .and.to.match(/^gateway +\| /m);
  });

  it('stops every process cleanly on Ctrl-C (SIGINT) and exits 0', async function () {
    this.timeout(20_000);
    runner.kill('SIGINT');
    expect(await exit).to.equal(0);
    for (const name of ['GATEWAY_PORT', 'AUTH_SERVICE_PORT', 'USER_SERVICE_PORT']) {
      const refused = await fetch(`http://127.0.0.1:${ports[name]!}/healthz`).then(
        () => false,
        () => true,
      );
      expect(refused, `${name} still answers`).to.equal(true);
    }
  });
});
