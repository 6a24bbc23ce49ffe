/**
 * Applies case-service's pending migrations and exits: the Helm chart's migration Job runs this, and the
 * Deployment runs with MIGRATE_ON_START=false.
 */
import { createLogger, runMain, runMigrations } from '@mrp/platform';
import { MIGRATIONS_DIR, SERVICE_NAME } from './case-service.ts';
import { loadCaseServiceConfig } from './config.ts';

runMain(async () => {
  const config = loadCaseServiceConfig();
  const logger = createLogger({ serviceName: SERVICE_NAME, level: config.logLevel });
  await runMigrations({
    databaseUrl: config.databaseUrl,
    dir: MIGRATIONS_DIR,
    logger,
    waitMs: config.migrateWaitSeconds * 1000,
  });
});
