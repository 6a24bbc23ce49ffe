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
  if (config.appEnv !== 'production') return config;
  if (source.SEED_DEV_USERS && config.seedDevUsers) {
    throw new ConfigError([
      'SEED_DEV_USERS=true is refused when APP_ENV=production: dev users have public passwords',
    ]);
  }
  return { ...config, seedDevUsers: false };
}
