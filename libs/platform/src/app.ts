import { Router } from './commonjs.ts';
import Koa, { type Middleware } from 'koa';
import { buildOpenApiDocument, validateRequest, type OpenApiDocument } from '@mrp/schemas';
import { authenticate, requireRole, requireServiceScopes, type TokenVerifier } from './auth.ts';
import { bodyParser } from './body-parser.ts';
import { admission } from './admission.ts';
import { bodyParseError, problemErrors } from './error-handler.ts';
import { operationalRoutes } from './operational-routes.ts';
import type { ReadinessCheck } from './readiness.ts';
import { requestIdAndLogging } from './request-logging.ts';
import type { AppContext, RouteDefinition } from './route.ts';
import type { Logger } from './logger.ts';
import { createHttpMetrics, type HttpMetrics } from './metrics.ts';
import type { AppState } from './request-context.ts';

export interface ServiceAppOptions {
  readonly serviceName: string;
  readonly version: string;
  readonly logger: Logger;
  readonly routes: readonly RouteDefinition[];
  /** Verifies bearer tokens; required when any route is not public. */
  readonly verifyToken?: TokenVerifier;
  readonly readiness?: readonly ReadinessCheck[];
  /** Largest accepted JSON or form body, e.g. "100kb". */
  readonly bodyLimit?: string;
  /** Milliseconds a readiness check may take before it counts as failed. */
  readonly readinessTimeoutMs?: number;
  /** The service's metrics registry, when parts built before the app register metrics of their own. */
  readonly metrics?: HttpMetrics;
  /**
   * Requests handled at once (operational routes not counted); one more is refused with 503 and
   * Retry-After at once, so that overload sheds work instead of queueing it without bound. Default 256.
   */
  readonly maxInFlight?: number;
}

export interface ServiceApp {
  readonly app: Koa<AppState>;
  readonly metrics: HttpMetrics;
  readonly openapi: OpenApiDocument;
  /** The router's own view of the routes that exist, as `METHOD /path` (used to check the OpenAPI document). */
  readonly mountedRoutes: () => string[];
  /** Makes `/readyz` answer 503 from now on (called when shutdown starts). */
  readonly markShuttingDown: () => void;
}

/**
 * Builds a service's Koa app: request IDs, JSON request logs and HTTP metrics, one problem+json error
 * handler, size-limited body parsing, the operational endpoints (`/healthz`, `/readyz`, `/metrics`,
 * `/openapi.json`) and the service's routes, each mounted as auth -> role check -> validation -> handler.
 */
export function createServiceApp(options: ServiceAppOptions): ServiceApp {
  const metrics = options.metrics ?? createHttpMetrics(options.serviceName);
  const state = { shuttingDown: false };
  const documentRef: { current?: OpenApiDocument } = {};
  const routes = [
    ...operationalRoutes(options, metrics, state, () => documentRef.current!),
    ...options.routes,
  ];
  const document = buildOpenApiDocument(
    {
      title: options.serviceName,
      version: options.version,
      description: `The HTTP API of ${options.serviceName}.`,
    },
    routes,
  );
  documentRef.current = document;

  // Paths match exactly: a trailing slash or another case is another path (404), so no variant of a route
  // escapes a policy the gateway attaches to its exact path (the login limit).
  const router = new Router<AppState>({ strict: true, sensitive: true });
  for (const route of routes) {
    const chain: Middleware<AppState>[] = [];
    if (route.formatError) {
      const formatError = route.formatError.bind(route);
      chain.push(async (ctx, next) => {
        try {
          await next();
        } catch (error) {
          if (!formatError(ctx, error)) throw error;
        }
      });
    }
    if (route.access !== 'public') {
      if (!options.verifyToken) throw new Error(`${route.operationId} needs a token verifier`);
      chain.push(authenticate(options.verifyToken), requireRole(...route.access));
      if (route.access.includes('service')) {
        if (!route.serviceScopes?.length)
          throw new Error(
            `${route.operationId} takes service tokens, so it must name the serviceScopes it needs`,
          );
        chain.push(requireServiceScopes(route.serviceScopes));
      }
    }
    chain.push(validateRequest(route));
    router.register(
      route.path,
      [route.method.toUpperCase()],
      [
        ...chain,
        async (ctx: AppContext) => {
          await route.handle(ctx);
        },
      ] as never,
      { name: route.operationId },
    );
  }

  const app = new Koa<AppState>({ proxy: false });
  app.silent = true;
  app.use(requestIdAndLogging(options.logger, metrics));
  app.use(async (ctx, next) => {
    await next();
    // Once shutdown starts, every answer closes its connection so keep-alive clients move elsewhere.
    if (state.shuttingDown) ctx.set('Connection', 'close');
  });
  app.use(problemErrors());
  app.use(admission(options.maxInFlight ?? 256));
  const bodyLimit = options.bodyLimit ?? '100kb';
  app.use(bodyParser({ limit: bodyLimit, onError: (error) => bodyParseError(error, bodyLimit) }));
  app.use(router.routes());
  app.use(router.allowedMethods());

  return {
    app,
    metrics,
    openapi: document,
    mountedRoutes: () =>
      router.stack.flatMap((layer) =>
        layer.methods
          .filter((method) => method !== 'HEAD')
          .map((method) => `${method} ${String(layer.path)}`),
      ),
    markShuttingDown: () => {
      state.shuttingDown = true;
    },
  };
}
