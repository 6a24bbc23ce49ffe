import { ConfigError, env, loadConfig, type ConfigOf } from '@mrp/platform';

/** Every setting of user-service: env var, default and meaning. */
export const userServiceConfigSpec = {
  appEnv: env.oneOf(
    'APP_ENV',
    ['development', 'test', 'production'],
    'development',
    'Deployment profile; production never seeds dev users.',
  ),
  host: env.string('HOST', '127.0.0.1', 'Interface to listen on (0.0.0.0 in containers).'),
  port: env.int('PORT', 3002, 'HTTP port.', { min: 0, max: 65535 }),
  logLevel: env.oneOf(
    'LOG_LEVEL',
    ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    'info',
    'Minimum log level.',
  ),
  databaseUrl: env.url(
    'DATABASE_URL',
    'postgres://postgres@127.0.0.1:5432/mrp_user',
    'Postgres connection string of user-db.',
  ),
  databasePoolMax: env.int('DATABASE_POOL_MAX', 10, 'Most connections the pool opens.', { min: 1, max: 100 }),
  migrateOnStart: env.bool(
    'MIGRATE_ON_START',
    true,
    'Apply pending migrations at startup (Kubernetes runs them in a Job instead).',
  ),
  seedDevUsers: env.bool(
    'SEED_DEV_USERS',
    true,
    'Create the dev/test users (admin, analyst, viewer) if missing; refused in production.',
  ),
  jwksUrl: env.url(
    'AUTH_JWKS_URL',
    'http://127.0.0.1:3001/.well-known/jwks.json',
    "auth-service's JWKS, used to verify access tokens.",
  ),
  tokenIssuer: env.string('AUTH_ISSUER', 'mrp-auth', 'Expected `iss` of access tokens.'),
  tokenAudience: env.string('AUTH_AUDIENCE', 'mrp-platform', 'Expected `aud` of access tokens.'),
  bodyLimit: env.string('HTTP_BODY_LIMIT', '100kb', 'Largest accepted request body.'),
};

export type UserServiceConfig = ConfigOf<typeof userServiceConfigSpec>;

/** Reads and checks the configuration; dev users are never seeded in production. */
export function loadUserServiceConfig(
  source: Record<string, string | undefined> = process.env,
): UserServiceConfig {
  const config = loadConfig(userServiceConfigSpec, source);
  if (config.appEnv !== 'production') return config;
  if (source.SEED_DEV_USERS && config.seedDevUsers) {
    throw new ConfigError([
      'SEED_DEV_USERS=true is refused when APP_ENV=production: dev users have public passwords',
    ]);
  }
  return { ...config, seedDevUsers: false };
}
