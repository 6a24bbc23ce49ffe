export { createAuthService, SERVICE_NAME, type AuthService } from './auth-service.ts';
export { authServiceConfigSpec, loadAuthServiceConfig, type AuthServiceConfig } from './config.ts';
export {
  createKeyStore,
  generateSigningKeyPem,
  SIGNING_ALGORITHM,
  type KeyStore,
} from './domain/key-store.ts';
export { KEY_FILES, KeyRing, readKeyDirectory } from './domain/key-ring.ts';
export { TokenIssuer } from './domain/token-issuer.ts';
