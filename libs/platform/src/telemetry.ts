import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { IncomingMessage } from 'node:http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { KoaInstrumentation } from '@opentelemetry/instrumentation-koa';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { SDK_KEY, type TelemetryGlobal } from './tracing.ts';

/** Operational endpoints polled by probes and scrapers: tracing them would only add noise. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** The version in the nearest package.json above the entry point (`service.version`). */
function entryPackageVersion(): string | undefined {
  const entry = process.argv[1];
  if (!entry) return undefined;
  let dir = dirname(entry);
  for (let depth = 0; depth < 5; depth += 1) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown };
      return typeof manifest.version === 'string' ? manifest.version : undefined;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return undefined;
      dir = parent;
    }
  }
  return undefined;
}

export interface TelemetryOptions {
  /** Defaults to `OTEL_SERVICE_NAME`. */
  readonly serviceName?: string;
  /** Defaults to the version in the entry point's package.json. */
  readonly serviceVersion?: string;
}

/**
 * Starts the OpenTelemetry SDK (traces only) unless `OTEL_SDK_DISABLED=true`: OTLP/HTTP (JSON) export to
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (default http://localhost:4318), the sampler from `OTEL_TRACES_SAMPLER`
 * (default parentbased_always_on), W3C trace context, and http, fetch (undici), Koa, pg and ioredis
 * instrumentation. Must run before those libraries load (see telemetry/register.ts). Exports fail quietly:
 * without a collector, spans are dropped and requests are unaffected.
 */
export function startTelemetry(options: TelemetryOptions = {}): boolean {
  const global = globalThis as TelemetryGlobal;
  if (global[SDK_KEY]) return true;
  if (process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const serviceName = options.serviceName ?? process.env.OTEL_SERVICE_NAME;
  const serviceVersion = options.serviceVersion ?? entryPackageVersion();
  const attributes = process.env.OTEL_RESOURCE_ATTRIBUTES ?? '';
  if (serviceVersion && !/(^|,)\s*service\.version=/.test(attributes)) {
    // Read by the SDK's environment resource detector, so an explicit setting still wins.
    process.env.OTEL_RESOURCE_ATTRIBUTES = [attributes, `service.version=${serviceVersion}`]
      .filter(Boolean)
      .join(',');
  }
  const sdk = new NodeSDK({
    ...(serviceName ? { serviceName } : {}),
    traceExporter: new OTLPTraceExporter(),
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request: IncomingMessage) =>
          UNTRACED_PATHS.has((request.url ?? '').split('?')[0] ?? ''),
      }),
      new UndiciInstrumentation(),
      new KoaInstrumentation(),
      // Background work (outbox relay, consumer reads) would otherwise start a trace per poll.
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
  global[SDK_KEY] = sdk;
  return true;
}
