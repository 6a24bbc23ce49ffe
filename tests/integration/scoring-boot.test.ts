import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { expect } from 'chai';
import { freePort } from '../support/ports.ts';

const root = resolve(import.meta.dirname, '..', '..');
const entry = 'services/scoring-service/src/main.ts';

describe('scoring-service as a process', () => {
  it('lists every configuration problem and exits 2', () => {
    const result = spawnSync(process.execPath, [entry], {
      cwd: root,
      encoding: 'utf8',
      timeout: 20_000,
      env: {
        PATH: process.env.PATH,
        PORT: 'eighty',
        REDIS_URL: 'not a url',
        SCORING_FAULT_ERROR_RATE: '2',
        SCORING_FAULT_HANG: 'sometimes',
      },
    });
    expect(result.status).to.equal(2);
    expect(result.stderr).to.include('invalid configuration');
    for (const variable of ['PORT', 'REDIS_URL', 'SCORING_FAULT_ERROR_RATE', 'SCORING_FAULT_HANG'])
      expect(result.stderr).to.include(variable);
  });

  it('serves without Redis and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const deadPort = await freePort();
    const child = spawn(process.execPath, [entry], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        REDIS_URL: `redis://127.0.0.1:${deadPort}`,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      for (let attempt = 0; attempt < 100 && !output.includes('"listening"'); attempt += 1) {
        await new Promise((done) => setTimeout(done, 100));
      }
      expect(output).to.include('"listening"');
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).to.equal(200);
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code).to.equal(0);
      expect(output).to.include('"stopped"');
    } finally {
      clearTimeout(kill);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
