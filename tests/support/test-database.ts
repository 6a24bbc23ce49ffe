import { randomBytes } from 'node:crypto';
import { dropDatabase, ensureDatabase } from '@mrp/platform';

/** The Postgres server the tests use (the same default as the services). */
export const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A database of its own for one test run, so no leftover state can break or fake a result. Dropped by
 * `drop()`; a run that crashed leaves one behind, named `mrp_test_*`, which nothing reads again.
 */
export async function createTestDatabase(label: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const url = new URL(POSTGRES_URL);
  url.pathname = `/mrp_test_${label}_${randomBytes(4).toString('hex')}`;
  const connectionString = url.toString();
  await ensureDatabase(connectionString);
  return { url: connectionString, drop: () => dropDatabase(connectionString) };
}
