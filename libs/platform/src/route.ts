import type Koa from 'koa';
import type { RouteSpec } from '@mrp/schemas';
import type { AppState } from './request-context.ts';

export type AppContext = Koa.ParameterizedContext<AppState>;

/** A route: its spec (auth, roles, contracts, OpenAPI) and the handler that runs once all checks passed. */
export interface RouteDefinition extends RouteSpec {
  handle(ctx: AppContext): Promise<void> | void;
  /**
   * Writes this route's own error format (e.g. RFC 6749 errors on the token endpoint) for any error
   * raised by its checks or handler; returns false to leave the error to the problem+json handler.
   */
  formatError?(ctx: AppContext, error: unknown): boolean;
}
