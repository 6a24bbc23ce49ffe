/**
 * The HTTP client the services call each other with (and fetch the JWKS with): `node:http` on kept-alive
 * connections, traced like the server side. Not `fetch`: its first call (or any use of `Headers`, `Request`
 * or `Response`) loads Node's bundled undici, and under load the services held 17 MB less in all (40 MB
 * less at their peak) with this client than with fetch (docs/benchmarks.md, ADR 0025).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequestOf } from 'node:https';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { http } from './commonjs.ts';

export interface HttpRequest {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** The whole exchange, from connecting to the body's last byte (ms). */
  readonly timeoutMs: number;
}

export interface HttpResponse {
  readonly status: number;
  /** 200 to 299. */
  readonly ok: boolean;
  readonly headers: IncomingHttpHeaders;
  /** The body as text (UTF-8). */
  readonly text: string;
  /** The body parsed as JSON; throws a SyntaxError when it is not JSON. */
  json(): unknown;
}

/** Connections are kept open between calls; Node closes one before the server's Keep-Alive hint expires. */
const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new HttpsAgent({ keepAlive: true }),
};

const tracer = trace.getTracer('@mrp/platform/http-client');

/** The error a call that ran out of time rejects with (named `TimeoutError`, as `AbortSignal.timeout`'s). */
function timeoutError(url: URL, timeoutMs: number): Error {
  const error = new Error(`${url.origin}${url.pathname} did not answer within ${timeoutMs} ms`);
  error.name = 'TimeoutError';
  return error;
}

/**
 * One request: resolves with the whole answer whatever its status, rejects when there is no answer (the
 * connection failed or broke, or `timeoutMs` ran out). A client span wraps it, and the trace context goes
 * along in the request's `traceparent`, so the callee's spans join the caller's trace.
 */
export async function httpRequest(target: URL | string, options: HttpRequest): Promise<HttpResponse> {
  const url = typeof target === 'string' ? new URL(target) : target;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`not an HTTP URL: ${url.href}`);
  const method = options.method ?? 'GET';
  const span = tracer.startSpan(method, {
    kind: SpanKind.CLIENT,
    attributes: {
      'http.request.method': method,
      'server.address': url.hostname,
      'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
      'url.full': `${url.origin}${url.pathname}`,
    },
  });
  const headers: Record<string, string> = { ...options.headers };
  propagation.inject(trace.setSpan(context.active(), span), headers);
  if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
  try {
    const response = await exchange(url, method, headers, options);
    span.setAttribute('http.response.status_code', response.status);
    if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    return response;
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

function exchange(
  url: URL,
  method: string,
  headers: Record<string, string>,
  options: HttpRequest,
): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequestOf : http.request;
    const request = send(url, { method, headers, agent: agents[url.protocol as 'http:' | 'https:'] });
    const timer = setTimeout(() => {
      request.destroy(timeoutError(url, options.timeoutMs));
    }, options.timeoutMs);
    request.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.once('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      response.once('end', () => {
        clearTimeout(timer);
        const status = response.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status,
          ok: status >= 200 && status < 300,
          headers: response.headers,
          text,
          json: () => JSON.parse(text) as unknown,
        });
      });
    });
    request.end(options.body);
  });
}
