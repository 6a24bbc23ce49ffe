import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import pg from 'pg';
import { POSTGRES_URL } from '../support/test-database.ts';
import { CHARTS } from './support/helm.ts';

const exec = promisify(execFile);
const SCRIPT = join(CHARTS, 'postgres', 'files', 'init-databases.sh');

/** Runs the init script as the postgres image does (sh, the superuser's psql), against the test server. */
async function runInit(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const server = new URL(POSTGRES_URL);
  try {
    const { stdout, stderr } = await exec('sh', [SCRIPT], {
      env: {
        PATH: process.env.PATH,
        PGHOST: server.hostname,
        PGPORT: server.port || '5432',
        POSTGRES_USER: server.username || 'postgres',
        ...env,
      },
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

async function admin<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

describe('the Postgres init script (charts/postgres/files/init-databases.sh, shared with compose)', function () {
  const run = randomBytes(3).toString('hex');
  const names = [`mrp_init_${run}_a`, `mrp_init_${run}_b`];

  after(async function () {
    for (const name of names) {
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin(`DROP ROLE IF EXISTS "${name}"`);
    }
  });

  it('when Postgres starts empty, it creates each database owned by a login role of the same name, closed to PUBLIC', async function () {
    const result = await runInit({
      MRP_DATABASES: names.join(' '),
      [`MRP_PASSWORD_${names[0]!.toUpperCase()}`]: 'first-password',
      // A password with the characters SQL quoting must survive.
      [`MRP_PASSWORD_${names[1]!.toUpperCase()}`]: 'it\'s a "quoted" pass\\word',
    });
    expect(result.code, result.output).to.equal(0);
    const rows = await admin<{ datname: string; owner: string; datacl: string; login: boolean }>(
      `SELECT d.datname, pg_get_userbyid(d.datdba) AS owner, d.datacl::text AS datacl, r.rolcanlogin AS login
         FROM pg_database d JOIN pg_roles r ON r.rolname = d.datname WHERE d.datname = ANY($1) ORDER BY 1`,
      [names],
    );
    expect(rows.map((row) => [row.datname, row.owner, row.login])).to.deep.equal(
      names.map((name) => [name, name, true]),
    );
    for (const row of rows) expect(row.datacl).not.to.match(/(^|[{,])=/); // no grant to PUBLIC
  });

  it('when it runs again (a restart with the data kept), it changes nothing and succeeds', async function () {
    const result = await runInit({
      MRP_DATABASES: names[0]!,
      [`MRP_PASSWORD_${names[0]!.toUpperCase()}`]: 'another-password',
    });
    expect(result.code, result.output).to.equal(0);
  });

  it('when a password is missing or a name is not a plain identifier, it stops before creating anything', async function () {
    const missing = await runInit({ MRP_DATABASES: `mrp_init_${run}_c` });
    expect(missing.code).to.equal(1);
    expect(missing.output).to.include(`MRP_PASSWORD_MRP_INIT_${run.toUpperCase()}_C is not set`);
    const bad = await runInit({ MRP_DATABASES: 'bad-name', MRP_PASSWORD_BAD_NAME: 'x' });
    expect(bad.code).to.equal(1);
    expect(bad.output).to.include("refusing the database name 'bad-name'");
    const created = await admin('SELECT 1 FROM pg_database WHERE datname = $1', [`mrp_init_${run}_c`]);
    expect(created).to.be.empty;
  });
});
