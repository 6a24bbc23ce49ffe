import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createPool } from '@mrp/platform';
import { freePort } from '../support/ports.ts';

/** scripts/chaos/postgres-server.ts, imported by URL: scripts/ is outside this project's sources. */
interface TestPostgres {
  readonly port: number;
  start(): Promise<void>;
  destroy(): Promise<void>;
}
interface PostgresServerModule {
  readonly ChaosPostgres: {
    create(
      port: number,
      options: { files?: Record<string, string>; settings?: Record<string, string> },
    ): TestPostgres | undefined;
  };
}
const serverModule = new URL('../../scripts/chaos/postgres-server.ts', import.meta.url).href;
const { ChaosPostgres } = (await import(serverModule)) as PostgresServerModule;

const openssl = (dir: string, ...args: string[]) =>
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

/** A CA, and a server certificate it signed for localhost and 127.0.0.1 (EC P-256, one day). */
function makeCertificates(dir: string, name: string): { ca: string; cert: string; key: string } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    dir,
    'req',
    '-x509',
    ...ec,
    '-keyout',
    `${name}-ca.key`,
    '-out',
    `${name}-ca.crt`,
    '-days',
    '1',
    '-subj',
    `/CN=${name} test CA`,
  );
  openssl(
    dir,
    'req',
    ...ec,
    '-keyout',
    `${name}-server.key`,
    '-out',
    `${name}-server.csr`,
    '-subj',
    '/CN=localhost',
  );
  writeFileSync(join(dir, `${name}-san.ext`), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}-server.csr`,
    '-CA',
    `${name}-ca.crt`,
    '-CAkey',
    `${name}-ca.key`,
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    `${name}-san.ext`,
    '-out',
    `${name}-server.crt`,
  );
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  return {
    ca: join(dir, `${name}-ca.crt`),
    cert: read(`${name}-server.crt`),
    key: read(`${name}-server.key`),
  };
}

/**
 * A Postgres that speaks TLS, reached as the charts' `database.tls` documents (`sslmode=verify-full` and
 * `sslrootcert` naming the CA mounted from a Secret): the services' pool encrypts and checks the server's
 * certificate, and refuses a server its CA did not sign.
 */
describe('Postgres over TLS with sslmode=verify-full', function () {
  this.timeout(60_000);
  let dir: string;
  let server: TestPostgres | undefined;
  let trusted: string;
  let stranger: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mrp-pg-tls-'));
    const certificates = makeCertificates(dir, 'trusted');
    trusted = certificates.ca;
    stranger = makeCertificates(dir, 'stranger').ca;
    const created = ChaosPostgres.create(await freePort(), {
      files: { 'server.crt': certificates.cert, 'server.key': certificates.key },
      settings: { ssl: 'on', ssl_cert_file: '{dir}/server.crt', ssl_key_file: '{dir}/server.key' },
    });
    if (!created) throw new Error('initdb is not installed: the Postgres server packages are needed here');
    server = created;
    await created.start();
  });

  after(async () => {
    await server?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const url = (host: string, ca: string) =>
    `postgres://postgres@${host}:${server!.port}/postgres?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`;

  for (const host of ['127.0.0.1', 'localhost']) {
    it(`connects to ${host} encrypted, having checked the server's certificate against the CA`, async () => {
      const pool = createPool({ connectionString: url(host, trusted), max: 1, applicationName: 'tls-test' });
      try {
        const { rows } = await pool.query<{ ssl: boolean; version: string }>(
          'SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
        );
        expect(rows[0]).to.include({ ssl: true });
        expect(rows[0]!.version).to.match(/^TLSv1\.[23]$/);
      } finally {
        await pool.end();
      }
    });
  }

  it('refuses a server whose certificate another CA signed', async () => {
    const pool = createPool({
      connectionString: url('127.0.0.1', stranger),
      max: 1,
      applicationName: 'tls-test',
    });
    try {
      const failed = await pool.query('SELECT 1').then(
        () => undefined,
        (error: unknown) => (error as Error).message,
      );
      expect(failed).to.match(/certificate/i);
    } finally {
      await pool.end();
    }
  });
});
