import { ConfigError, env, isDevelopmentSecret, loadConfig, type ConfigOf, serviceKeys } from '@mrp/platform';

/** Every setting of auth-service: env var, default and meaning. */
export const authServiceConfigSpec = {
  ...serviceKeys({ port: 3001, bodyLimit: '16kb' }),
  issuer: env.string('AUTH_ISSUER', 'mrp-auth', '`iss` of the tokens issued.'),
  audience: env.string('AUTH_AUDIENCE', 'mrp-platform', '`aud` of the access tokens issued to users.'),
  serviceAudience: env.string(
    'AUTH_SERVICE_AUDIENCE',
    'mrp-services',
    '`aud` of service tokens (client credentials): the services accept it, the gateway does not.',
  ),
  accessTokenTtlSeconds: env.int('AUTH_ACCESS_TOKEN_TTL_SECONDS', 900, 'Lifetime of a user access token.', {
    min: 30,
    max: 86_400,
  }),
  serviceTokenTtlSeconds: env.int('AUTH_SERVICE_TOKEN_TTL_SECONDS', 60, 'Lifetime of a service token.', {
    min: 10,
    max: 3600,
  }),
  keysDir: env.optional(
    'AUTH_KEYS_DIR',
    'A directory of PEM keys, re-read while running: current.pem signs, next.pem and previous.pem are only published (rotation: docs/runbook.md). Takes precedence over AUTH_SIGNING_KEY_FILE and AUTH_SIGNING_KEY.',
  ),
  keysReloadMs: env.int(
    'AUTH_KEYS_RELOAD_MS',
    10_000,
    'How often the files of AUTH_KEYS_DIR are read again.',
    { min: 100, max: 3_600_000 },
  ),
  signingKeyFile: env.optional(
    'AUTH_SIGNING_KEY_FILE',
    'PKCS#8 PEM file of the ES256 private key that signs tokens.',
  ),
  signingKeyPem: env.optional(
    'AUTH_SIGNING_KEY',
    'The same key as PEM text (e.g. from a Secret), when no file is given.',
  ),
  extraPublicKeyFiles: env.list(
    'AUTH_EXTRA_PUBLIC_KEY_FILES',
    [],
    'Comma-separated PEM files of keys published in the JWKS but not used to sign (rotation).',
  ),
  devKeysDir: env.string(
    'AUTH_DEV_KEYS_DIR',
    '.dev/keys',
    'Outside production, where a signing key is generated once when none is configured.',
  ),
  userServiceUrl: env.url(
    'USER_SERVICE_URL',
    'http://127.0.0.1:3002',
    'Base URL of user-service, for the credential check.',
  ),
  userServiceTimeoutMs: env.int('USER_SERVICE_TIMEOUT_MS', 3000, 'Time limit of one credential check.', {
    min: 100,
    max: 30_000,
  }),
  serviceClients: env.list(
    'AUTH_SERVICE_CLIENTS',
    [],
    'Comma-separated `name:secret` pairs of services allowed to get service tokens (client credentials grant). Outside production, unset means the dev client of case-service.',
  ),
};

export type AuthServiceConfig = ConfigOf<typeof authServiceConfigSpec>;

/** The development client of case-service, used outside production when none is configured (its secret is public, like the dev users'). */
export const DEV_SERVICE_CLIENTS: readonly string[] = ['case-service:dev-case-service-secret'];

export function loadAuthServiceConfig(
  source: Record<string, string | undefined> = process.env,
): AuthServiceConfig {
  const loaded = loadConfig(authServiceConfigSpec, source);
  const config =
    loaded.appEnv !== 'production' && loaded.serviceClients.length === 0
      ? { ...loaded, serviceClients: [...DEV_SERVICE_CLIENTS] }
      : loaded;
  const problems: string[] = [];
  if (config.appEnv === 'production' && !config.keysDir && !config.signingKeyFile && !config.signingKeyPem) {
    problems.push(
      'AUTH_KEYS_DIR, AUTH_SIGNING_KEY_FILE or AUTH_SIGNING_KEY is required when APP_ENV=production',
    );
  }
  for (const client of config.serviceClients) {
    const [name, secret] = [client.slice(0, client.indexOf(':')), client.slice(client.indexOf(':') + 1)];
    if (!client.includes(':') || !name || secret.length < 16) {
      problems.push(
        `AUTH_SERVICE_CLIENTS: each entry is name:secret with a secret of at least 16 characters`,
      );
    } else if (config.appEnv === 'production' && isDevelopmentSecret(secret)) {
      problems.push(
        `AUTH_SERVICE_CLIENTS: the secret of ${name} is a development secret, which APP_ENV=production refuses`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
