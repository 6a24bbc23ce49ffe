import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose';
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

  it('accepts the same key in SEC1 form (Helm’s genPrivateKey), with the same kid, and signs with it', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const sec1 = privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(sec1).to.include('BEGIN EC PRIVATE KEY');
    const [fromSec1, fromPkcs8] = [await createKeyStore(sec1), await createKeyStore(pkcs8)];
    expect(fromSec1.signing.kid).to.equal(fromPkcs8.signing.kid);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: fromSec1.signing.kid })
      .sign(fromSec1.signing.privateKey);
    const verified = await jwtVerify(token, createLocalJWKSet(fromPkcs8.jwks));
    expect(verified.protectedHeader.kid).to.equal(fromPkcs8.signing.kid);
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
