import Router from '@koa/router';
import Koa, { type Context, type Middleware } from 'koa';
import { validateRequest, type RouteSpec } from '@mrp/schemas';
import { buildOpenApiDocument, type OpenApiDocument } from '@mrp/schemas';
import { authenticate, requireRole, requireServiceScopes, type TokenVerifier } from './auth.ts';
import { withDeadline } from './deadline.ts';
import { bodyParser } from './body-parser.ts';
import { isDatabaseUnavailable, isPgError, PG_DATA_EXCEPTION_CLASS } from './db.ts';
import { AppError } from './errors.ts';
import type { Logger } from './logger.ts';
import { createHttpMetrics, type HttpMetrics } from './metrics.ts';
import { activeTraceFields, recordRoute } from './tracing.ts';
import { problemType, sendProblem } from './problem.ts';
import { resolveRequestId, type AppState } from './request-context.ts';

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

/** A named dependency check for `/readyz`; it throws (or rejects) when the dependency is not usable. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

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

const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

function requestIdAndLogging(logger: Logger, metrics: HttpMetrics): Middleware<AppState> {
  return async (ctx, next) => {
    const requestId = resolveRequestId(ctx.get('x-request-id') || undefined);
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ request_id: requestId });
    ctx.set('X-Request-Id', requestId);
    // No answer is sniffed into another content type; an authenticated one is not cached unless its route
    // says otherwise (set here, before the handler, so that a route's own Cache-Control wins).
    ctx.set('X-Content-Type-Options', 'nosniff');
    if (ctx.get('authorization')) ctx.set('Cache-Control', 'no-store');
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const matched = (ctx as Context & { _matchedRoute?: string })._matchedRoute;
      if (matched) recordRoute(ctx.method, matched);
      const route = matched ?? 'unmatched';
      const labels = { method: ctx.method, route, status_code: String(ctx.status) };
      // The request's trace id rides along as an exemplar, so a slow bucket links to its trace. (With
      // exemplars on, prom-client only takes the object form of observe.)
      const traceId = activeTraceFields().trace_id;
      // prom-client types exemplar labels as the metric's own label names; any names are valid.
      const exemplarLabels = traceId ? ({ trace_id: traceId } as unknown as Partial<typeof labels>) : {};
      metrics.requestDuration.observe({ labels, value: seconds, exemplarLabels });
      metrics.requestsTotal.inc(labels);
      const fields = {
        method: ctx.method,
        path: ctx.path,
        route: labels.route,
        status_code: ctx.status,
        duration_ms: Math.round(seconds * 1e6) / 1e3,
      };
      if (QUIET_ROUTES.has(ctx.path)) ctx.state.log.debug(fields, 'request completed');
      else ctx.state.log.info(fields, 'request completed');
    }
  };
}

/**
 * Admission control: at most `limit` requests in the handlers at once. The one over the limit is answered
 * 503 with `Retry-After` before its body is read, which keeps latency bounded for the admitted ones and
 * tells well-behaved clients when to come back. Probes and scrapes are always served.
 */
function admission(limit: number): Middleware<AppState> {
  let inFlight = 0;
  return async (ctx, next) => {
    if (QUIET_ROUTES.has(ctx.path)) {
      await next();
      return;
    }
    if (inFlight >= limit) {
      throw new AppError({
        code: 'overloaded',
        status: 503,
        title: 'The service is overloaded',
        detail: 'too many requests are in progress; retry after the delay in Retry-After',
        headers: { 'Retry-After': '1' },
      });
    }
    inFlight += 1;
    try {
      await next();
    } finally {
      inFlight -= 1;
    }
  };
}

/** The body parser's failures (co-body / raw-body) as client errors: they are always the client's input. */
function bodyParseError(error: Error & { status?: number; type?: string }, limit: string): AppError {
  if (error.type === 'entity.too.large' || error.status === 413) {
    return new AppError({
      code: 'payload_too_large',
      status: 413,
      title: 'The request body is too large',
      detail: `the body must not exceed ${limit}`,
    });
  }
  if (error.status === 415) {
    return new AppError({
      code: 'unsupported_media_type',
      status: 415,
      title: 'Unsupported media type',
      detail: error.message,
    });
  }
  return new AppError({
    code: 'malformed_body',
    status: 400,
    title: 'The request body cannot be parsed',
    detail: error.message.includes('only supports object and array')
      ? 'a JSON body must be an object or an array'
      : 'the body is not well-formed for its content type',
  });
}

/** Codes for the 4xx errors raised by the body parser (co-body / raw-body) and the router. */
function codeForExposedError(error: { type?: unknown; status: number; code?: unknown }): string {
  if (typeof error.code === 'string' && /^[a-z][a-z0-9_]*$/.test(error.code)) return error.code;
  if (error.type === 'entity.too.large' || error.status === 413) return 'payload_too_large';
  if (error.type === 'entity.parse.failed') return 'malformed_body';
  if (error.status === 415) return 'unsupported_media_type';
  if (error.status === 404) return 'not_found';
  return 'bad_request';
}

const STATUS_TITLES: Record<number, string> = {
  400: 'The request is not valid',
  404: 'Not found',
  413: 'The request body is too large',
  415: 'Unsupported media type',
};

/**
 * The one error handler: AppErrors and the exposed 4xx errors of the body parser and the router become
 * problems; anything else is logged with its stack and answered with a generic 500 that leaks nothing.
 */
function problemErrors(): Middleware<AppState> {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.body === undefined || ctx.body === null) {
        if (ctx.status === 404) {
          sendProblem(ctx, {
            type: problemType('not_found'),
            title: 'Not found',
            status: 404,
            detail: `no route for ${ctx.method} ${ctx.path}`,
            code: 'not_found',
            request_id: ctx.state.requestId,
          });
        } else if (ctx.status === 405 || ctx.status === 501) {
          // The router answers 501 for methods no route knows; to the client both mean "not this method".
          sendProblem(ctx, {
            type: problemType('method_not_allowed'),
            title: 'Method not allowed',
            status: 405,
            detail: `${ctx.method} is not allowed on ${ctx.path}`,
            code: 'method_not_allowed',
            request_id: ctx.state.requestId,
          });
        }
      }
    } catch (caught) {
      const requestId = ctx.state.requestId;
      if (caught instanceof AppError) {
        if (caught.reportable) ctx.state.log.error({ err: caught }, caught.message);
        sendProblem(
          ctx,
          {
            ...caught.extensions,
            type: problemType(caught.code),
            title: caught.title,
            status: caught.status,
            detail: caught.detail,
            code: caught.code,
            request_id: requestId,
          },
          caught.headers,
        );
        return;
      }
      const error = caught as { status?: unknown; expose?: unknown; message?: unknown; errors?: unknown };
      if (
        typeof error.status === 'number' &&
        error.status >= 400 &&
        error.status < 500 &&
        error.expose === true
      ) {
        const code = codeForExposedError(error as { status: number });
        sendProblem(ctx, {
          type: problemType(code),
          title: STATUS_TITLES[error.status] ?? 'Bad request',
          status: error.status,
          detail: typeof error.message === 'string' ? error.message : undefined,
          code,
          request_id: requestId,
          ...(Array.isArray(error.errors) ? { errors: error.errors } : {}),
        });
        return;
      }
      if (isPgError(caught, PG_DATA_EXCEPTION_CLASS)) {
        // Input that passed validation but not Postgres (a value out of range): still the client's input.
        ctx.state.log.warn({ err: caught }, 'input refused by the database');
        sendProblem(ctx, {
          type: problemType('invalid_input'),
          title: 'The request is not valid',
          status: 400,
          detail: 'a value in the request cannot be stored (out of range, or containing a NUL character)',
          code: 'invalid_input',
          request_id: requestId,
        });
        return;
      }
      if (isDatabaseUnavailable(caught)) {
        ctx.state.log.warn({ err: caught }, 'database unavailable');
        sendProblem(
          ctx,
          {
            type: problemType('dependency_unavailable'),
            title: 'A dependency is unavailable',
            status: 503,
            detail: 'the database cannot be reached; retry shortly',
            code: 'dependency_unavailable',
            request_id: requestId,
          },
          { 'Retry-After': '1' },
        );
        return;
      }
      ctx.state.log.error({ err: caught }, 'unhandled error');
      sendProblem(ctx, {
        type: problemType('internal_error'),
        title: 'Internal server error',
        status: 500,
        detail: 'an unexpected error occurred; quote the request ID when reporting it',
        code: 'internal_error',
        request_id: requestId,
      });
    }
  };
}

function operationalRoutes(
  options: ServiceAppOptions,
  metrics: HttpMetrics,
  state: { shuttingDown: boolean },
  openapi: () => OpenApiDocument,
): RouteDefinition[] {
  const timeoutMs = options.readinessTimeoutMs ?? 2000;
  return [
    {
      method: 'get',
      path: '/healthz',
      operationId: 'liveness',
      summary: 'Liveness: the process is up. Never checks dependencies.',
      tags: ['operations'],
      access: 'public',
      internal: true,
      responses: { 200: { description: 'Alive', schema: 'Health' } },
      handle(ctx) {
        ctx.body = { status: 'ok' };
      },
    },
    {
      method: 'get',
      path: '/readyz',
      operationId: 'readiness',
      summary: "Readiness: the service's own dependencies answer and it is not shutting down.",
      tags: ['operations'],
      access: 'public',
      internal: true,
      responses: {
        200: { description: 'Ready', schema: 'Health' },
        503: { description: 'Not ready', schema: 'Health' },
      },
      async handle(ctx) {
        const checks: Record<string, string> = {};
        let ready = !state.shuttingDown;
        if (state.shuttingDown) checks.shutdown = 'in progress';
        await Promise.all(
          (options.readiness ?? []).map(async (dependency) => {
            try {
              await withDeadline(dependency.check(), timeoutMs, `timed out after ${timeoutMs} ms`);
              checks[dependency.name] = 'ok';
            } catch (error) {
              ready = false;
              // The answer names the dependency only; why it failed (addresses, server messages) is for
              // the log, not for whoever can reach the port.
              checks[dependency.name] = 'failed';
              options.logger.warn({ dependency: dependency.name, err: error }, 'readiness check failed');
            }
          }),
        );
        ctx.status = ready ? 200 : 503;
        ctx.body = { status: ready ? 'ready' : 'not_ready', checks };
      },
    },
    {
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics in the text exposition format.',
      tags: ['operations'],
      access: 'public',
      internal: true,
      responses: { 200: { description: 'Metrics', mediaType: 'text/plain' } },
      async handle(ctx) {
        ctx.type = metrics.registry.contentType;
        ctx.body = await metrics.registry.metrics();
      },
    },
    {
      method: 'get',
      path: '/openapi.json',
      operationId: 'openapi',
      summary: "This service's OpenAPI 3.1 document.",
      tags: ['operations'],
      access: 'public',
      internal: true,
      responses: { 200: { description: 'The OpenAPI document' } },
      handle(ctx) {
        ctx.body = openapi();
      },
    },
  ];
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
