import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { verifyPassword } from '@mrp/user-service';
import { createTestDatabase } from '../support/test-database.ts';

const root = resolve(import.meta.dirname, '..', '..');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a service's migration entry point as the chart's Job does: its own process, configured by env only. */
function runMigrationJob(service: string, env: Record<string, string>): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [`services/${service}/src/migrate.ts`], {
      cwd: root,
      env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', fail);
    child.once('close', (code) => {
      done({ code, stdout, stderr });
    });
  });
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('the migration Job entry points (src/migrate.ts)', function () {
  for (const [service, table] of [
    ['case-service', 'cases'],
    ['audit-telemetry-service', 'audit_events'],
  ] as const) {
    it(`when ${service}'s Job runs twice on an empty database, it creates ${table} once and exits 0 both times`, async function () {
      const database = await createTestDatabase(`job_${table}`);
      try {
        const first = await runMigrationJob(service, { DATABASE_URL: database.url });
        expect(first.code, first.stderr).to.equal(0);
        expect(first.stdout).to.include('migrations applied');
        const second = await runMigrationJob(service, { DATABASE_URL: database.url });
        expect(second.code, second.stderr).to.equal(0);
        expect(second.stdout).to.include('the schema is up to date');
        const tables = await query<{ n: string }>(
          database.url,
          `SELECT count(*) AS n FROM information_schema.tables WHERE table_name = '${table}'`,
        );
        expect(tables[0]!.n).to.equal('1');
      } finally {
        await database.drop();
      }
    });
  }

  it('when user-service’s Job runs in development, it migrates and seeds the dev users exactly once', async function () {
    const database = await createTestDatabase('job_users');
    try {
      for (let run = 0; run < 2; run += 1) {
        const result = await runMigrationJob('user-service', {
          DATABASE_URL: database.url,
          APP_ENV: 'development',
        });
        expect(result.code, result.stderr).to.equal(0);
        expect(result.stdout).to.include(run === 0 ? 'dev users seeded' : 'dev users already present');
      }
      const users = await query<{ email: string }>(database.url, 'SELECT email FROM users ORDER BY email');
      expect(users.map((user) => user.email)).to.deep.equal([
        'admin@example.com',
        'analyst@example.com',
        'viewer@example.com',
      ]);
    } finally {
      await database.drop();
    }
  });

  it('when user-service’s Job runs in production, it migrates and seeds nobody', async function () {
    const database = await createTestDatabase('job_users_prod');
    try {
      const result = await runMigrationJob('user-service', {
        DATABASE_URL: database.url,
        APP_ENV: 'production',
      });
      expect(result.code, result.stderr).to.equal(0);
      const users = await query<{ n: string }>(database.url, 'SELECT count(*) AS n FROM users');
      expect(users[0]!.n).to.equal('0');
    } finally {
      await database.drop();
    }
  });

  it('when a bootstrap admin is configured in production, the Job creates it once as an admin with that password, and a later password change alters nothing', async function () {
    const database = await createTestDatabase('job_bootstrap');
    try {
      const env = {
        DATABASE_URL: database.url,
        APP_ENV: 'production',
        BOOTSTRAP_ADMIN_EMAIL: 'root@platform.example',
        BOOTSTRAP_ADMIN_PASSWORD: 'first-password-123',
      };
      const first = await runMigrationJob('user-service', env);
      expect(first.code, first.stderr).to.equal(0);
      expect(first.stdout).to.include('bootstrap admin created');
      expect(first.stdout).not.to.include('first-password-123');
      const second = await runMigrationJob('user-service', {
        ...env,
        BOOTSTRAP_ADMIN_PASSWORD: 'rotated-password-456',
      });
      expect(second.code, second.stderr).to.equal(0);
      expect(second.stdout).to.include('bootstrap admin already present');
      const rows = await query<{ email: string; role: string; password_hash: string }>(
        database.url,
        'SELECT email, role, password_hash FROM users',
      );
      expect(rows.map((row) => [row.email, row.role])).to.deep.equal([['root@platform.example', 'admin']]);
      expect(await verifyPassword('first-password-123', rows[0]!.password_hash)).to.be.true;
      expect(await verifyPassword('rotated-password-456', rows[0]!.password_hash)).to.be.false;
    } finally {
      await database.drop();
    }
  });

  it('when the bootstrap admin is half configured or its password is short, the Job says so and exits 2', async function () {
    const half = await runMigrationJob('user-service', {
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
      BOOTSTRAP_ADMIN_EMAIL: 'root@platform.example',
    });
    expect(half.code).to.equal(2);
    expect(half.stderr).to.include('BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD go together');
    const short = await runMigrationJob('user-service', {
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
      BOOTSTRAP_ADMIN_EMAIL: 'root@platform.example',
      BOOTSTRAP_ADMIN_PASSWORD: 'short',
    });
    expect(short.code).to.equal(2);
    expect(short.stderr).to.include('at least 12 characters').and.not.include('short\n');
  });

  it('when the database never answers, the Job gives up after MIGRATE_WAIT_SECONDS, exits 1 and names the server but not the password', async function () {
    const result = await runMigrationJob('case-service', {
      DATABASE_URL: 'postgres://case:s3cret-password@127.0.0.1:1/mrp_case',
      MIGRATE_WAIT_SECONDS: '1',
    });
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include('the database at 127.0.0.1:1/mrp_case did not answer within 1 s');
    expect(result.stdout + result.stderr).not.to.include('s3cret-password');
  });

  it('when the configuration is wrong, the Job lists the problem and exits 2 without touching a database', async function () {
    const result = await runMigrationJob('audit-telemetry-service', {
      DATABASE_URL: 'not a url',
      MIGRATE_WAIT_SECONDS: 'soon',
    });
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include('DATABASE_URL').and.include('MIGRATE_WAIT_SECONDS');
  });
});
