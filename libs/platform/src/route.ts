import type Koa from 'koa';
import type { ContractName, RouteSpec, TypedInput, ValidatedInput } from '@mrp/schemas';
import type { AppState } from './request-context.ts';

/** Koa's context with the platform's state; `Input` is what validation stored on `ctx.state.input`. */
export type AppContext<Input = ValidatedInput> = Koa.ParameterizedContext<AppState<Input>>;

/** A route: its spec (auth, roles, contracts, OpenAPI) and the handler that runs once all checks passed. */
export interface RouteDefinition<Input = ValidatedInput> extends RouteSpec {
  handle(ctx: AppContext<Input>): Promise<void> | void;
  /**
   * Writes this route's own error format (e.g. RFC 6749 errors on the token endpoint) for any error
   * raised by its checks or handler; returns false to leave the error to the problem+json handler.
   */
  formatError?(ctx: AppContext, error: unknown): boolean;
}

/**
 * A route whose handler sees `ctx.state.input` typed by the contracts its spec names: the names are
 * checked against libs/schemas/json, and `input.body` of a spec with `body: { schema: 'UserCreateRequest' }`
 * is a `UserCreateRequest` (types generated from the same schemas that validated it).
 */
export function defineRoute<
  const Body extends ContractName = never,
  const Query extends ContractName = never,
  const Params extends ContractName = never,
>(
  route: RouteSpec<Body, Query, Params> &
    Omit<RouteDefinition<TypedInput<Body, Query, Params>>, keyof RouteSpec>,
): RouteDefinition {
  return route;
}
