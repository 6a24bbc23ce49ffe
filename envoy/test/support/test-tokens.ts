import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet } from 'jose';

export interface TokenClaims {
  readonly sub?: string;
  readonly roles?: readonly string[];
  readonly iss?: string;
  readonly aud?: string;
  /** Seconds from now; negative for a token that expired that long ago. */
  readonly expiresIn?: number;
}

/** A signing key pair as auth-service has one: tokens signed with it verify against `jwks`. */
export interface TokenKit {
  readonly kid: string;
  readonly issuer: string;
  readonly audience: string;
  readonly jwks: JSONWebKeySet;
  /** A token Envoy must accept, unless `claims` make it wrong. */
  sign(claims?: TokenClaims): Promise<string>;
  /** The same claims signed by a key that is not in the JWKS but claims its `kid`. */
  signWithForeignKey(claims?: TokenClaims): Promise<string>;
  /** The same claims with `alg: none` and no signature. */
  unsigned(claims?: TokenClaims): string;
}

function claimsFor(kit: { issuer: string; audience: string }, claims: TokenClaims): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const expiresIn = claims.expiresIn ?? 300;
  return {
    iss: claims.iss ?? kit.issuer,
    aud: claims.aud ?? kit.audience,
    sub: claims.sub ?? 'user-00000000-0000-4000-8000-000000000001',
    roles: claims.roles ?? ['analyst'],
    jti: crypto.randomUUID(),
    iat: expiresIn < 0 ? now + expiresIn - 600 : now,
    exp: now + expiresIn,
  };
}

async function signWith(key: CryptoKey, kid: string, payload: Record<string, unknown>): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).sign(key);
}

export async function createTokenKit(options: { issuer: string; audience: string }): Promise<TokenKit> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const foreign = await generateKeyPair('ES256');
  const kid = `gateway-test-${crypto.randomUUID()}`;
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return {
    kid,
    issuer: options.issuer,
    audience: options.audience,
    jwks: { keys: [jwk] },
    sign: (claims = {}) => signWith(privateKey, kid, claimsFor(options, claims)),
    signWithForeignKey: (claims = {}) => signWith(foreign.privateKey, kid, claimsFor(options, claims)),
    unsigned: (claims = {}) => {
      const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
      return `${part({ alg: 'none', typ: 'JWT', kid })}.${part(claimsFor(options, claims))}.`;
    },
  };
}
