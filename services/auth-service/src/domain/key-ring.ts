import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { createKeyStore, type KeyStore, type SigningKey } from './key-store.ts';

/**
 * The files of a key directory (`AUTH_KEYS_DIR`), as the rotation procedure moves them (docs/runbook.md,
 * "Rotating the signing key"): `current.pem` signs; `next.pem` is published before it signs, so that every
 * verifier knows it by then; `previous.pem` stays published after it stopped signing, until the tokens it
 * signed have expired.
 */
export const KEY_FILES = { current: 'current.pem', next: 'next.pem', previous: 'previous.pem' } as const;

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The key store a key directory describes: current signs; current, next and previous are published, and
 * `alsoPublished` (public keys from elsewhere, AUTH_EXTRA_PUBLIC_KEY_FILES) with them.
 */
export async function readKeyDirectory(
  dir: string,
  alsoPublished: readonly string[] = [],
): Promise<KeyStore> {
  const current = await readOptional(join(dir, KEY_FILES.current));
  if (current === undefined) throw new Error(`${join(dir, KEY_FILES.current)} is missing`);
  const published = [...alsoPublished];
  for (const name of [KEY_FILES.next, KEY_FILES.previous]) {
    const pem = await readOptional(join(dir, name));
    if (pem !== undefined) published.push(pem);
  }
  return createKeyStore(current, published);
}

const kidsOf = (store: KeyStore) => store.jwks.keys.map((key) => key.kid).join(',');

/**
 * The keys auth-service signs with and publishes, swappable while it runs: a rotation changes the files of
 * the key directory, and `reload` makes the change the one every later token and JWKS answer uses.
 */
export class KeyRing implements KeyStore {
  #store: KeyStore;

  constructor(initial: KeyStore) {
    this.#store = initial;
  }

  get signing(): SigningKey {
    return this.#store.signing;
  }

  get jwks(): { keys: JWK[] } {
    return this.#store.jwks;
  }

  /** Takes `store` when it differs from the one in use (signing key or published keys); true if it did. */
  replace(store: KeyStore): boolean {
    if (store.signing.kid === this.#store.signing.kid && kidsOf(store) === kidsOf(this.#store)) return false;
    this.#store = store;
    return true;
  }
}
