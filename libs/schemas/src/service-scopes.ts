/**
 * What each service may do with its own token (client credentials): the scopes auth-service puts in a
 * service token's `scope` claim, by client, and the scopes the routes that take service tokens require
 * (`RouteSpec.serviceScopes`). One list, so that granting and requiring cannot drift apart; a client not
 * named here gets a token with no scope, which no route accepts.
 */
export const SERVICE_SCOPES = {
  /** Score a case: scoring-service's `POST /v1/scoring/score`, called by case-service. */
  scoreCases: 'scoring:score',
  /** Check a user's password: user-service's internal credential check, called by auth-service. */
  verifyCredentials: 'users:verify-credentials',
} as const;

export type ServiceScope = (typeof SERVICE_SCOPES)[keyof typeof SERVICE_SCOPES];

/** The scopes each service client is granted. */
export const SERVICE_CLIENT_SCOPES: Readonly<Record<string, readonly ServiceScope[]>> = {
  'case-service': [SERVICE_SCOPES.scoreCases],
  'auth-service': [SERVICE_SCOPES.verifyCredentials],
};

/** The scopes granted to `client` (none for a client not named in SERVICE_CLIENT_SCOPES). */
export function scopesOfClient(client: string): readonly ServiceScope[] {
  return Object.hasOwn(SERVICE_CLIENT_SCOPES, client) ? SERVICE_CLIENT_SCOPES[client]! : [];
}
