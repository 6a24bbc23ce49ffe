import { isSpanContextValid, trace } from '@opentelemetry/api';

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
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    sdk.shutdown().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SHUTDOWN_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
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
