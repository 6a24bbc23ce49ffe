/**
 * Applies user-service's pending migrations, creates the bootstrap admin when one is configured, seeds the
 * dev users when the profile allows them, and exits: the Helm chart's migration Job runs this, and the
 * Deployment runs with MIGRATE_ON_START=false and SEED_DEV_USERS=false (its table may not exist yet when it
 * starts).
 */
import { createLogger, createPool, runMain, runMigrations } from '@mrp/platform';
import { UserRepository } from './data/user.repository.ts';
import { ensureBootstrapAdmin, seedDevUsers } from './domain/user.use-cases.ts';
import { loadUserServiceConfig } from './config.ts';
import { MIGRATIONS_DIR, SERVICE_NAME } from './user-service.ts';

runMain(async () => {
  const config = loadUserServiceConfig();
  const logger = createLogger({ serviceName: SERVICE_NAME, level: config.logLevel });
  await runMigrations({
    databaseUrl: config.databaseUrl,
    dir: MIGRATIONS_DIR,
    logger,
    waitMs: config.migrateWaitSeconds * 1000,
  });
  const { bootstrapAdminEmail: email, bootstrapAdminPassword: password } = config;
  if (!config.seedDevUsers && (email === undefined || password === undefined)) return;
  const pool = createPool(
    { connectionString: config.databaseUrl, max: 2, applicationName: `${SERVICE_NAME}-migrate` },
    logger,
  );
  try {
    const users = new UserRepository(pool, { revocationRetentionSeconds: config.revocationRetentionSeconds });
    if (email !== undefined && password !== undefined) {
      const created = await ensureBootstrapAdmin(users, { email, password });
      logger.info({ email }, created ? 'bootstrap admin created' : 'bootstrap admin already present');
    }
    if (config.seedDevUsers) {
      const seeded = await seedDevUsers(users);
      logger.info({ users: seeded }, seeded.length > 0 ? 'dev users seeded' : 'dev users already present');
    }
  } finally {
    await pool.end();
  }
});
