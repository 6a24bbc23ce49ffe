import {
  env,
  loadConfig,
  type ConfigOf,
  serviceKeys,
  databaseKeys,
  tokenVerificationKeys,
} from '@mrp/platform';

/** Every setting of case-service: env var, default and meaning. */
export const caseServiceConfigSpec = {
  ...serviceKeys({ port: 3003 }),
  ...databaseKeys('mrp_case'),
  ...tokenVerificationKeys(),
  redisUrl: env.url('REDIS_URL', 'redis://127.0.0.1:6379', 'Redis for the event streams.'),
  eventStream: env.string(
    'CASE_EVENT_STREAM',
    'events:case',
    'The Redis stream case events are published to.',
  ),
  authTokenUrl: env.url(
    'AUTH_TOKEN_URL',
    'http://127.0.0.1:3001/internal/v1/token',
    "auth-service's client credentials endpoint.",
  ),
  serviceClientId: env.string(
    'SERVICE_CLIENT_ID',
    'case-service',
    'This service as an OAuth2 client of auth-service.',
  ),
  serviceClientSecret: env.secret(
    'SERVICE_CLIENT_SECRET',
    'dev-case-service-secret',
    'Its secret (a Secret in Kubernetes).',
  ),
  scoringUrl: env.url('SCORING_SERVICE_URL', 'http://127.0.0.1:3004', 'Base URL of scoring-service.'),
  scoringAttemptTimeoutMs: env.int('SCORING_ATTEMPT_TIMEOUT_MS', 800, 'Time limit of one call to scoring.', {
    min: 50,
    max: 30_000,
  }),
  scoringRetries: env.int('SCORING_RETRIES', 2, 'Retries after a failed call (timeouts, 5xx, unreachable).', {
    min: 0,
    max: 10,
  }),
  scoringBackoffBaseMs: env.int(
    'SCORING_BACKOFF_BASE_MS',
    100,
    'Base of the exponential backoff between retries.',
    { min: 1, max: 10_000 },
  ),
  scoringBackoffMaxMs: env.int(
    'SCORING_BACKOFF_MAX_MS',
    400,
    'Cap of the backoff between retries (full jitter below it).',
    { min: 1, max: 60_000 },
  ),
  breakerErrorThresholdPercent: env.int(
    'SCORING_BREAKER_ERROR_PERCENT',
    50,
    'Failure percentage that opens the breaker.',
    { min: 1, max: 100 },
  ),
  breakerVolumeThreshold: env.int(
    'SCORING_BREAKER_VOLUME',
    4,
    'Calls in the 10 s window before the breaker may open.',
    { min: 1, max: 1000 },
  ),
  breakerResetMs: env.int(
    'SCORING_BREAKER_RESET_MS',
    5000,
    'Time the breaker stays open before a trial call.',
    { min: 100, max: 600_000 },
  ),
  bulkheadMaxConcurrent: env.int('SCORING_BULKHEAD_CONCURRENCY', 10, 'Most concurrent calls to scoring.', {
    min: 1,
    max: 1000,
  }),
  bulkheadMaxQueue: env.int(
    'SCORING_BULKHEAD_QUEUE',
    20,
    'Most calls waiting for a slot; more are refused.',
    { min: 0, max: 10_000 },
  ),
  rescoreIntervalMs: env.int('RESCORE_INTERVAL_MS', 1000, 'How often the worker looks for pending cases.', {
    min: 50,
    max: 600_000,
  }),
  rescoreBatchSize: env.int('RESCORE_BATCH_SIZE', 20, 'Cases the worker claims per pass.', {
    min: 1,
    max: 500,
  }),
  rescoreBackoffBaseMs: env.int(
    'RESCORE_BACKOFF_BASE_MS',
    1000,
    'First delay before re-scoring a pending case.',
    { min: 10, max: 600_000 },
  ),
  rescoreBackoffMaxMs: env.int(
    'RESCORE_BACKOFF_MAX_MS',
    60_000,
    'Longest delay between attempts on one case.',
    { min: 10, max: 3_600_000 },
  ),
  scoreLeaseMs: env.int(
    'SCORE_LEASE_MS',
    30_000,
    'How long a case being scored is reserved (by its request or a worker).',
    { min: 1000, max: 600_000 },
  ),
  idempotencyTtlHours: env.int('IDEMPOTENCY_TTL_HOURS', 24, 'How long an Idempotency-Key is remembered.', {
    min: 1,
    max: 720,
  }),
  idempotencyInFlightMs: env.int(
    'IDEMPOTENCY_IN_FLIGHT_MS',
    30_000,
    'After this, an unfinished first request counts as abandoned.',
    { min: 1000, max: 600_000 },
  ),
  workersEnabled: env.bool(
    'WORKERS_ENABLED',
    true,
    'Run the outbox relay and the re-scoring worker in this process.',
  ),
};

export type CaseServiceConfig = ConfigOf<typeof caseServiceConfigSpec>;

export function loadCaseServiceConfig(
  source: Record<string, string | undefined> = process.env,
): CaseServiceConfig {
  return loadConfig(caseServiceConfigSpec, source);
}
