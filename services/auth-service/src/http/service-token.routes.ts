import { createHash, timingSafeEqual } from 'node:crypto';
import { defineRoute, type RouteDefinition } from '@mrp/platform';
import { oauthError, oauthErrorFormatter } from './oauth-errors.ts';
import type { TokenIssuer } from '../domain/token-issuer.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Registered service clients; secrets are compared by digest in constant time. */
export function clientRegistry(entries: readonly string[]): (name: string, secret: string) => boolean {
  const clients = new Map(
    entries.map((entry) => {
      const separator = entry.indexOf(':');
      return [entry.slice(0, separator), digest(entry.slice(separator + 1))] as const;
    }),
  );
  return (name, secret) => {
    const expected = clients.get(name);
    const given = digest(secret);
    return expected !== undefined && timingSafeEqual(expected, given);
  };
}

/**
 * `POST /internal/v1/token`: the OAuth2 client credentials grant for background work done by a service
 * itself (e.g. case-service re-scoring pending cases). Envoy has no route to it.
 */
export function serviceTokenRoutes(tokens: TokenIssuer, clients: readonly string[]): RouteDefinition[] {
  const isValidClient = clientRegistry(clients);
  return [
    defineRoute({
      method: 'post',
      path: '/internal/v1/token',
      operationId: 'issueServiceToken',
      summary: 'Issue a short-lived service token (client credentials grant; service clients only).',
      tags: ['internal'],
      access: 'public',
      internal: true,
      body: { schema: 'ClientCredentialsRequest', mediaType: 'application/x-www-form-urlencoded' },
      responses: {
        200: { description: 'A service token', schema: 'TokenResponse' },
        400: { description: 'RFC 6749 error', schema: 'OAuthError' },
        401: { description: 'Unknown client or wrong secret', schema: 'OAuthError' },
      },
      async handle(ctx) {
        const request = ctx.state.input.body;
        if (request.grant_type !== 'client_credentials') {
          throw oauthError('unsupported_grant_type', 'only grant_type=client_credentials is supported here');
        }
        if (!isValidClient(request.client_id, request.client_secret)) {
          throw oauthError('invalid_client', 'unknown client or wrong secret', 401);
        }
        const issued = await tokens.issueServiceToken(request.client_id);
        ctx.state.log.info({ client_id: request.client_id }, 'service token issued');
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { access_token: issued.token, token_type: 'Bearer', expires_in: issued.expiresIn };
      },
      formatError: oauthErrorFormatter,
    }),
  ];
}
