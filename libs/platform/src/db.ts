import pg from 'pg';
import type { Logger } from './logger.ts';
import type { ReadinessCheck } from './readiness.ts';
import { TracedPgClient } from './telemetry/client-spans.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  readonly connectionString: string;
  readonly max?: number;
  /** How long to wait for a connection before a query fails (ms). */
  readonly connectionTimeoutMs?: number;
  /**
   * Limit for one statement (ms): Postgres cancels it then (statement_timeout), and the client gives up
   * a second later when the server does not answer at all (a hung or black-holed connection).
   */
  readonly statementTimeoutMs?: number;
  readonly applicationName: string;
}

/** A Postgres pool with bounded waits, so an unreachable database fails requests fast instead of hanging them. */
export function createPool(options: PoolOptions, logger?: Logger): Pool {
  const pool = new pg.Pool({
    // Its statements are client spans inside a sampled request or event (telemetry/client-spans.ts).
    Client: TracedPgClient,
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 2000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs ?? 5000,
    query_timeout: (options.statementTimeoutMs ?? 5000) + 1000,
    // Dead peers are noticed by the kernel too, not only by the timeouts above.
    keepAlive: true,
    application_name: options.applicationName,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', (error) => {
    logger?.warn({ err: error }, 'idle postgres client failed');
  });
  return pool;
}

/**
 * Runs `work` in a transaction on one pooled connection: COMMIT when it resolves, ROLLBACK when it throws.
 * A connection whose ROLLBACK fails too (timed out, dropped) is closed rather than pooled again.
 */
export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/** Readiness check: the database answers a trivial query. */
export function postgresReadiness(pool: Pool): ReadinessCheck {
  return {
    name: 'postgres',
    async check() {
      await pool.query('SELECT 1');
    },
  };
}

/** Creates the database named in `connectionString` when it does not exist (dev and tests). */
export async function ensureDatabase(connectionString: string): Promise<void> {
  const url = new URL(connectionString);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`refusing to create a database named "${name}"`);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      try {
        // nosemgrep: sql-template-interpolation -- an identifier, checked against [A-Za-z0-9_]+ above
        await client.query(`CREATE DATABASE "${name}"`);
      } catch (error) {
        // Another process created it first.
        if ((error as { code?: string }).code !== '42P04') throw error;
      }
    }
  } finally {
    await client.end();
  }
}

/** How long dropDatabase waits for the database's connections to close by themselves (ms). */
const DROP_GRACE_MS = 500;

/** Drops a database (tests clean up their own), ending the connections still open after a short grace. */
export async function dropDatabase(connectionString: string): Promise<void> {
  const url = new URL(connectionString);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`refusing to drop a database named "${name}"`);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    // A pool's end() resolves before its sockets are gone: give connections that are closing a moment to
    // go, so that FORCE only ends the ones nobody closes (a client that is ending has no handler left for
    // the "terminating connection" error FORCE would send it).
    for (let waited = 0; waited < DROP_GRACE_MS; waited += 25) {
      const { rows } = await client.query<{ open: number }>(
        'SELECT count(*)::int AS open FROM pg_stat_activity WHERE datname = $1',
        [name],
      );
      if (rows[0]?.open === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // nosemgrep: sql-template-interpolation -- an identifier, checked against [A-Za-z0-9_]+ above
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * Applies the pending SQL migrations in `dir`. node-pg-migrate holds an advisory lock while it runs, and
 * we wait for it rather than fail, so several replicas starting together migrate exactly once.
 */
export async function migrate(connectionString: string, dir: string, logger: Logger): Promise<string[]> {
  // Loaded here, not at the top: only a process that migrates pays for the migration runner's modules.
  const { runner } = await import('node-pg-migrate');
  const applied = await runner({
    databaseUrl: connectionString,
    dir,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    singleTransaction: true,
    checkOrder: true,
    advisoryLockMode: 'wait',
    logger: {
      debug: () => undefined,
      info: (message: string) => {
        logger.debug({ migration: message }, 'migration');
      },
      warn: (message: string) => {
        logger.warn({ migration: message }, 'migration');
      },
      error: (message: string) => {
        logger.error({ migration: message }, 'migration');
      },
    },
  });
  return applied.map((migration) => migration.name);
}

/**
 * Waits until the database accepts a connection and answers, for at most `waitMs`: a migration Job may
 * start before its database does. The error names the server, never the credentials.
 */
export async function waitForDatabase(
  connectionString: string,
  waitMs: number,
  logger: Logger,
): Promise<void> {
  const { hostname, port, pathname } = new URL(connectionString);
  const where = `${hostname}:${port || '5432'}${pathname}`;
  const deadline = Date.now() + waitMs;
  for (let attempt = 1; ; attempt += 1) {
    const client = new pg.Client({ connectionString, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      const reason = (error as Error).message;
      if (Date.now() >= deadline) {
        throw new Error(`the database at ${where} did not answer within ${waitMs / 1000} s: ${reason}`, {
          cause: error,
        });
      }
      logger.info({ attempt, reason }, `waiting for the database at ${where}`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** (attempt - 1), 5000)));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

export interface MigrationJobOptions {
  readonly databaseUrl: string;
  /** The service's SQL migrations. */
  readonly dir: string;
  readonly logger: Logger;
  /** How long to wait for the database before giving up (ms). */
  readonly waitMs: number;
}

/**
 * The body of a service's migration entry point (the Helm chart's hook Job): waits for the database,
 * applies the pending migrations and logs what it did. Safe to run any number of times, and concurrently.
 */
export async function runMigrations(options: MigrationJobOptions): Promise<string[]> {
  await waitForDatabase(options.databaseUrl, options.waitMs, options.logger);
  const applied = await migrate(options.databaseUrl, options.dir, options.logger);
  options.logger.info(
    { migrations: applied },
    applied.length > 0 ? 'migrations applied' : 'the schema is up to date',
  );
  return applied;
}
