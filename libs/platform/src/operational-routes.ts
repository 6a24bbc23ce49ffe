import type { OpenApiDocument } from '@mrp/schemas';
import { withDeadline } from './deadline.ts';
import type { Logger } from './logger.ts';
import type { HttpMetrics } from './metrics.ts';
import type { ReadinessCheck } from './readiness.ts';
import { defineRoute, type RouteDefinition } from './route.ts';

/** What the operational routes need to know of the service. */
export interface OperationalRouteOptions {
  readonly serviceName: string;
  readonly version: string;
  readonly logger: Logger;
  readonly readiness?: readonly ReadinessCheck[] | undefined;
  readonly readinessTimeoutMs?: number | undefined;
}

export function operationalRoutes(
  options: OperationalRouteOptions,
  metrics: HttpMetrics,
  state: { shuttingDown: boolean },
  openapi: () => OpenApiDocument,
): RouteDefinition[] {
  const timeoutMs = options.readinessTimeoutMs ?? 2000;
  return [
    defineRoute({
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
    }),
    defineRoute({
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
    }),
    defineRoute({
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
    }),
    defineRoute({
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
    }),
  ];
}
