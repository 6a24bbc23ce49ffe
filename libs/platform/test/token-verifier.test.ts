import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import {
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';
import { AppError, createTokenVerifier, type TokenVerifier } from '../src/index.ts';
import { VerifiedTokenCache } from '../src/token-cache.ts';

const ISSUER = 'https://auth.test';
const AUDIENCE = 'mrp-test';

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

async function tokenFor(
  key: SigningKey,
  claims: { sub?: string; expiresInS?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ roles: ['viewer'], email: 'v@example.com' })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(claims.sub ?? 'user-1')
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.expiresInS ?? 300))
    .sign(key.privateKey);
}

/** What a verifier answers: the subject, or the refusal's status and detail. */
async function outcome(verify: TokenVerifier, token: string): Promise<string> {
  try {
    return `ok ${(await verify(token)).subject}`;
  } catch (error) {
    if (error instanceof AppError) return `${error.status} ${error.detail ?? ''}`;
    throw error;
  }
}

/** A JWKS endpoint on a local port whose key set the test changes, counting the fetches. */
class JwksEndpoint {
  keys: JWK[] = [];
  fetches = 0;
  /** What the endpoint answers instead of the key set, when set. */
  answer: { status: number; body: string } | undefined;
  /** How long it waits before answering (ms). */
  delayMs = 0;
  #server: Server | undefined;

  async start(): Promise<string> {
    this.#server = createServer((_request, response) => {
      this.fetches += 1;
      setTimeout(() => {
        response.statusCode = this.answer?.status ?? 200;
        response.setHeader('content-type', 'application/json');
        response.end(this.answer?.body ?? JSON.stringify({ keys: this.keys }));
      }, this.delayMs);
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.#server?.close(() => {
        resolve();
      }),
    );
  }
}

describe('token verification with the verified-token cache', function () {
  let first: SigningKey;
  let second: SigningKey;

  before(async function () {
    first = await signingKey('key-1');
    second = await signingKey('key-2');
  });

  /** A fixed key set that counts how often a signature had to be checked. */
  function countingKeys(): { keys: JWTVerifyGetKey; lookups: () => number } {
    let lookups = 0;
    const byKid = new Map([
      [first.kid, first],
      [second.kid, second],
    ]);
    return {
      keys: async (header) => {
        lookups += 1;
        const key = byKid.get(header.kid ?? '');
        if (!key) throw new Error('unknown kid');
        return await importJWK(key.jwk, 'ES256');
      },
      lookups: () => lookups,
    };
  }

  it('verifies a token once, then answers from the cache with the same principal', async () => {
    const counting = countingKeys();
    const verify = createTokenVerifier(
      { jwksUrl: 'http://unused', issuer: ISSUER, audience: AUDIENCE },
      counting.keys,
    );
    const token = await tokenFor(first);
    const one = await verify(token);
    const two = await verify(token);
    expect(two).to.equal(one);
    expect(one.roles).to.deep.equal(['viewer']);
    expect(counting.lookups()).to.equal(1);
    await verify(await tokenFor(first, { sub: 'user-2' }));
    expect(counting.lookups()).to.equal(2);
  });

  it('verifies every time with the cache off', async () => {
    const counting = countingKeys();
    const verify = createTokenVerifier(
      { jwksUrl: 'http://unused', issuer: ISSUER, audience: AUDIENCE, cacheEntries: 0 },
      counting.keys,
    );
    const token = await tokenFor(first);
    await verify(token);
    await verify(token);
    expect(counting.lookups()).to.equal(2);
  });

  it('refuses an expired token even though it was cached', async function () {
    this.timeout(5000);
    const verify = createTokenVerifier(
      { jwksUrl: 'http://unused', issuer: ISSUER, audience: AUDIENCE },
      countingKeys().keys,
    );
    const token = await tokenFor(first, { expiresInS: 1 });
    expect(await outcome(verify, token)).to.equal('ok user-1');
    // exp has whole-second precision: wait until the second it names has passed.
    await sleep(2100);
    expect(await outcome(verify, token)).to.equal('401 the access token has expired');
  });

  it('never caches a refusal, and a token with another payload under a cached signature is refused', async () => {
    const counting = countingKeys();
    const verify = createTokenVerifier(
      { jwksUrl: 'http://unused', issuer: ISSUER, audience: AUDIENCE },
      counting.keys,
    );
    const token = await tokenFor(first);
    expect(await outcome(verify, token)).to.equal('ok user-1');
    const [header, , signature] = token.split('.');
    const forgedPayload = Buffer.from(
      JSON.stringify({
        sub: 'admin-1',
        roles: ['admin'],
        iss: ISSUER,
        aud: AUDIENCE,
        iat: 1,
        exp: 4102444800,
      }),
    ).toString('base64url');
    const forged = `${header}.${forgedPayload}.${signature}`;
    expect(await outcome(verify, forged)).to.equal('401 the access token signature is invalid');
    expect(await outcome(verify, forged)).to.equal('401 the access token signature is invalid');
    expect(counting.lookups()).to.equal(3);
  });

  describe('against a JWKS endpoint', function () {
    const endpoint = new JwksEndpoint();
    let jwksUrl = '';

    before(async function () {
      jwksUrl = await endpoint.start();
    });

    after(async function () {
      await endpoint.stop();
    });

    it('refuses a cached token once its key is gone from the JWKS, at the next fetch of the key set', async function () {
      endpoint.keys = [first.jwk];
      const verify = createTokenVerifier({ jwksUrl, issuer: ISSUER, audience: AUDIENCE, jwksMaxAgeMs: 200 });
      const token = await tokenFor(first);
      expect(await outcome(verify, token)).to.equal('ok user-1');
      expect(await outcome(verify, token)).to.equal('ok user-1');
      expect(await outcome(verify, token)).to.equal('ok user-1');
      expect(endpoint.fetches).to.equal(1);

      // The key is retired: the JWKS now holds only the next key.
      endpoint.keys = [second.jwk];
      await sleep(300);
      expect(await outcome(verify, token)).to.equal('401 the access token was not signed by a known key');
      expect(endpoint.fetches).to.equal(2);
      expect(await outcome(verify, await tokenFor(second, { sub: 'user-2' }))).to.equal('ok user-2');
    });

    it('forgets every cached token when the key set is fetched again for a new key', async function () {
      endpoint.keys = [first.jwk];
      endpoint.fetches = 0;
      const verify = createTokenVerifier({ jwksUrl, issuer: ISSUER, audience: AUDIENCE, jwksMaxAgeMs: 200 });
      const old = await tokenFor(first);
      expect(await outcome(verify, old)).to.equal('ok user-1');
      expect(await outcome(verify, old)).to.equal('ok user-1');
      endpoint.keys = [second.jwk];
      await sleep(300);
      // A token of the new key makes the verifier fetch the key set; the old key's cached token is
      // then checked against it, and refused.
      expect(await outcome(verify, await tokenFor(second, { sub: 'user-2' }))).to.equal('ok user-2');
      expect(endpoint.fetches).to.equal(2);
      expect(await outcome(verify, old)).to.equal('401 the access token was not signed by a known key');
    });

    afterEach(function () {
      endpoint.answer = undefined;
      endpoint.delayMs = 0;
    });

    it('fetches the key set once for concurrent first requests, and a token of an unknown kid at most once per cooldown', async function () {
      endpoint.keys = [first.jwk];
      endpoint.fetches = 0;
      const verify = createTokenVerifier({ jwksUrl, issuer: ISSUER, audience: AUDIENCE, cacheEntries: 0 });
      const token = await tokenFor(first);
      expect(await Promise.all([1, 2, 3, 4].map(() => outcome(verify, token)))).to.deep.equal(
        Array(4).fill('ok user-1'),
      );
      expect(endpoint.fetches).to.equal(1);
      // A kid the set does not hold, right after a fetch: refused without asking again.
      const stranger = await signingKey('stranger');
      expect(await outcome(verify, await tokenFor(stranger))).to.equal(
        '401 the access token was not signed by a known key',
      );
      expect(endpoint.fetches).to.equal(1);
    });

    const outages: readonly (readonly [what: string, set: () => void])[] = [
      ['answers 500', () => (endpoint.answer = { status: 500, body: '{}' })],
      [
        'answers 200 with something that is not a key set',
        () => (endpoint.answer = { status: 200, body: '[1]' }),
      ],
      ['answers 200 with a body that is not JSON', () => (endpoint.answer = { status: 200, body: 'keys' })],
    ];
    for (const [what, set] of outages) {
      it(`when the JWKS ${what}, a token is answered 503 (the keys cannot be had), not 401`, async function () {
        set();
        const verify = createTokenVerifier({ jwksUrl, issuer: ISSUER, audience: AUDIENCE });
        expect(await outcome(verify, await tokenFor(first))).to.equal(
          '503 the token signing keys cannot be fetched right now',
        );
      });
    }

    it('when the JWKS does not answer within 2 s, a token is answered 503, and the next request fetches again', async function () {
      this.timeout(10_000);
      endpoint.keys = [first.jwk];
      endpoint.delayMs = 2500;
      endpoint.fetches = 0;
      const verify = createTokenVerifier({ jwksUrl, issuer: ISSUER, audience: AUDIENCE });
      const token = await tokenFor(first);
      const started = Date.now();
      expect(await outcome(verify, token)).to.equal('503 the token signing keys cannot be fetched right now');
      expect(Date.now() - started).to.be.below(2400);
      endpoint.delayMs = 0;
      expect(await outcome(verify, token)).to.equal('ok user-1');
      expect(endpoint.fetches).to.equal(2);
    });

    it('when nothing listens at the JWKS address, a token is answered 503', async function () {
      const verify = createTokenVerifier({
        jwksUrl: 'http://127.0.0.1:9/.well-known/jwks.json',
        issuer: ISSUER,
        audience: AUDIENCE,
      });
      expect(await outcome(verify, await tokenFor(first))).to.equal(
        '503 the token signing keys cannot be fetched right now',
      );
    });
  });
});

describe('VerifiedTokenCache', () => {
  it('serves an entry until its expiry and drops it then', () => {
    let now = 1000;
    const cache = new VerifiedTokenCache<string>(10, () => now);
    cache.set('a', 'principal', 2000);
    expect(cache.get('a')).to.equal('principal');
    now = 1999;
    expect(cache.get('a')).to.equal('principal');
    now = 2000;
    expect(cache.get('a')).to.equal(undefined);
    expect(cache.size).to.equal(0);
  });

  it('does not keep what has already expired, nor anything when its size is 0', () => {
    const cache = new VerifiedTokenCache<string>(10, () => 5000);
    cache.set('a', 'x', 5000);
    expect(cache.size).to.equal(0);
    const off = new VerifiedTokenCache<string>(0, () => 0);
    off.set('a', 'x', 10);
    expect(off.get('a')).to.equal(undefined);
  });

  it('stays within its bound, evicting the oldest entry first', () => {
    const cache = new VerifiedTokenCache<number>(3, () => 0);
    for (let index = 0; index < 5; index += 1) cache.set(`k${index}`, index, 100);
    expect(cache.size).to.equal(3);
    expect(cache.get('k0')).to.equal(undefined);
    expect(cache.get('k1')).to.equal(undefined);
    expect([cache.get('k2'), cache.get('k3'), cache.get('k4')]).to.deep.equal([2, 3, 4]);
  });

  it('keys by a hash of the whole token', () => {
    const key = VerifiedTokenCache.keyOf('a.b.c');
    expect(key).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(key).to.not.include('a.b.c');
    expect(VerifiedTokenCache.keyOf('a.b.c')).to.equal(key);
    expect(VerifiedTokenCache.keyOf('x.b.c')).to.not.equal(key);
  });
});
