import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, importPKCS8, type CryptoKey, type JWK } from 'jose';

export const SIGNING_ALGORITHM = 'ES256';

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
}

/** The key that signs, and every public key the JWKS publishes (the signing one first). */
export interface KeyStore {
  readonly signing: SigningKey;
  readonly jwks: { keys: JWK[] };
}

async function publicJwk(key: KeyObject): Promise<JWK> {
  const jwk = await exportJWK(key);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg: SIGNING_ALGORITHM, use: 'sig' };
}

/**
 * Builds the key store from a PEM private key (PKCS#8, or SEC1 `EC PRIVATE KEY` as Helm's `genPrivateKey`
 * and `openssl ecparam -genkey` write it) plus extra PEM keys to publish. The `kid` is the key's RFC 7638
 * thumbprint, so the same key always gets the same `kid` on every replica.
 */
export async function createKeyStore(
  signingPem: string,
  extraPems: readonly string[] = [],
): Promise<KeyStore> {
  const signingPublic = await publicJwk(createPublicKey(signingPem));
  if (signingPublic.kty !== 'EC' || signingPublic.crv !== 'P-256') {
    throw new Error('the signing key must be an EC P-256 key (ES256)');
  }
  const pkcs8 = createPrivateKey(signingPem).export({ type: 'pkcs8', format: 'pem' }).toString();
  const privateKey = await importPKCS8(pkcs8, SIGNING_ALGORITHM);
  const keys = [signingPublic];
  for (const pem of extraPems) {
    const jwk = await publicJwk(createPublicKey(pem));
    if (!keys.some((key) => key.kid === jwk.kid)) keys.push(jwk);
  }
  return { signing: { kid: signingPublic.kid!, privateKey }, jwks: { keys } };
}

/** A new ES256 private key as PKCS#8 PEM. */
export function generateSigningKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/**
 * For development only: the signing key kept in `dir`, generated on first use, so restarts keep
 * issued tokens valid. The folder is git-ignored and the file readable by its owner only.
 */
export function loadOrCreateDevSigningKey(
  dir: string,
  fileName = 'auth-signing-key.pem',
): { pem: string; path: string; created: boolean } {
  const path = join(dir, fileName);
  if (existsSync(path)) return { pem: readFileSync(path, 'utf8'), path, created: false };
  mkdirSync(dir, { recursive: true });
  const pem = generateSigningKeyPem();
  try {
    writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process generated it at the same moment: use theirs.
    if ((error as { code?: string }).code === 'EEXIST')
      return { pem: readFileSync(path, 'utf8'), path, created: false };
    throw error;
  }
  chmodSync(path, 0o600);
  return { pem, path, created: true };
}
