import { join } from 'node:path';
import {
  createPool,
  createServiceApp,
  createTokenVerifier,
  migrate,
  RevocationList,
  packageRoot,
  postgresReadiness,
  type Logger,
  type Pool,
  type ServiceApp,
} from '@mrp/platform';
import { createRedis } from '@mrp/events';
import type { UserServiceConfig } from './config.ts';
import { RevocationPublisher } from './events/revocation.publisher.ts';
import { UserRepository } from './data/user.repository.ts';
import { seedDevUsers, UserUseCases } from './domain/user.use-cases.ts';
import { credentialRoutes } from './http/credentials.routes.ts';
import { userRoutes } from './http/users.routes.ts';

export const SERVICE_NAME = 'user-service';
/** The package's migrations/, found from src/ (development) and from dist/src/ (the image) alike. */
export const MIGRATIONS_DIR = join(packageRoot(import.meta.dirname), 'migrations');

export interface UserService {
  readonly service: ServiceApp;
  readonly pool: Pool;
  /** Releases the database pool. */
  readonly close: () => Promise<void>;
}

/** Applies migrations and seeds the dev users when the configuration asks for it. */
export async function prepareUserDatabase(config: UserServiceConfig, logger: Logger): Promise<void> {
  if (config.migrateOnStart) {
    const applied = await migrate(config.databaseUrl, MIGRATIONS_DIR, logger);
    if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied');
  }
}

/** Wires user-service: pool, repository, use cases, routes and the shared app factory. */
export async function createUserService(config: UserServiceConfig, logger: Logger): Promise<UserService> {
  await prepareUserDatabase(config, logger);
  const pool = createPool(
    {
      connectionString: config.databaseUrl,
      max: config.databasePoolMax,
      statementTimeoutMs: config.databaseQueryTimeoutMs,
      applicationName: SERVICE_NAME,
    },
    logger,
  );
  const repository = new UserRepository(pool, {
    revocationRetentionSeconds: config.revocationRetentionSeconds,
  });
  const redis = createRedis(config.redisUrl);
  // A Redis outage delays revocations (the publisher retries every round); it must not crash the process.
  redis.on('error', () => undefined);
  const publisher = new RevocationPublisher({ users: repository, redis, logger });
  publisher.start();
  const revocations = new RevocationList({ source: redis, logger });
  revocations.start();
  if (config.seedDevUsers) {
    const seeded = await seedDevUsers(repository);
    if (seeded.length > 0) logger.info({ users: seeded }, 'dev users seeded');
  }
  const users = new UserUseCases(repository, {
    onTokensRevoked: () => {
      publisher.nudge();
    },
  });
  const service = createServiceApp({
    serviceName: SERVICE_NAME,
    version: '0.1.0',
    logger,
    routes: [...userRoutes(users), ...credentialRoutes(users)],
    verifyToken: createTokenVerifier({
      jwksUrl: config.jwksUrl,
      issuer: config.tokenIssuer,
      audience: [config.tokenAudience, config.serviceAudience],
      revocations,
    }),
    readiness: [postgresReadiness(pool)],
    bodyLimit: config.bodyLimit,
    maxInFlight: config.maxInFlight,
  });
  return {
    service,
    pool,
    close: async () => {
      revocations.stop();
      await publisher.stop();
      redis.disconnect();
      await pool.end();
    },
  };
}
