import { appendEvent, createRedis, type Redis } from '@mrp/events';
import {
  createServiceApp,
  createTokenVerifier,
  RevocationList,
  type Logger,
  type ServiceApp,
} from '@mrp/platform';
import { Counter } from 'prom-client';
import type { ScoringServiceConfig } from './config.ts';
import type { RandomSource } from './domain/fault-injection.ts';
import { ScoreCase } from './domain/score-case.use-case.ts';
import { ScoreEventPublisher } from './events/score-event.publisher.ts';
import { FaultInjector } from './http/fault-injector.ts';
import { scoringRoutes } from './http/scoring.routes.ts';

export const SERVICE_NAME = 'scoring-service';

/** Milliseconds one XADD may take before it counts as failed and is retried. */
const REDIS_COMMAND_TIMEOUT_MS = 2000;

export interface ScoringServiceOverrides {
  /** Drives the error-rate fault; tests pass a fixed sequence. */
  readonly random?: RandomSource;
  /** Stamps `scored_at`. */
  readonly clock?: () => Date;
}

export interface ScoringService {
  readonly service: ServiceApp;
  readonly publisher: ScoreEventPublisher;
  readonly redis: Redis;
  /** Delivers the events still queued (up to SCORING_EVENT_FLUSH_TIMEOUT_MS), then closes Redis. */
  readonly close: () => Promise<void>;
}

/**
 * Wires scoring-service: the model behind its routes, the fault injector, and the background publisher
 * of score events. Redis is not a readiness dependency: scoring keeps answering while it is down and the
 * events wait in the publisher's queue.
 */
export function createScoringService(
  config: ScoringServiceConfig,
  logger: Logger,
  overrides: ScoringServiceOverrides = {},
): ScoringService {
  const redis = createRedis(config.redisUrl, { commandTimeout: REDIS_COMMAND_TIMEOUT_MS });
  // Revoked user tokens (ADR 0021), read from Redis every second.
  const revocations = new RevocationList({ source: redis, logger });
  revocations.start();
  const publisher = new ScoreEventPublisher({
    deliver: (eventJson) => appendEvent(redis, config.eventStream, eventJson),
    capacity: config.eventQueueCapacity,
    logger,
  });
  // ioredis reports every failed reconnection as an 'error' event; the publisher logs what matters.
  redis.on('error', (error: unknown) => {
    logger.debug({ err: error }, 'redis connection error');
  });
  redis.on('ready', () => {
    publisher.retryNow();
  });

  const faults = new FaultInjector(
    { latencyMs: config.faultLatencyMs, errorRate: config.faultErrorRate, hang: config.faultHang },
    overrides.random,
  );
  if (faults.enabled) {
    logger.warn(
      { latency_ms: config.faultLatencyMs, error_rate: config.faultErrorRate, hang: config.faultHang },
      'fault injection is ON for scoring requests',
    );
  }
  const scoresTotal = new Counter({
    name: 'scoring_scores_total',
    help: 'Scores computed, by risk band.',
    labelNames: ['risk_band'] as const,
    registers: [],
  });

  const service = createServiceApp({
    serviceName: SERVICE_NAME,
    version: '0.1.0',
    logger,
    routes: scoringRoutes({ scoreCase: new ScoreCase(publisher, overrides.clock), faults, scoresTotal }),
    verifyToken: createTokenVerifier({
      jwksUrl: config.jwksUrl,
      issuer: config.tokenIssuer,
      audience: [config.tokenAudience, config.serviceAudience],
      revocations,
    }),
    bodyLimit: config.bodyLimit,
    maxInFlight: config.maxInFlight,
  });
  const { registry } = service.metrics;
  for (const metric of publisher.metrics) registry.registerMetric(metric);
  registry.registerMetric(faults.injected);
  registry.registerMetric(scoresTotal);
  publisher.start();

  return {
    service,
    publisher,
    redis,
    async close() {
      await publisher.close(config.eventFlushTimeoutMs);
      revocations.stop();
      redis.disconnect();
    },
  };
}
