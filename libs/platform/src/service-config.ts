import { env, type ConfigKey } from './config.ts';

type AppEnv = 'development' | 'test' | 'production';
type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** The keys every service has: profile, listener, log level and body limit. */
export function serviceKeys(defaults: { port: number; bodyLimit?: string }): {
  appEnv: ConfigKey<AppEnv>;
  host: ConfigKey<string>;
  port: ConfigKey<number>;
  logLevel: ConfigKey<LogLevel>;
  bodyLimit: ConfigKey<string>;
  maxInFlight: ConfigKey<number>;
  shutdownDrainMs: ConfigKey<number>;
  shutdownGraceMs: ConfigKey<number>;
} {
  return {
    appEnv: env.oneOf(
      'APP_ENV',
      ['development', 'test', 'production'],
      'development',
      'Deployment profile; production refuses the dev-only conveniences (seed users, generated keys, dev secrets).',
    ),
    host: env.string('HOST', '127.0.0.1', 'Interface to listen on (0.0.0.0 in containers).'),
    port: env.int('PORT', defaults.port, 'HTTP port.', { min: 0, max: 65535 }),
    logLevel: env.oneOf(
      'LOG_LEVEL',
      ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
      'info',
      'Minimum log level.',
    ),
    bodyLimit: env.string('HTTP_BODY_LIMIT', defaults.bodyLimit ?? '100kb', 'Largest accepted request body.'),
    maxInFlight: env.int(
      'HTTP_MAX_IN_FLIGHT',
      256,
      'Requests handled at once; one more is answered 503 with Retry-After at once instead of queueing (probes and /metrics are not counted).',
      { min: 1, max: 100_000 },
    ),
    shutdownDrainMs: env.int(
      'SHUTDOWN_DRAIN_MS',
      0,
      'After SIGTERM, how long the service keeps serving with /readyz failing before it stops accepting connections, so that a load balancer checking readiness (the dev gateway with replicas) sends new requests elsewhere first. On Kubernetes the preStop sleep does this.',
      { min: 0, max: 60_000 },
    ),
    shutdownGraceMs: env.int(
      'SHUTDOWN_GRACE_MS',
      10_000,
      "After the drain, how long requests in progress may take before their connections are closed; drain, grace and the workers' stop must fit in the chart's terminationGracePeriodSeconds.",
      { min: 0, max: 120_000 },
    ),
  };
}

/** The keys of a service that verifies access tokens against auth-service's JWKS. */
export function tokenVerificationKeys(): {
  jwksUrl: ConfigKey<string>;
  tokenIssuer: ConfigKey<string>;
  tokenAudience: ConfigKey<string>;
  serviceAudience: ConfigKey<string>;
} {
  return {
    jwksUrl: env.url(
      'AUTH_JWKS_URL',
      'http://127.0.0.1:3001/.well-known/jwks.json',
      "auth-service's JWKS, used to verify access tokens.",
    ),
    tokenIssuer: env.string('AUTH_ISSUER', 'mrp-auth', 'Expected `iss` of access tokens.'),
    tokenAudience: env.string('AUTH_AUDIENCE', 'mrp-platform', 'Expected `aud` of access tokens.'),
    serviceAudience: env.string(
      'AUTH_SERVICE_AUDIENCE',
      'mrp-services',
      '`aud` of service tokens (client credentials): accepted by the services, never by the gateway.',
    ),
  };
}

/** The keys of a service that owns a Postgres database (`database` is its local default name). */
export function databaseKeys(database: string): {
  databaseUrl: ConfigKey<string>;
  databasePoolMax: ConfigKey<number>;
  databaseQueryTimeoutMs: ConfigKey<number>;
  migrateOnStart: ConfigKey<boolean>;
  migrateWaitSeconds: ConfigKey<number>;
} {
  return {
    databaseUrl: env.url(
      'DATABASE_URL',
      `postgres://postgres@127.0.0.1:5432/${database}`,
      'Postgres connection string of the database this service owns.',
    ),
    databasePoolMax: env.int('DATABASE_POOL_MAX', 10, 'Most connections the pool opens.', {
      min: 2,
      max: 100,
    }),
    databaseQueryTimeoutMs: env.int(
      'DATABASE_QUERY_TIMEOUT_MS',
      5000,
      'Longest one statement may run: Postgres cancels it then, and the client gives up one second later if the server does not answer at all (the request is answered 503).',
      { min: 100, max: 600_000 },
    ),
    migrateOnStart: env.bool(
      'MIGRATE_ON_START',
      true,
      'Apply pending migrations at startup (Kubernetes runs them in a Job instead).',
    ),
    migrateWaitSeconds: env.int(
      'MIGRATE_WAIT_SECONDS',
      120,
      'How long the migration entry point (src/migrate.ts) waits for the database to answer.',
      { min: 0, max: 3600 },
    ),
  };
}
