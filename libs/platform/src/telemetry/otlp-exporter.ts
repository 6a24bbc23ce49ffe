/**
 * The services' span exporter: OTLP/HTTP with JSON bodies, as `@opentelemetry/exporter-trace-otlp-http`
 * sends them, configured by the same `OTEL_EXPORTER_OTLP_*` variables, on the platform's own HTTP client.
 * That package loads OTLP's transformer for every signal (and with it the metrics SDK, about 130 modules)
 * to send spans: 1.8 MB of every service at idle (ADR 0028).
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { context, type Attributes, type HrTime } from '@opentelemetry/api';
import { ExportResultCode, suppressTracing, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { httpRequest } from '../http-client.ts';
import { retryWithBackoff } from '../resilience.ts';

const gzipAsync = promisify(gzip);

export interface OtlpExporterSettings {
  /** Where spans are POSTed: the traces endpoint itself (`.../v1/traces`). */
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  /** One export, retries included (ms). */
  readonly timeoutMs: number;
  readonly compression: 'gzip' | 'none';
}

const DEFAULT_ENDPOINT = 'http://localhost:4318/';
const DEFAULT_TIMEOUT_MS = 10_000;

/** The first variable that is set and not blank. */
function setting(env: NodeJS.ProcessEnv, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

/** `k1=v1,k2=v2` with URL-encoded values (the OTLP exporter's format); entries without `=` are skipped. */
export function parseOtlpHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const entry of (text ?? '').split(',')) {
    const at = entry.indexOf('=');
    if (at <= 0) continue;
    const name = entry.slice(0, at).trim().toLowerCase();
    if (!name) continue;
    try {
      headers[name] = decodeURIComponent(entry.slice(at + 1).trim());
    } catch {
      headers[name] = entry.slice(at + 1).trim();
    }
  }
  return headers;
}

/**
 * The settings the OTLP exporter specification gives: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as is, else
 * `OTEL_EXPORTER_OTLP_ENDPOINT` with `v1/traces` appended (default http://localhost:4318); headers, timeout
 * (ms) and compression (`gzip` or `none`), the traces-specific variable winning over the general one.
 * Throws on an endpoint that is not an http(s) URL, so a typo stops the service at start-up.
 */
export function otlpSettingsFromEnvironment(env: NodeJS.ProcessEnv): OtlpExporterSettings {
  const signal = setting(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const base = setting(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') ?? DEFAULT_ENDPOINT;
  const endpoint = signal ?? `${base}${base.endsWith('/') ? '' : '/'}v1/traces`;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`the OTLP traces endpoint "${endpoint}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`the OTLP traces endpoint "${endpoint}" is not an http or https URL`);
  }
  const timeout = Number(setting(env, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT'));
  const compression = setting(env, 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', 'OTEL_EXPORTER_OTLP_COMPRESSION');
  return {
    url,
    headers: {
      ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
      ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
    },
    timeoutMs: Number.isInteger(timeout) && timeout > 0 ? timeout : DEFAULT_TIMEOUT_MS,
    compression: compression?.toLowerCase() === 'gzip' ? 'gzip' : 'none',
  };
}

/** An OTLP/JSON AnyValue. */
type OtlpValue =
  | { stringValue: string }
  | { intValue: number }
  | { doubleValue: number }
  | { boolValue: boolean }
  | { bytesValue: string }
  | { arrayValue: { values: OtlpValue[] } }
  | { kvlistValue: { values: { key: string; value: OtlpValue }[] } }
  | Record<string, never>;

/** An attribute's value as OTLP/JSON writes it (bytes in base64); null, undefined and others as empty. */
export function otlpValue(value: unknown): OtlpValue {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'number')
    return Number.isInteger(value) ? { intValue: value } : { doubleValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (value instanceof Uint8Array) return { bytesValue: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return { arrayValue: { values: value.map((item) => otlpValue(item)) } };
  if (value !== null && typeof value === 'object') {
    return {
      kvlistValue: {
        values: Object.entries(value).map(([key, item]) => ({ key, value: otlpValue(item) })),
      },
    };
  }
  return {};
}

function keyValues(attributes: Attributes | undefined): { key: string; value: OtlpValue }[] {
  return Object.entries(attributes ?? {}).map(([key, value]) => ({ key, value: otlpValue(value) }));
}

/** Nanoseconds since the epoch, as the decimal string OTLP/JSON writes a 64-bit integer as. */
function nanos([seconds, nanoseconds]: HrTime): string {
  return (BigInt(Math.trunc(seconds)) * 1_000_000_000n + BigInt(Math.trunc(nanoseconds))).toString();
}

/** W3C trace flags in the low byte, and whether the parent is remote known (0x100) and true (0x200). */
function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0);
}

function otlpSpan(span: ReadableSpan): Record<string, unknown> {
  const own = span.spanContext();
  return {
    traceId: own.traceId,
    spanId: own.spanId,
    parentSpanId: span.parentSpanContext?.spanId || undefined,
    traceState: own.traceState?.serialize(),
    name: span.name,
    // OTLP's SpanKind starts at 1 (INTERNAL); the API's at 0.
    kind: span.kind + 1,
    startTimeUnixNano: nanos(span.startTime),
    endTimeUnixNano: nanos(span.endTime),
    attributes: keyValues(span.attributes),
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events.map((event) => ({
      timeUnixNano: nanos(event.time),
      name: event.name,
      attributes: keyValues(event.attributes),
      droppedAttributesCount: event.droppedAttributesCount ?? 0,
    })),
    droppedEventsCount: span.droppedEventsCount,
    status: { code: span.status.code, message: span.status.message },
    links: span.links.map((link) => ({
      traceId: link.context.traceId,
      spanId: link.context.spanId,
      traceState: link.context.traceState?.serialize(),
      attributes: keyValues(link.attributes),
      droppedAttributesCount: link.droppedAttributesCount ?? 0,
      flags: spanFlags(link.context.traceFlags, link.context.isRemote),
    })),
    droppedLinksCount: span.droppedLinksCount,
    flags: spanFlags(own.traceFlags, span.parentSpanContext?.isRemote),
  };
}

/** An ExportTraceServiceRequest in OTLP/JSON: spans grouped by resource, then by instrumentation scope. */
export function encodeTraceRequest(spans: readonly ReadableSpan[]): { resourceSpans: unknown[] } {
  const byResource = new Map<ReadableSpan['resource'], Map<string, ReadableSpan[]>>();
  for (const span of spans) {
    const scopes = byResource.get(span.resource) ?? new Map<string, ReadableSpan[]>();
    byResource.set(span.resource, scopes);
    const { name, version, schemaUrl } = span.instrumentationScope;
    const key = `${name}@${version ?? ''}:${schemaUrl ?? ''}`;
    scopes.set(key, [...(scopes.get(key) ?? []), span]);
  }
  return {
    resourceSpans: [...byResource].map(([resource, scopes]) => ({
      resource: { attributes: keyValues(resource.attributes), droppedAttributesCount: 0 },
      schemaUrl: resource.schemaUrl || undefined,
      scopeSpans: [...scopes.values()].map((scoped) => {
        const scope = (scoped[0] as ReadableSpan).instrumentationScope;
        return {
          scope: { name: scope.name, version: scope.version },
          schemaUrl: scope.schemaUrl,
          spans: scoped.map(otlpSpan),
        };
      }),
    })),
  };
}

/** The collector answered, but not with a 2xx. */
export class OtlpExportError extends Error {
  readonly status: number;

  constructor(status: number) {
    super(`the OTLP endpoint answered ${status}`);
    this.name = 'OtlpExportError';
    this.status = status;
  }
}

/** Statuses after which OTLP/HTTP says to retry (the collector is busy or restarting). */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

export interface OtlpExporterOptions {
  /** Retries of an export answered 429, 502, 503 or 504 (default 3), within the export's timeout. */
  readonly retries?: number;
  readonly baseDelayMs?: number;
}

/** Sends each batch of finished spans in one request; a batch the collector refuses or misses is dropped. */
export class OtlpJsonTraceExporter implements SpanExporter {
  readonly #settings: OtlpExporterSettings;
  readonly #retries: number;
  readonly #baseDelayMs: number;
  readonly #pending = new Set<Promise<unknown>>();
  #shutDown = false;

  constructor(settings: OtlpExporterSettings, options: OtlpExporterOptions = {}) {
    this.#settings = settings;
    this.#retries = options.retries ?? 3;
    this.#baseDelayMs = options.baseDelayMs ?? 500;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.#shutDown) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('the exporter is shut down') });
      return;
    }
    // Its own HTTP call must not be traced (that would export a span per export, forever).
    const sending = context.with(suppressTracing(context.active()), () => this.#send(spans));
    this.#pending.add(sending);
    void sending.then((result) => {
      this.#pending.delete(sending);
      resultCallback(result);
    });
  }

  async #send(spans: readonly ReadableSpan[]): Promise<ExportResult> {
    const { url, headers, timeoutMs, compression } = this.#settings;
    const deadline = performance.now() + timeoutMs;
    try {
      const json = JSON.stringify(encodeTraceRequest(spans));
      const body = compression === 'gzip' ? await gzipAsync(json) : json;
      const requestHeaders = {
        ...headers,
        'content-type': 'application/json',
        ...(compression === 'gzip' ? { 'content-encoding': 'gzip' } : {}),
      };
      await retryWithBackoff(
        async () => {
          const left = Math.round(deadline - performance.now());
          if (left <= 0) throw new Error(`the export did not complete within ${timeoutMs} ms`);
          const response = await httpRequest(url, {
            method: 'POST',
            headers: requestHeaders,
            body,
            timeoutMs: left,
          });
          if (!response.ok) throw new OtlpExportError(response.status);
        },
        {
          retries: this.#retries,
          baseDelayMs: this.#baseDelayMs,
          maxDelayMs: Math.max(this.#baseDelayMs, timeoutMs / 4),
          isRetryable: (error) => error instanceof OtlpExportError && RETRYABLE_STATUSES.has(error.status),
        },
      );
      return { code: ExportResultCode.SUCCESS };
    } catch (error) {
      return { code: ExportResultCode.FAILED, error: error as Error };
    }
  }

  /** Waits for the exports under way. */
  async forceFlush(): Promise<void> {
    await Promise.all(this.#pending);
  }

  async shutdown(): Promise<void> {
    this.#shutDown = true;
    await this.forceFlush();
  }
}
