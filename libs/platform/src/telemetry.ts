import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  defaultResource,
  detectResources,
  resourceAttributesEnvDetector,
  resourceFromAttributes,
  serviceNameEnvDetector,
} from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { SDK_KEY, type TelemetryGlobal } from './tracing.ts';
import { traceRedisCommands } from './telemetry/client-spans.ts';
import { OtlpJsonTraceExporter, otlpSettingsFromEnvironment } from './telemetry/otlp-exporter.ts';
import { samplerFromEnvironment } from './telemetry/sampler.ts';

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
 * Starts tracing unless `OTEL_SDK_DISABLED=true`: a tracer provider exporting OTLP/HTTP (JSON) to
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (default http://localhost:4318) in batches (the platform's own exporter,
 * telemetry/otlp-exporter.ts), and W3C trace context and baggage. Every span is the platform's own: the
 * HTTP server span (traceRequests in tracing.ts, started by listen()), the client span of a call to another
 * service (http-client.ts), and those of Postgres statements and Redis commands inside a sampled request
 * or event (telemetry/client-spans.ts, ADR 0030); no OpenTelemetry instrumentation patches a library.
 * Exports fail quietly: without a collector, spans are dropped and requests are unaffected.
 *
 * Only the trace pipeline is loaded: the all-in-one NodeSDK also starts OTLP metric and log exporters
 * by default (the platform's metrics are Prometheus, its logs are stdout), which cost memory, start-up
 * time and CPU on every request. The sampler follows the profile unless `OTEL_TRACES_SAMPLER` says
 * otherwise (telemetry/sampler.ts).
 */
export function startTelemetry(options: TelemetryOptions = {}): boolean {
  const global = globalThis as TelemetryGlobal;
  if (global[SDK_KEY]) return true;
  if (process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const serviceName = options.serviceName ?? process.env.OTEL_SERVICE_NAME;
  const serviceVersion = options.serviceVersion ?? entryPackageVersion();
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over what is derived here.
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({
        ...(serviceName ? { 'service.name': serviceName } : {}),
        ...(serviceVersion ? { 'service.version': serviceVersion } : {}),
      }),
    )
    .merge(detectResources({ detectors: [resourceAttributesEnvDetector, serviceNameEnvDetector] }));
  const exporting = (process.env.OTEL_TRACES_EXPORTER ?? 'otlp').trim().toLowerCase() !== 'none';
  const provider = new TracerProvider({
    resource,
    sampler: samplerFromEnvironment(process.env),
    spanProcessors: exporting
      ? [
          new BatchSpanProcessor({
            exporter: new OtlpJsonTraceExporter(otlpSettingsFromEnvironment(process.env)),
          }),
        ]
      : [],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  trace.setGlobalTracerProvider(provider);
  // Postgres statements are traced by the pools' client class (createPool), Redis commands here.
  const stopRedisSpans = traceRedisCommands();
  global[SDK_KEY] = {
    async shutdown() {
      stopRedisSpans();
      await provider.shutdown();
    },
  };
  return true;
}
