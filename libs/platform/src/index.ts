export {
  loadConfig,
  env,
  ConfigError,
  DEVELOPMENT_SECRETS,
  isDevelopmentSecret,
  type ConfigKey,
  type ConfigSpec,
  type ConfigOf,
} from './config.ts';
export { createLogger, type Logger, type LoggerOptions } from './logger.ts';
export { AppError, errors, type AppErrorOptions, type FieldError } from './errors.ts';
export { PROBLEM_CONTENT_TYPE, problemType, sendProblem, type Problem } from './problem.ts';
export {
  createHttpMetrics,
  createMetricsRegistry,
  type HttpMetrics,
  type MetricsRegistry,
} from './metrics.ts';
export {
  authenticate,
  createTokenVerifier,
  requireRole,
  requireServiceScopes,
  type Principal,
  type TokenVerifier,
  type TokenVerifierOptions,
} from './auth.ts';
export type { AppState } from './request-context.ts';
export { createServiceApp, type ServiceApp, type ServiceAppOptions } from './app.ts';
export { defineRoute, type AppContext, type RouteDefinition } from './route.ts';
export type { ReadinessCheck } from './readiness.ts';
export {
  createPool,
  dropDatabase,
  ensureDatabase,
  migrate,
  postgresReadiness,
  runMigrations,
  waitForDatabase,
  withTransaction,
  type MigrationJobOptions,
  type Pool,
  type PoolClient,
} from './db.ts';
export {
  isDatabaseUnavailable,
  isPgError,
  PG_FOREIGN_KEY_VIOLATION,
  PG_UNIQUE_VIOLATION,
} from './pg-errors.ts';
export { listen, runService, type RunningServer, type RunServiceOptions } from './server.ts';
export { runMain } from './main.ts';
export { packageRoot } from './package-root.ts';
export { httpRequest, type HttpRequest, type HttpResponse } from './http-client.ts';
export { waitAtMost, withDeadline } from './deadline.ts';
export { OutageLog } from './outage-log.ts';
export {
  decodeRevocation,
  encodeRevocation,
  RevocationList,
  REVOCATIONS_KEY,
  type RevocationCheck,
  type RevocationListOptions,
  type RevocationSource,
} from './revocations.ts';
export { activeTraceFields, shutdownTelemetry } from './tracing.ts';
export { TRACE_SAMPLER_NAMES } from './telemetry/sampler.ts';
export { traceRedisCommands } from './telemetry/client-spans.ts';
export {
  backoffDelay,
  Bulkhead,
  BulkheadRejectedError,
  retryWithBackoff,
  type BackoffOptions,
  type Jitter,
  type RetryOptions,
} from './resilience.ts';
export {
  decodeKeysetCursor,
  encodeKeysetCursor,
  isPostgresTimestamp,
  type KeysetPosition,
} from './keyset-cursor.ts';
export { databaseKeys, serviceKeys, tokenVerificationKeys } from './service-config.ts';
