import { join } from 'node:path';
import {
  createPool,
  createServiceApp,
  createTokenVerifier,
  migrate,
  packageRoot,
  postgresReadiness,
  RevocationList,
  withDeadline,
  type Logger,
  type Pool,
  type ReadinessCheck,
  type ServiceApp,
} from '@mrp/platform';
import { createRedis, type Redis, type StreamConsumer } from '@mrp/events';
import type { AuditServiceConfig } from './config.ts';
import { AuditEventRepository } from './data/audit-event.repository.ts';
import { AuditUseCases } from './domain/audit.use-cases.ts';
import { createAuditConsumer } from './events/audit-events.consumer.ts';
import { auditRoutes } from './http/audit.routes.ts';

export const SERVICE_NAME = 'audit-telemetry-service';
/** The package's migrations/, found from src/ (development) and from dist/src/ (the image) alike. */
export const MIGRATIONS_DIR = join(packageRoot(import.meta.dirname), 'migrations');

/** How long the readiness PING may take before Redis counts as unavailable (ms). */
const REDIS_PING_TIMEOUT_MS = 1000;

export interface AuditService {
  readonly service: ServiceApp;
  readonly pool: Pool;
  /** The event consumer (started unless `startConsumer: false`). */
  readonly consumer: StreamConsumer;
  /** Stops the consumer (finishing the event in hand), then releases the pool and Redis. */
  readonly close: () => Promise<void>;
}

export interface AuditServiceOptions {
  /** Start consuming events at once (default true); tests start and stop the consumer themselves. */
  readonly startConsumer?: boolean;
}

/** Applies migrations when the configuration asks for it. */
export async function prepareAuditDatabase(config: AuditServiceConfig, logger: Logger): Promise<void> {
  if (config.migrateOnStart) {
    const applied = await migrate(config.databaseUrl, MIGRATIONS_DIR, logger);
    if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied');
  }
}

/** Readiness check: Redis answers PING quickly. */
export function redisReadiness(redis: Redis): ReadinessCheck {
  return {
    name: 'redis',
    async check() {
      await withDeadline(redis.ping(), REDIS_PING_TIMEOUT_MS, `no PONG within ${REDIS_PING_TIMEOUT_MS} ms`);
    },
  };
}

/** Wires audit-telemetry-service: pool, repository, use cases, routes, the event consumer and the app. */
export async function createAuditService(
  config: AuditServiceConfig,
  logger: Logger,
  options: AuditServiceOptions = {},
): Promise<AuditService> {
  await prepareAuditDatabase(config, logger);
  const pool = createPool(
    {
      connectionString: config.databaseUrl,
      max: config.databasePoolMax,
      statementTimeoutMs: config.databaseQueryTimeoutMs,
      applicationName: SERVICE_NAME,
    },
    logger,
  );
  const audit = new AuditUseCases(new AuditEventRepository(pool));
  const redis = createRedis(config.redisUrl);
  // Revoked user tokens (ADR 0021), read from Redis every second.
  const revocations = new RevocationList({ source: redis, logger });
  revocations.start();
  // Outages are reported once by the consumer and by /readyz; each reconnect attempt is not news.
  redis.on('error', (error: unknown) => {
    logger.debug({ err: error }, 'readiness Redis connection failed');
  });
  const service = createServiceApp({
    serviceName: SERVICE_NAME,
    version: '0.1.0',
    logger,
    routes: auditRoutes(audit),
    verifyToken: createTokenVerifier({
      jwksUrl: config.jwksUrl,
      issuer: config.tokenIssuer,
      audience: [config.tokenAudience, config.serviceAudience],
      revocations,
    }),
    readiness: [postgresReadiness(pool), redisReadiness(redis)],
    bodyLimit: config.bodyLimit,
    maxInFlight: config.maxInFlight,
  });
  const consumer = createAuditConsumer(config, audit, logger, service.metrics.registry);
  if (options.startConsumer ?? true) consumer.start();
  return {
    service,
    pool,
    consumer,
    async close() {
      // The consumer goes first: the event in hand still needs the pool to commit.
      await consumer.stop();
      await pool.end();
      revocations.stop();
      redis.disconnect();
    },
  };
}
