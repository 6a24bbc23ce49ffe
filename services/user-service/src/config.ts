import {
  ConfigError,
  env,
  loadConfig,
  type ConfigOf,
  serviceKeys,
  databaseKeys,
  tokenVerificationKeys,
} from '@mrp/platform';

/** Every setting of user-service: env var, default and meaning. */
export const userServiceConfigSpec = {
  ...serviceKeys({ port: 3002 }),
  ...databaseKeys('mrp_user'),
  ...tokenVerificationKeys(),
  bootstrapAdminEmail: env.optional(
    'BOOTSTRAP_ADMIN_EMAIL',
    'The migration entry point creates this admin when no user has the email: the first admin of a production install.',
  ),
  bootstrapAdminPassword: env.optionalSecret(
    'BOOTSTRAP_ADMIN_PASSWORD',
    "That admin's password (at least 12 characters; from a Secret).",
  ),
  redisUrl: env.url(
    'REDIS_URL',
    'redis://127.0.0.1:6379',
    'Redis, where the token revocations are published for every service (ADR 0021).',
  ),
  revocationRetentionSeconds: env.int(
    'TOKEN_REVOCATION_RETENTION_S',
    1200,
    'How long a revocation is kept: longer than any access token lives (15 minutes) plus clock skew.',
    { min: 60, max: 86_400 },
  ),
  seedDevUsers: env.bool(
    'SEED_DEV_USERS',
    true,
    'Create the dev/test users (admin, analyst, viewer) if missing; refused in production.',
  ),
};

export type UserServiceConfig = ConfigOf<typeof userServiceConfigSpec>;

/** Reads and checks the configuration; dev users are never seeded in production. */
export function loadUserServiceConfig(
  source: Record<string, string | undefined> = process.env,
): UserServiceConfig {
  const config = loadConfig(userServiceConfigSpec, source);
  const problems: string[] = [];
  if ((config.bootstrapAdminEmail === undefined) !== (config.bootstrapAdminPassword === undefined)) {
    problems.push('BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD go together: set both or neither');
  }
  if (config.bootstrapAdminEmail !== undefined && !/^[^@\s]+@[^@\s]+$/.test(config.bootstrapAdminEmail)) {
    problems.push('BOOTSTRAP_ADMIN_EMAIL must be an email address');
  }
  if (config.bootstrapAdminPassword !== undefined && config.bootstrapAdminPassword.length < 12) {
    problems.push('BOOTSTRAP_ADMIN_PASSWORD must have at least 12 characters');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  if (config.appEnv !== 'production') return config;
  if (source.SEED_DEV_USERS && config.seedDevUsers) {
    throw new ConfigError([
      'SEED_DEV_USERS=true is refused when APP_ENV=production: dev users have public passwords',
    ]);
  }
  return { ...config, seedDevUsers: false };
}
