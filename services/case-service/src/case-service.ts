import { join } from 'node:path';
import {
  createHttpMetrics,
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
import { createRedis, OutboxRelay, type Redis } from '@mrp/events';
import { ScoringClient } from './clients/scoring.client.ts';
import { ServiceTokenClient } from './clients/service-token.client.ts';
import type { CaseServiceConfig } from './config.ts';
import { CaseUseCases } from './domain/case.use-cases.ts';
import { caseRoutes } from './http/cases.routes.ts';
import { RescoreWorker } from './workers/rescore.worker.ts';
import { presentCase } from './http/case.presenter.ts';

export const SERVICE_NAME = 'case-service';
/** The package's migrations/, found from src/ (development) and from dist/src/ (the image) alike. */
export const MIGRATIONS_DIR = join(packageRoot(import.meta.dirname), 'migrations');

export interface CaseService {
  readonly service: ServiceApp;
  readonly pool: Pool;
  readonly redis: Redis;
  readonly relay: OutboxRelay;
  readonly worker: RescoreWorker;
  readonly scoring: ScoringClient;
  /** Starts the outbox relay and the re-scoring worker. */
  readonly startWorkers: () => void;
  /** Stops the workers, then releases Redis and the pool. */
  readonly close: () => Promise<void>;
}

/** Wires case-service: pool, Redis, scoring client, use cases, routes, relay and worker. */
export async function createCaseService(config: CaseServiceConfig, logger: Logger): Promise<CaseService> {
  if (config.migrateOnStart) {
    const applied = await migrate(config.databaseUrl, MIGRATIONS_DIR, logger);
    if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied');
  }
  const pool = createPool(
    {
      connectionString: config.databaseUrl,
      max: config.databasePoolMax,
      statementTimeoutMs: config.databaseQueryTimeoutMs,
      applicationName: SERVICE_NAME,
    },
    logger,
  );
  const redis = createRedis(config.redisUrl);
  // A Redis outage is the relay's business (it retries); it must not crash the process.
  redis.on('error', () => undefined);
  // Revoked user tokens (ADR 0021), read from Redis every second.
  const revocations = new RevocationList({ source: redis, logger });
  revocations.start();

  const metrics = createHttpMetrics(SERVICE_NAME);
  const registry = metrics.registry;
  const scoring = new ScoringClient({
    baseUrl: config.scoringUrl,
    attemptTimeoutMs: config.scoringAttemptTimeoutMs,
    retries: config.scoringRetries,
    backoffBaseMs: config.scoringBackoffBaseMs,
    backoffMaxMs: config.scoringBackoffMaxMs,
    breakerErrorThresholdPercent: config.breakerErrorThresholdPercent,
    breakerVolumeThreshold: config.breakerVolumeThreshold,
    breakerResetMs: config.breakerResetMs,
    bulkheadMaxConcurrent: config.bulkheadMaxConcurrent,
    bulkheadMaxQueue: config.bulkheadMaxQueue,
    logger,
    registry,
  });
  const serviceTokens = new ServiceTokenClient({
    tokenUrl: config.authTokenUrl,
    clientId: config.serviceClientId,
    clientSecret: config.serviceClientSecret,
    timeoutMs: 2000,
  });
  const relay = new OutboxRelay({
    pool,
    redis,
    logger,
    source: `${SERVICE_NAME}:${config.eventStream}`,
    registry,
  });
  const cases = new CaseUseCases({
    pool,
    scoring,
    options: {
      idempotencyTtlSeconds: config.idempotencyTtlHours * 3600,
      idempotencyInFlightMs: config.idempotencyInFlightMs,
      scoreLeaseMs: config.scoreLeaseMs,
      pendingRetryMs: config.rescoreBackoffBaseMs,
      stream: config.eventStream,
      serviceToken: () => serviceTokens.token(),
    },
    logger,
    onEvents: () => {
      relay.nudge();
    },
    presentAnswer: presentCase,
  });
  const worker = new RescoreWorker({
    pool,
    cases,
    scoring,
    logger,
    registry,
    intervalMs: config.rescoreIntervalMs,
    batchSize: config.rescoreBatchSize,
    leaseMs: config.scoreLeaseMs,
    backoffBaseMs: config.rescoreBackoffBaseMs,
    backoffMaxMs: config.rescoreBackoffMaxMs,
  });
  const service = createServiceApp({
    serviceName: SERVICE_NAME,
    version: '0.1.0',
    logger,
    metrics,
    routes: [...caseRoutes('v1', cases), ...caseRoutes('v2', cases)],
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
    redis,
    relay,
    worker,
    scoring,
    startWorkers: () => {
      relay.start();
      worker.start();
    },
    close: async () => {
      await worker.stop();
      await relay.stop();
      scoring.shutdown();
      revocations.stop();
      redis.disconnect();
      await pool.end();
    },
  };
}
