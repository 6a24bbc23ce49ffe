import {
  createLocalJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import type { Middleware } from 'koa';
import type { RevocationCheck } from './revocations.ts';
import { errors } from './errors.ts';
import { httpRequest } from './http-client.ts';
import { VerifiedTokenCache } from './token-cache.ts';

/** Who is calling, as proven by a verified access token. */
export interface Principal {
  readonly subject: string;
  readonly roles: readonly string[];
  /** The token's `scope` claim, split on spaces: what a service token may do (SERVICE_SCOPES). */
  readonly scopes: readonly string[];
  readonly email: string | undefined;
  readonly tokenId: string | undefined;
  /** The user's token version when the token was issued (`ver`; 0 when absent), see RevocationList. */
  readonly tokenVersion: number;
}

export interface TokenVerifierOptions {
  /** Where auth-service publishes its JWKS. */
  readonly jwksUrl: string;
  readonly issuer: string;
  /** The accepted `aud` values: the users' audience, and the services' where service tokens are welcome. */
  readonly audience: string | readonly string[];
  /** Accepted signature algorithms; anything else, `none` included, is refused. */
  readonly algorithms?: readonly string[];
  /** How many verified tokens to keep (0: verify every request). Default 1000. */
  readonly cacheEntries?: number;
  /** How long a fetched JWKS is trusted before it is fetched again (ms). Default 5 minutes. */
  readonly jwksMaxAgeMs?: number;
  /** Revoked tokens (ADR 0021): a token whose `ver` is below its subject's minimum is refused. */
  readonly revocations?: RevocationCheck;
}

export type TokenVerifier = (token: string) => Promise<Principal>;

/** The JWKS source: a fetch generation that changes whenever the key set is fetched again. */
interface KeySource {
  readonly keys: JWTVerifyGetKey;
  /** Whether the fetched key set is still within its maximum age (always, for a fixed key set). */
  fresh(): boolean;
  generation(): number;
}

/** How long one fetch of the JWKS may take (ms). */
const JWKS_TIMEOUT_MS = 2000;
/** After a fetch, an unknown `kid` does not make another one for this long (ms). */
const JWKS_COOLDOWN_MS = 10_000;

/** Fetches a JWKS: its keys, or an error when it cannot be had (no answer, not 200, not a key set). */
async function fetchKeySet(url: string): Promise<JSONWebKeySet> {
  const response = await httpRequest(url, { timeoutMs: JWKS_TIMEOUT_MS });
  if (response.status !== 200) throw new Error(`the JWKS answered ${response.status}`);
  const body = response.json() as { keys?: unknown };
  if (!Array.isArray(body.keys)) throw new Error('the JWKS is not a JSON Web Key Set');
  return body as JSONWebKeySet;
}

/**
 * The keys at `jwksUrl`, fetched on first use and again once they are older than `jwksMaxAgeMs`, or when a
 * token names a `kid` they do not hold (at most once per JWKS_COOLDOWN_MS), which is what makes key
 * rotation work. One fetch at a time; callers waiting for keys share it. (jose's createRemoteJWKSet does
 * the same through `fetch`, which this library does not load: http-client.ts.)
 */
function remoteKeySource(options: TokenVerifierOptions): KeySource {
  const maxAgeMs = options.jwksMaxAgeMs ?? 300_000;
  let generation = 0;
  let current: { keys: JWTVerifyGetKey; fetchedAt: number } | undefined;
  let pending: Promise<JWTVerifyGetKey> | undefined;
  const reload = (): Promise<JWTVerifyGetKey> =>
    (pending ??= fetchKeySet(options.jwksUrl)
      .then((set) => {
        current = { keys: createLocalJWKSet(set), fetchedAt: Date.now() };
        generation += 1;
        return current.keys;
      })
      .finally(() => {
        pending = undefined;
      }));
  const fresh = (): boolean => current !== undefined && Date.now() - current.fetchedAt < maxAgeMs;
  const keys: JWTVerifyGetKey = async (header, token) => {
    const local = fresh() ? current!.keys : await reload();
    try {
      return await local(header, token);
    } catch (error) {
      const settled = current !== undefined && Date.now() - current.fetchedAt < JWKS_COOLDOWN_MS;
      if (!(error instanceof joseErrors.JWKSNoMatchingKey) || settled) throw error;
      return (await reload())(header, token);
    }
  };
  return { keys, fresh, generation: () => generation };
}

/**
 * Verifies access tokens against the JWKS (fetched on demand and cached by jose, refetched when an
 * unknown `kid` shows up, which is what makes key rotation work), checking signature, algorithm,
 * issuer, audience and expiry. Services verify every token themselves even behind Envoy: a request that
 * reaches a service port directly is not trusted.
 *
 * A verified token is remembered (VerifiedTokenCache) until its `exp`, and only while the key set it
 * was verified against is current: any fetch of the JWKS, and the JWKS reaching its maximum age, make
 * every remembered token go through full verification again, so a key removed from the JWKS stops
 * working at the next fetch. Failures are never remembered.
 */
export function createTokenVerifier(options: TokenVerifierOptions, keySet?: JWTVerifyGetKey): TokenVerifier {
  const source: KeySource = keySet
    ? { keys: keySet, fresh: () => true, generation: () => 0 }
    : remoteKeySource(options);
  const algorithms = [...(options.algorithms ?? ['ES256'])];
  const cache = new VerifiedTokenCache<{ principal: Principal; generation: number }>(
    options.cacheEntries ?? 1000,
  );
  const verify = async (token: string): Promise<{ principal: Principal; expiresAtMs: number }> => {
    try {
      const { payload } = await jwtVerify(token, source.keys, {
        issuer: options.issuer,
        audience: typeof options.audience === 'string' ? options.audience : [...options.audience],
        algorithms,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      const roles = Array.isArray(payload.roles)
        ? payload.roles.filter((role) => typeof role === 'string')
        : [];
      const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
      const principal: Principal = Object.freeze({
        subject: payload.sub!,
        roles: Object.freeze(roles),
        scopes: Object.freeze(scopes),
        email: typeof payload.email === 'string' ? payload.email : undefined,
        tokenId: payload.jti,
        tokenVersion: typeof payload.ver === 'number' && Number.isInteger(payload.ver) ? payload.ver : 0,
      });
      return { principal, expiresAtMs: payload.exp! * 1000 };
    } catch (error) {
      // A token jose refused is the client's problem; anything else (the keys could not be fetched) is ours.
      if (error instanceof joseErrors.JOSEError) throw errors.unauthorized(describeTokenError(error));
      throw errors.unavailable('the token signing keys cannot be fetched right now', error);
    }
  };
  // Checked on every call, the cached ones included: a revocation applies to tokens verified before it.
  const notRevoked = (principal: Principal): Principal => {
    const minVersion = options.revocations?.minVersion(principal.subject);
    if (minVersion !== undefined && principal.tokenVersion < minVersion)
      throw errors.unauthorized('the access token was revoked (the account changed): sign in again');
    return principal;
  };
  return async (token) => {
    const key = VerifiedTokenCache.keyOf(token);
    const cached = cache.get(key);
    if (cached && cached.generation === source.generation() && source.fresh())
      return notRevoked(cached.principal);
    const generation = source.generation();
    const { principal, expiresAtMs } = await verify(token);
    // Verified against a key set fetched while this ran: it is checked again next time.
    if (generation === source.generation()) cache.set(key, { principal, generation }, expiresAtMs);
    return notRevoked(principal);
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

/**
 * Lets a service token through only when it holds every one of `scopes`; other principals pass (their
 * roles were checked by requireRole).
 */
export function requireServiceScopes(scopes: readonly string[]): Middleware<{ principal?: Principal }> {
  return async (ctx, next) => {
    const principal = ctx.state.principal;
    if (!principal) throw errors.unauthorized('an access token is required');
    if (principal.roles.includes('service') && !scopes.every((scope) => principal.scopes.includes(scope))) {
      throw errors.forbidden(`this action requires a service token with the scope: ${scopes.join(' ')}`);
    }
    await next();
  };
}

/** Lets the request through only when the authenticated principal holds one of `roles`. */
export function requireRole(...roles: readonly string[]): Middleware<{ principal?: Principal }> {
  return async (ctx, next) => {
    const principal = ctx.state.principal;
    if (!principal) throw errors.unauthorized('an access token is required');
    if (!principal.roles.some((role) => roles.includes(role))) {
      throw errors.forbidden(`this action requires one of the roles: ${roles.join(', ')}`);
    }
    await next();
  };
}
