import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { expect } from 'chai';

const root = resolve(import.meta.dirname, '..', '..');

describe('service boot with a bad configuration', () => {
  for (const entry of [
    'services/user-service/src/main.ts',
    'services/auth-service/src/main.ts',
    'services/case-service/src/main.ts',
    'services/scoring-service/src/main.ts',
    'services/audit-telemetry-service/src/main.ts',
  ]) {
    it(`${entry} lists every problem and exits non-zero`, () => {
      const result = spawnSync(process.execPath, [entry], {
        cwd: root,
        encoding: 'utf8',
        timeout: 20_000,
        env: {
          PATH: process.env.PATH,
          PORT: 'eighty',
          LOG_LEVEL: 'chatty',
          APP_ENV: 'staging',
          DATABASE_URL: 'not a url',
        },
      });
      expect(result.status).to.equal(2);
      expect(result.stderr).to.include('invalid configuration');
      for (const variable of ['PORT', 'LOG_LEVEL', 'APP_ENV']) expect(result.stderr).to.include(variable);
      if (/user|case|audit/.test(entry)) expect(result.stderr).to.include('DATABASE_URL');
    });
  }
});
