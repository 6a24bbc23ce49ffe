import { defineRoute, type RouteDefinition } from '@mrp/platform';
import type { KeyStore } from '../domain/key-store.ts';

/**
 * The JWKS, at the well-known path (what Envoy and the services fetch) and under `/v1/auth` (what the
 * gateway routes, since Envoy does not rewrite paths).
 */
export function jwksRoutes(keys: KeyStore): RouteDefinition[] {
  return ['/.well-known/jwks.json', '/v1/auth/.well-known/jwks.json'].map((path, index) =>
    defineRoute({
      method: 'get',
      path,
      operationId: index === 0 ? 'jwks' : 'jwksViaGateway',
      summary: 'The public keys that verify access tokens (RFC 7517).',
      tags: ['auth'],
      access: 'public',
      responses: { 200: { description: 'The JSON Web Key Set', schema: 'Jwks' } },
      handle(ctx) {
        ctx.set('Cache-Control', 'public, max-age=300');
        ctx.body = keys.jwks;
      },
    }),
  );
}
