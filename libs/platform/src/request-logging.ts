import type { Context, Middleware } from 'koa';
import type { Logger } from './logger.ts';
import type { HttpMetrics } from './metrics.ts';
import { resolveRequestId, type AppState } from './request-context.ts';
import { activeTraceFields, recordRoute } from './tracing.ts';

/** Probes and scrapes: not logged per request, not counted against the in-flight limit. */
export const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

export function requestIdAndLogging(logger: Logger, metrics: HttpMetrics): Middleware<AppState> {
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
