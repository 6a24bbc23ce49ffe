import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { ConfigError } from '@mrp/platform';
import { loadAuthServiceConfig } from '../src/config.ts';
import { createKeyStore, generateSigningKeyPem } from '../src/domain/key-store.ts';

describe('signing keys', () => {
  it("derives the kid from the key's thumbprint, so every replica agrees on it", async () => {
    const pem = generateSigningKeyPem();
    const [a, b] = [await createKeyStore(pem), await createKeyStore(pem)];
    expect(a.signing.kid).to.equal(b.signing.kid).and.to.have.length(43);
  });

  it('publishes extra keys after the signing key, without duplicates and without private parts', async () => {
    const signing = generateSigningKeyPem();
    const previous = generateSigningKeyPem();
    const store = await createKeyStore(signing, [previous, previous, signing]);
    expect(store.jwks.keys).to.have.length(2);
    expect(store.jwks.keys[0]!.kid).to.equal(store.signing.kid);
    for (const key of store.jwks.keys) expect(key).not.to.have.property('d');
  });

  it('refuses a key that is not P-256', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    let failure: unknown;
    await createKeyStore(pem).catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/P-256/);
  });

  it('production requires a configured signing key', () => {
    expect(() => loadAuthServiceConfig({ APP_ENV: 'production' })).to.throw(ConfigError, /AUTH_SIGNING_KEY/);
  });
});

describe('service clients', () => {
  it('outside production, case-service has a dev client when none is configured', () => {
    expect(loadAuthServiceConfig({}).serviceClients).to.deep.equal(['case-service:dev-case-service-secret']);
  });

  it('production has no preset client and refuses short secrets', () => {
    const key = generateSigningKeyPem();
    expect(
      loadAuthServiceConfig({ APP_ENV: 'production', AUTH_SIGNING_KEY: key }).serviceClients,
    ).to.deep.equal([]);
    expect(() =>
      loadAuthServiceConfig({
        APP_ENV: 'production',
        AUTH_SIGNING_KEY: key,
        AUTH_SERVICE_CLIENTS: 'case-service:short',
      }),
    ).to.throw(ConfigError, /AUTH_SERVICE_CLIENTS/);
  });
});
