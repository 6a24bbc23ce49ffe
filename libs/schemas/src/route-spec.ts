import type { Contracts } from './contracts.generated.ts';

/** HTTP methods a route may declare. */
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export type BodyMediaType = 'application/json' | 'application/x-www-form-urlencoded';

/** The name of a contract in libs/schemas/json. */
export type ContractName = keyof Contracts;

export interface ResponseSpec {
  readonly description: string;
  /** Name of the contract in libs/schemas/json describing the body, if any. */
  readonly schema?: ContractName;
  readonly mediaType?: string;
}

/**
 * What a route is, independent of how it is handled: the single description that the router mounts
 * (auth, role check, validation) and that the OpenAPI document is generated from.
 */
export interface RouteSpec<
  Body extends ContractName = ContractName,
  Query extends ContractName = ContractName,
  Params extends ContractName = ContractName,
> {
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
  readonly body?: { readonly schema: Body; readonly mediaType: BodyMediaType };
  readonly query?: Query;
  readonly params?: Params;
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  /** Served on the service port only; the gateway has no route to it. */
  readonly internal?: boolean;
}

/**
 * What `validateRequest` hands the handler of a route whose spec names these contracts (`never`: the spec
 * names none): the body as its contract types it (or nothing), the query with its defaults filled in (or
 * no parameters at all, which validation enforces), the path parameters (or the router's strings).
 */
export interface TypedInput<
  Body extends ContractName,
  Query extends ContractName,
  Params extends ContractName,
> {
  body: [Body] extends [never] ? undefined : Contracts[Body];
  query: [Query] extends [never] ? Record<string, never> : Contracts[Query];
  params: [Params] extends [never] ? Record<string, string> : Contracts[Params];
}
