import { AppError, defineRoute, type RouteDefinition } from '@mrp/platform';
import { SERVICE_SCOPES } from '@mrp/schemas';
import type { UserUseCases } from '../domain/user.use-cases.ts';

/**
 * The credential check behind login. Only a service token with the scope `users:verify-credentials`
 * (auth-service's own) may call it, and the gateway has no route to it.
 */
export function credentialRoutes(users: UserUseCases): RouteDefinition[] {
  return [
    defineRoute({
      method: 'post',
      path: '/internal/v1/credentials/verify',
      operationId: 'verifyCredentials',
      summary: 'Check an email and password (service callers only).',
      tags: ['internal'],
      access: ['service'],
      serviceScopes: [SERVICE_SCOPES.verifyCredentials],
      internal: true,
      body: { schema: 'CredentialsVerifyRequest', mediaType: 'application/json' },
      responses: {
        200: { description: 'The credentials match this user', schema: 'VerifiedIdentity' },
        401: { description: 'They match no user' },
      },
      async handle(ctx) {
        const { email, password } = ctx.state.input.body;
        const identity = await users.verifyCredentials(email, password);
        if (!identity) {
          throw new AppError({
            code: 'invalid_credentials',
            status: 401,
            title: 'Invalid credentials',
            detail: 'the email or password is wrong',
          });
        }
        ctx.body = {
          id: identity.id,
          email: identity.email,
          role: identity.role,
          token_version: identity.tokenVersion,
        };
      },
    }),
  ];
}
