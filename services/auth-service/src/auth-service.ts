import { readFileSync } from 'node:fs';
import { createServiceApp, type Logger, type ServiceApp } from '@mrp/platform';
import { UserDirectoryClient } from './clients/user-directory.client.ts';
import type { AuthServiceConfig } from './config.ts';
import { createKeyStore, loadOrCreateDevSigningKey, type KeyStore } from './domain/key-store.ts';
import { TokenIssuer } from './domain/token-issuer.ts';
import { jwksRoutes } from './http/jwks.routes.ts';
import { loginRoutes } from './http/login.routes.ts';
import { serviceTokenRoutes } from './http/service-token.routes.ts';

export const SERVICE_NAME = 'auth-service';

export interface AuthService {
  readonly service: ServiceApp;
  readonly keys: KeyStore;
  readonly tokens: TokenIssuer;
}

function signingKeyPem(config: AuthServiceConfig, logger: Logger): string {
  if (config.signingKeyFile) return readFileSync(config.signingKeyFile, 'utf8');
  if (config.signingKeyPem) return config.signingKeyPem;
  const dev = loadOrCreateDevSigningKey(config.devKeysDir);
  logger.info({ path: dev.path, created: dev.created }, 'using the development signing key');
  return dev.pem;
}

/** Wires auth-service: keys, token issuer, the user directory client and the routes. */
export async function createAuthService(config: AuthServiceConfig, logger: Logger): Promise<AuthService> {
  const keys = await createKeyStore(
    signingKeyPem(config, logger),
    config.extraPublicKeyFiles.map((file) => readFileSync(file, 'utf8')),
  );
  logger.info(
    { kid: keys.signing.kid, published: keys.jwks.keys.map((key) => key.kid) },
    'signing keys loaded',
  );
  const tokens = new TokenIssuer(keys.signing, config);
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
      ...loginRoutes(directory, tokens),
      ...jwksRoutes(keys),
      ...serviceTokenRoutes(tokens, config.serviceClients),
    ],
    // Keys are loaded before the app exists, and login's dependency (user-service) has readiness of its
    // own: auth-service must keep serving its JWKS while user-service is down.
    readiness: [],
    bodyLimit: config.bodyLimit,
    maxInFlight: config.maxInFlight,
  });
  return { service, keys, tokens };
}
