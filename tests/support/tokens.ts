import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, SignJWT, type CryptoKey, type KeyObject } from 'jose';
import { AUDIENCE, ISSUER } from './platform.ts';

interface Claims {
  sub?: string;
  roles?: string[];
  iss?: string;
  aud?: string;
  /** Seconds from now; negative for a token that has already expired. */
  expiresIn?: number;
}

async function sign(key: CryptoKey | KeyObject, kid: string, claims: Claims): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const expiresIn = claims.expiresIn ?? 300;
  return new SignJWT({ roles: claims.roles ?? ['admin'] })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setSubject(claims.sub ?? '00000000-0000-4000-8000-000000000001')
    .setJti(crypto.randomUUID())
    .setIssuedAt(expiresIn < 0 ? now + expiresIn - 600 : now)
    .setExpirationTime(now + expiresIn)
    .sign(key);
}

/** Signs tokens with a key file (the real auth-service key, or a rotation key). */
export async function signerFor(pemFile: string): Promise<(claims?: Claims) => Promise<string>> {
  const key = createPrivateKey(readFileSync(pemFile, 'utf8'));
  const kid = await calculateJwkThumbprint(await exportJWK(key));
  return (claims = {}) => sign(key, kid, claims);
}

/**
 * Tokens that must all be refused, each wrong in exactly one way. Those that need a valid signature are
 * signed with the real auth-service key from `keysDir`, so only the named defect can explain a refusal.
 */
export async function badTokens(keysDir: string): Promise<Record<string, string>> {
  const real = await signerFor(join(keysDir, 'auth-signing-key.pem'));
  const realKid = JSON.parse(Buffer.from((await real()).split('.')[0]!, 'base64url').toString()) as {
    kid: string;
  };
  const { privateKey: otherKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const unsigned = (payload: object) =>
    `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`;
  const now = Math.floor(Date.now() / 1000);
  return {
    malformed: 'not-a-jwt',
    'signed by another key (same kid)': await sign(otherKey, realKid.kid, {}),
    'signed by another key (unknown kid)': await sign(otherKey, 'unknown-key', {}),
    expired: await real({ expiresIn: -3600 }),
    'wrong issuer': await real({ iss: 'someone-else' }),
    'wrong audience': await real({ aud: 'another-platform' }),
    'alg none': unsigned({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'x',
      roles: ['admin'],
      iat: now,
      exp: now + 300,
    }),
  };
}
