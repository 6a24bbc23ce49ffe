import { AppError, defineRoute, type RouteDefinition } from '@mrp/platform';
import { oauthError, oauthErrorFormatter } from './oauth-errors.ts';
import type { UserDirectoryClient } from '../clients/user-directory.client.ts';
import type { LoginThrottle } from '../domain/login-throttle.ts';
import type { TokenIssuer } from '../domain/token-issuer.ts';

/** `POST /v1/auth/login`: the OAuth2 resource owner password grant. */
export function loginRoutes(
  directory: UserDirectoryClient,
  tokens: TokenIssuer,
  throttle: LoginThrottle,
): RouteDefinition[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/auth/login',
      operationId: 'login',
      summary: 'Exchange a username (email) and password for an access token (RFC 6749 password grant).',
      tags: ['auth'],
      access: 'public',
      body: { schema: 'TokenRequest', mediaType: 'application/x-www-form-urlencoded' },
      responses: {
        200: { description: 'An access token', schema: 'TokenResponse' },
        400: {
          description: 'RFC 6749 error: invalid_request, invalid_grant or unsupported_grant_type',
          schema: 'OAuthError',
        },
        429: { description: 'Too many failed logins for this account: retry after Retry-After seconds' },
        503: { description: 'The user directory is unavailable', schema: 'OAuthError' },
      },
      async handle(ctx) {
        const request = ctx.state.input.body;
        if (request.grant_type !== undefined && request.grant_type !== 'password') {
          throw oauthError('unsupported_grant_type', 'only grant_type=password is supported');
        }
        // Too many failures for this account: refused before any password work, the wait not extended.
        const waitMs = throttle.waitMs(request.username);
        if (waitMs > 0) {
          ctx.state.log.warn({ wait_ms: waitMs }, 'login refused: too many failures for this account');
          throw new AppError({
            code: 'rate_limited',
            status: 429,
            title: 'Too many requests',
            detail: 'too many failed logins for this account; retry later',
            headers: { 'Retry-After': String(Math.ceil(waitMs / 1000)) },
          });
        }
        const identity = await directory.verifyCredentials(
          request.username,
          request.password,
          ctx.state.requestId,
        );
        // The same answer for an unknown user and a wrong password.
        if (!identity) {
          throttle.failed(request.username);
          throw oauthError('invalid_grant', 'the username or password is wrong');
        }
        throttle.succeeded(request.username);
        const issued = await tokens.issueAccessToken(identity);
        ctx.state.log.info({ user_id: identity.id }, 'token issued');
        ctx.set('Cache-Control', 'no-store');
        ctx.set('Pragma', 'no-cache');
        ctx.body = { access_token: issued.token, token_type: 'Bearer', expires_in: issued.expiresIn };
      },
      formatError: oauthErrorFormatter,
    }),
  ];
}
