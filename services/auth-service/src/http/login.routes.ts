import { AppError, type AppContext, type RouteDefinition } from '@mrp/platform';
import { RequestValidationError, type TokenRequest } from '@mrp/schemas';
import type { UserDirectoryClient } from '../clients/user-directory.client.ts';
import type { TokenIssuer } from '../domain/token-issuer.ts';

type OAuthErrorCode =
  'invalid_request' | 'invalid_grant' | 'unsupported_grant_type' | 'temporarily_unavailable';

const OAUTH_ERRORS = new Set<string>(['invalid_request', 'invalid_grant', 'unsupported_grant_type']);

function oauthError(code: OAuthErrorCode, description: string): AppError {
  return new AppError({ code, status: 400, title: 'The token request was refused', detail: description });
}

/**
 * RFC 6749 section 5.2: a JSON body with `error` and `error_description`, `Cache-Control: no-store`. It
 * also carries the problem members and the request ID, so clients that speak RFC 9457 read it too.
 */
function writeOAuthError(ctx: AppContext, status: number, code: OAuthErrorCode, description: string): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
  ctx.type = 'application/json';
  ctx.body = {
    error: code,
    error_description: description,
    type: `urn:problem-type:mrp:oauth:${code}`,
    title: status >= 500 ? 'Login is temporarily unavailable' : 'The token request was refused',
    status,
    request_id: ctx.state.requestId,
  };
}

/** `POST /v1/auth/login`: the OAuth2 resource owner password grant. */
export function loginRoutes(directory: UserDirectoryClient, tokens: TokenIssuer): RouteDefinition[] {
  return [
    {
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
        503: { description: 'The user directory is unavailable', schema: 'OAuthError' },
      },
      async handle(ctx) {
        const request = ctx.state.input.body as TokenRequest;
        if (request.grant_type !== undefined && request.grant_type !== 'password') {
          throw oauthError('unsupported_grant_type', 'only grant_type=password is supported');
        }
        const identity = await directory.verifyCredentials(
          request.username,
          request.password,
          ctx.state.requestId,
        );
        // The same answer for an unknown user and a wrong password.
        if (!identity) throw oauthError('invalid_grant', 'the username or password is wrong');
        const issued = await tokens.issueAccessToken(identity);
        ctx.state.log.info({ user_id: identity.id }, 'token issued');
        ctx.set('Cache-Control', 'no-store');
        ctx.set('Pragma', 'no-cache');
        ctx.body = { access_token: issued.token, token_type: 'Bearer', expires_in: issued.expiresIn };
      },
      formatError(ctx, error) {
        if (error instanceof RequestValidationError) {
          const detail =
            error.status === 415
              ? 'the body must be application/x-www-form-urlencoded'
              : error.errors.map((problem) => `${problem.pointer.slice(1)}: ${problem.message}`).join('; ');
          writeOAuthError(ctx, 400, 'invalid_request', detail);
          return true;
        }
        if (error instanceof AppError && OAUTH_ERRORS.has(error.code)) {
          writeOAuthError(ctx, 400, error.code as OAuthErrorCode, error.detail ?? error.title);
          return true;
        }
        if (error instanceof AppError && error.status === 503) {
          ctx.state.log.warn({ err: error }, 'login failed: user directory unavailable');
          ctx.set('Retry-After', '1');
          writeOAuthError(
            ctx,
            503,
            'temporarily_unavailable',
            'login is temporarily unavailable, try again shortly',
          );
          return true;
        }
        return false;
      },
    },
  ];
}
