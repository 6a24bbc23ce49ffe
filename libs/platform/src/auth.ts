import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Middleware } from 'koa';
import { AppError, errors } from './errors.ts';

/** Who is calling, as proven by a verified access token. */
export interface Principal {
  readonly subject: string;
  readonly roles: readonly string[];
  readonly email: string | undefined;
  readonly tokenId: string | undefined;
}

export interface TokenVerifierOptions {
  /** Where auth-service publishes its JWKS. */
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly audience: string;
  /** Accepted signature algorithms; anything else, `none` included, is refused. */
  readonly algorithms?: readonly string[];
}

export type TokenVerifier = (token: string) => Promise<Principal>;

/**
 * Verifies access tokens against the JWKS (fetched on demand and cached by jose, refetched when an
 * unknown `kid` shows up, which is what makes key rotation work), checking signature, algorithm,
 * issuer, audience and expiry. Services verify every token themselves even behind Envoy: a request that
 * reaches a service port directly is not trusted.
 */
export function createTokenVerifier(options: TokenVerifierOptions, keySet?: JWTVerifyGetKey): TokenVerifier {
  const keys =
    keySet ??
    createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: 2000, cooldownDuration: 10_000 });
  const algorithms = [...(options.algorithms ?? ['ES256'])];
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      const roles = Array.isArray(payload.roles)
        ? payload.roles.filter((role) => typeof role === 'string')
        : [];
      return {
        subject: payload.sub!,
        roles,
        email: typeof payload.email === 'string' ? payload.email : undefined,
        tokenId: payload.jti,
      };
    } catch (error) {
      if (
        error instanceof joseErrors.JWKSTimeout ||
        (error instanceof TypeError && /fetch/i.test(error.message))
      ) {
        throw errors.unavailable('the token signing keys cannot be fetched right now', error);
      }
      if (error instanceof joseErrors.JOSEError) throw errors.unauthorized(describeTokenError(error));
      throw errors.unavailable('the token signing keys cannot be fetched right now', error);
    }
  };
}

function describeTokenError(error: InstanceType<typeof joseErrors.JOSEError>): string {
  if (error instanceof joseErrors.JWTExpired) return 'the access token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `the access token's "${error.claim}" claim is not accepted`;
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'the access token was not signed by a known key';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return 'the access token signature is invalid';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'the access token algorithm is not accepted';
  return 'the access token is malformed or invalid';
}

/** Reads `Authorization: Bearer <token>`, verifies it and stores the principal on `ctx.state.principal`. */
export function authenticate(verify: TokenVerifier): Middleware<{ principal?: Principal }> {
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    const match = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/i.exec(header);
    if (!header) throw errors.unauthorized('an access token is required');
    if (!match) throw errors.unauthorized('the Authorization header must be "Bearer <token>"');
    ctx.state.principal = await verify(match[1]!);
    await next();
  };
}

/** Lets the request through only when the authenticated principal holds one of `roles`. */
export function requireRole(...roles: readonly string[]): Middleware<{ principal?: Principal }> {
  return async (ctx, next) => {
    const principal = ctx.state.principal;
    if (!principal) throw errors.unauthorized('an access token is required');
    if (!principal.roles.some((role) => roles.includes(role))) {
      throw new AppError({
        code: 'forbidden',
        status: 403,
        title: 'Not allowed',
        detail: `this action requires one of the roles: ${roles.join(', ')}`,
      });
    }
    await next();
  };
}
