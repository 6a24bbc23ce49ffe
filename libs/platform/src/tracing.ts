import { waitAtMost } from './deadline.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
} from '@opentelemetry/api';

/**
 * What the rest of the platform needs from tracing, with only `@opentelemetry/api` loaded: the SDK itself
 * (telemetry.ts) is loaded by the preload alone, so in-process services and tests never load it.
 */

/** Where telemetry.ts keeps the running SDK, so shutdown finds it whichever module instance asks. */
export const SDK_KEY = Symbol.for('mrp.telemetry.sdk');
export type TelemetryGlobal = typeof globalThis & {
  [SDK_KEY]?: { shutdown(): Promise<void> } | undefined;
};

/** How long shutdown waits for the last spans to be exported (ms). */
const SHUTDOWN_TIMEOUT_MS = 2000;

/** Flushes and stops the SDK (bounded); a no-op when it was never started. */
export async function shutdownTelemetry(): Promise<void> {
  const global = globalThis as TelemetryGlobal;
  const sdk = global[SDK_KEY];
  if (!sdk) return;
  global[SDK_KEY] = undefined;
  await waitAtMost(sdk.shutdown(), SHUTDOWN_TIMEOUT_MS);
}

/** `trace_id` and `span_id` of the active span, for log lines; empty when none (or no SDK). */
export function activeTraceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const context = span.spanContext();
  if (!isSpanContextValid(context)) return {};
  return { trace_id: context.traceId, span_id: context.spanId };
}

/**
 * Names the request's server span after its route (`GET /v1/cases/:id`) and sets `http.route`: the one
 * thing a framework instrumentation would add that the HTTP server span lacks. The platform does not load
 * the Koa instrumentation, whose span per middleware costs CPU on every request and needs an ESM loader
 * hook that slows start-up (ADR 0013).
 */
export function recordRoute(method: string, route: string): void {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return;
  span.setAttribute('http.route', route);
  span.updateName(`${method} ${route}`);
}

/** Operational endpoints polled by probes and scrapers: tracing them would only add noise. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * Wraps an HTTP server's request listener in a server span: the W3C trace context of the request's
 * headers is its parent, the listener runs with the span active (so pg and Redis spans, log lines and
 * exemplars find it), and the span ends when the response does. recordRoute names it after the route.
 *
 * This replaces OpenTelemetry's http instrumentation on the server side (ADR 0013): that instrumentation
 * builds a dozen attributes and records metrics for every request before the sampler has a say, which
 * was a tenth of case-service's CPU under the read load with only one request in ten sampled. Here an
 * unsampled request costs the context extraction and one non-recording span; the attributes are built
 * only for a span that records. Without a registered SDK (`OTEL_SDK_DISABLED=true`, in-process tests)
 * the API's no-op tracer makes it a pass-through that still carries an incoming trace context along.
 */
export function traceRequests(listener: RequestListener): RequestListener {
  const tracer = trace.getTracer('@mrp/platform/http');
  return (request, response) => {
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (UNTRACED_PATHS.has(path)) {
      listener(request, response);
      return;
    }
    const method = request.method ?? 'GET';
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = tracer.startSpan(
      method,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': path } },
      parent,
    );
    if (span.isRecording()) {
      const attributes: Attributes = {
        'url.scheme': 'http',
        'network.protocol.version': request.httpVersion,
      };
      if (query !== -1) attributes['url.query'] = url.slice(query + 1);
      if (request.socket.localPort !== undefined) attributes['server.port'] = request.socket.localPort;
      if (request.socket.remoteAddress) attributes['network.peer.address'] = request.socket.remoteAddress;
      const host = request.headers.host;
      if (host) attributes['server.address'] = host.replace(/:\d+$/, '');
      const agent = request.headers['user-agent'];
      if (agent) attributes['user_agent.original'] = agent;
      span.setAttributes(attributes);
      response.once('close', () => {
        span.setAttribute('http.response.status_code', response.statusCode);
        if (!response.writableFinished) {
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message: 'the connection closed before the response ended',
          });
        } else if (response.statusCode >= 500) {
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
        span.end();
      });
    }
    // A span that does not record (unsampled) has nothing to end: no listener per request for it.
    context.with(trace.setSpan(parent, span), listener, undefined, request, response);
  };
}
