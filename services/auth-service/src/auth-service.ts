import { readFileSync } from 'node:fs';
import { createServiceApp, type Logger, type ServiceApp } from '@mrp/platform';
import { UserDirectoryClient } from './clients/user-directory.client.ts';
import type { AuthServiceConfig } from './config.ts';
import { KEY_FILES, KeyRing, readKeyDirectory } from './domain/key-ring.ts';
import { createKeyStore, loadOrCreateDevSigningKey, type KeyStore } from './domain/key-store.ts';
import { TokenIssuer } from './domain/token-issuer.ts';
import { jwksRoutes } from './http/jwks.routes.ts';
import { loginRoutes } from './http/login.routes.ts';
import { LoginThrottle } from './domain/login-throttle.ts';
import { serviceTokenRoutes } from './http/service-token.routes.ts';

export const SERVICE_NAME = 'auth-service';

export interface AuthService {
  readonly service: ServiceApp;
  readonly keys: KeyRing;
  readonly tokens: TokenIssuer;
  /** Stops re-reading the key directory. */
  close(): Promise<void>;
}

function signingKeyPem(config: AuthServiceConfig, logger: Logger): string {
  if (config.signingKeyFile) return readFileSync(config.signingKeyFile, 'utf8');
  if (config.signingKeyPem) return config.signingKeyPem;
  const dev = loadOrCreateDevSigningKey(config.devKeysDir);
  logger.info({ path: dev.path, created: dev.created }, 'using the development signing key');
  return dev.pem;
}

/** The public keys of AUTH_EXTRA_PUBLIC_KEY_FILES, read once at start: published beside the others. */
const extraPublicKeys = (config: AuthServiceConfig) =>
  config.extraPublicKeyFiles.map((file) => readFileSync(file, 'utf8'));

async function initialKeys(config: AuthServiceConfig, logger: Logger): Promise<KeyStore> {
  if (config.keysDir) {
    // Outside production an empty key directory gets a generated current key (make dev starts this way).
    if (config.appEnv !== 'production') {
      const dev = loadOrCreateDevSigningKey(config.keysDir, KEY_FILES.current);
      if (dev.created) logger.info({ path: dev.path }, 'generated a development signing key');
    }
    return readKeyDirectory(config.keysDir, extraPublicKeys(config));
  }
  return createKeyStore(signingKeyPem(config, logger), extraPublicKeys(config));
}

const published = (keys: KeyStore) => ({
  kid: keys.signing.kid,
  published: keys.jwks.keys.map((key) => key.kid),
});

/**
 * Re-reads the key directory every `AUTH_KEYS_RELOAD_MS`: a rotation step (a file written, renamed or
 * removed) is in force within that time, without a restart. A directory that cannot be read as a whole
 * (current.pem missing, a bad PEM) leaves the keys in use as they are and is reported once per problem.
 */
function watchKeyDirectory(
  dir: string,
  alsoPublished: readonly string[],
  ring: KeyRing,
  { intervalMs, logger }: { intervalMs: number; logger: Logger },
): () => void {
  let lastProblem: string | undefined;
  let reading = false;
  const timer = setInterval(() => {
    if (reading) return;
    reading = true;
    readKeyDirectory(dir, alsoPublished)
      .then((store) => {
        lastProblem = undefined;
        if (ring.replace(store)) logger.info(published(store), 'signing keys reloaded');
      })
      .catch((error: unknown) => {
        const problem = (error as Error).message;
        if (problem !== lastProblem) {
          lastProblem = problem;
          logger.error({ err: error, dir }, 'the key directory cannot be read; the keys in use are kept');
        }
      })
      .finally(() => {
        reading = false;
      });
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
  };
}

/** Wires auth-service: keys, token issuer, the user directory client and the routes. */
export async function createAuthService(config: AuthServiceConfig, logger: Logger): Promise<AuthService> {
  const keys = new KeyRing(await initialKeys(config, logger));
  logger.info(published(keys), 'signing keys loaded');
  const stopWatching = config.keysDir
    ? watchKeyDirectory(config.keysDir, extraPublicKeys(config), keys, {
        intervalMs: config.keysReloadMs,
        logger,
      })
    : () => undefined;
  const tokens = new TokenIssuer(keys, config);
  const directory = new UserDirectoryClient(tokens, {
    baseUrl: config.userServiceUrl,
    timeoutMs: config.userServiceTimeoutMs,
    serviceName: SERVICE_NAME,
  });
  const service = createServiceApp({
    serviceName: SERVICE_NAME,
    version: '0.1.0',
    logger,
    routes: [
      ...loginRoutes(directory, tokens, new LoginThrottle()),
      ...jwksRoutes(keys),
      ...serviceTokenRoutes(tokens, config.serviceClients),
    ],
    // Keys are loaded before the app exists, and login's dependency (user-service) has readiness of its
    // own: auth-service must keep serving its JWKS while user-service is down.
    readiness: [],
    bodyLimit: config.bodyLimit,
    maxInFlight: config.maxInFlight,
  });
  return {
    service,
    keys,
    tokens,
    close() {
      stopWatching();
      return Promise.resolve();
    },
  };
}
