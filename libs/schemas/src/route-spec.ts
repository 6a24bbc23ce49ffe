/** HTTP methods a route may declare. */
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export type BodyMediaType = 'application/json' | 'application/x-www-form-urlencoded';

export interface ResponseSpec {
  readonly description: string;
  /** Name of the contract in libs/schemas/json describing the body, if any. */
  readonly schema?: string;
  readonly mediaType?: string;
}

/**
 * What a route is, independent of how it is handled: the single description that the router mounts
 * (auth, role check, validation) and that the OpenAPI document is generated from.
 */
export interface RouteSpec {
  readonly method: HttpMethod;
  /** Koa-style path, e.g. `/v1/users/:id`. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tags?: readonly string[];
  /** `public` needs no token; otherwise a bearer token holding one of these roles. */
  readonly access: 'public' | readonly string[];
  /**
   * A service token (role `service`) must also hold every one of these scopes (SERVICE_SCOPES). Required
   * on every route whose access names `service`, so that each service accepts only what it needs.
   */
  readonly serviceScopes?: readonly string[];
  readonly body?: { readonly schema: string; readonly mediaType: BodyMediaType };
  readonly query?: string;
  readonly params?: string;
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  /** Served on the service port only; the gateway has no route to it. */
  readonly internal?: boolean;
}
