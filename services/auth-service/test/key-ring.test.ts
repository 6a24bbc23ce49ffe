import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { decodeProtectedHeader } from 'jose';
import { loadAuthServiceConfig } from '../src/config.ts';
import { KEY_FILES, KeyRing, readKeyDirectory } from '../src/domain/key-ring.ts';
import { createKeyStore, generateSigningKeyPem } from '../src/domain/key-store.ts';
import { TokenIssuer } from '../src/domain/token-issuer.ts';

describe('the key directory and the key ring', () => {
  let dir: string;
  const pems = {
    current: generateSigningKeyPem(),
    next: generateSigningKeyPem(),
    previous: generateSigningKeyPem(),
  };
  const kid = async (pem: string) => (await createKeyStore(pem)).signing.kid;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mrp-keys-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs with current.pem and publishes current, next and previous, in that order', async () => {
    for (const [role, pem] of Object.entries(pems))
      writeFileSync(join(dir, KEY_FILES[role as keyof typeof KEY_FILES]), pem);
    const store = await readKeyDirectory(dir);
    expect(store.signing.kid).to.equal(await kid(pems.current));
    expect(store.jwks.keys.map((key) => key.kid)).to.deep.equal([
      await kid(pems.current),
      await kid(pems.next),
      await kid(pems.previous),
    ]);
  });

  it("publishes public keys given from elsewhere (AUTH_EXTRA_PUBLIC_KEY_FILES) beside the directory's, and still signs with current.pem", async () => {
    writeFileSync(join(dir, KEY_FILES.current), pems.current);
    const elsewhere = generateSigningKeyPem();
    const publicPem = createPublicKey(elsewhere).export({ type: 'spki', format: 'pem' }).toString();
    const store = await readKeyDirectory(dir, [publicPem]);
    expect(store.signing.kid).to.equal(await kid(pems.current));
    expect(store.jwks.keys.map((key) => key.kid)).to.have.members([
      await kid(pems.current),
      await kid(elsewhere),
    ]);
  });

  it('needs current.pem, and refuses a directory with a bad key rather than publishing part of it', async () => {
    writeFileSync(join(dir, KEY_FILES.next), pems.next);
    await readKeyDirectory(dir).then(
      () => expect.fail('read without current.pem'),
      (error: unknown) => expect((error as Error).message).to.include('current.pem is missing'),
    );
    writeFileSync(join(dir, KEY_FILES.current), pems.current);
    writeFileSync(join(dir, KEY_FILES.previous), 'not a key');
    await readKeyDirectory(dir).then(
      () => expect.fail('read with a bad previous.pem'),
      (error: unknown) => expect(error).to.be.an('error'),
    );
  });

  it('after a switch, the issuer signs the next token with the new key, and the old key stays published', async () => {
    writeFileSync(join(dir, KEY_FILES.current), pems.current);
    const ring = new KeyRing(await readKeyDirectory(dir));
    const issuer = new TokenIssuer(ring, {
      issuer: 'mrp-auth',
      audience: 'mrp-platform',
      serviceAudience: 'mrp-services',
      accessTokenTtlSeconds: 60,
      serviceTokenTtlSeconds: 60,
    });
    const user = { id: 'user-1', email: 'a@example.com', role: 'viewer', token_version: 0 };
    const before = await issuer.issueAccessToken(user);
    expect(decodeProtectedHeader(before.token).kid).to.equal(await kid(pems.current));

    expect(ring.replace(await readKeyDirectory(dir)), 'the same keys: no change').to.equal(false);
    writeFileSync(join(dir, KEY_FILES.previous), pems.current);
    writeFileSync(join(dir, KEY_FILES.current), pems.next);
    expect(ring.replace(await readKeyDirectory(dir)), 'switched').to.equal(true);

    const after = await issuer.issueAccessToken(user);
    expect(decodeProtectedHeader(after.token).kid).to.equal(await kid(pems.next));
    expect(ring.jwks.keys.map((key) => key.kid)).to.deep.equal([
      await kid(pems.next),
      await kid(pems.current),
    ]);
  });

  it('a key directory satisfies production, which otherwise needs a configured key', () => {
    expect(() => loadAuthServiceConfig({ APP_ENV: 'production' })).to.throw(/AUTH_KEYS_DIR/);
    expect(loadAuthServiceConfig({ APP_ENV: 'production', AUTH_KEYS_DIR: dir }).keysDir).to.equal(dir);
  });
});
