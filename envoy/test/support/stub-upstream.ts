import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { JSONWebKeySet } from 'jose';
import { JWT_POLICY, SERVICES, type ServiceName } from '../../src/gateway.ts';
import { freePort } from '../../src/testing/envoy-process.ts';

/** A request as the stub service received it. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A stand-in for one service behind the gateway: it records every request and answers 200 JSON naming
 * itself, so a test can tell which service a request reached and exactly what it was sent.
 */
export interface StubUpstream {
  readonly name: string;
  readonly port: number;
  /** Requests from clients (through Envoy), oldest first. */
  readonly requests: RecordedRequest[];
  /** How often Envoy fetched the JWKS (kept apart from `requests`: it is Envoy's own traffic). */
  jwksFetches(): number;
  /** Forgets what was recorded. */
  reset(): void;
  /** Stops listening (the port then refuses connections) until `listen()`. */
  close(): Promise<void>;
  listen(): Promise<void>;
}

export interface StubUpstreamOptions {
  readonly port: number;
  /** Served at the JWKS paths, as auth-service does. */
  readonly jwks?: JSONWebKeySet;
  /** Client requests are answered only once this settles (a slow service). */
  readonly holdUntil?: Promise<void>;
}

export async function startStubUpstream(name: string, options: StubUpstreamOptions): Promise<StubUpstream> {
  const requests: RecordedRequest[] = [];
  let jwksFetches = 0;
  let server: Server | undefined;

  const serve = (): Server =>
    createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const url = req.url ?? '';
        res.setHeader('content-type', 'application/json');
        if (options.jwks && url === JWT_POLICY.jwksPath) {
          jwksFetches += 1;
          res.end(JSON.stringify(options.jwks));
          return;
        }
        requests.push({
          method: req.method ?? '',
          url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        void (options.holdUntil ?? Promise.resolve()).then(() =>
          res.end(
            JSON.stringify(
              url.endsWith('/jwks.json') && options.jwks
                ? options.jwks
                : { service: name, method: req.method, path: url },
            ),
          ),
        );
      });
    });

  const listen = async (): Promise<void> => {
    const next = serve();
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(options.port, '127.0.0.1', () => {
        resolve();
      });
    });
    server = next;
  };

  const close = async (): Promise<void> => {
    const current = server;
    server = undefined;
    if (!current) return;
    current.closeAllConnections();
    await new Promise<void>((resolve) => {
      current.close(() => {
        resolve();
      });
    });
  };

  await listen();
  return {
    name,
    port: options.port,
    requests,
    jwksFetches: () => jwksFetches,
    reset: () => {
      requests.length = 0;
    },
    close,
    listen,
  };
}

/**
 * A stub for every service behind the gateway, each on a free port; auth-service serves `jwks`, and a
 * service named in `held` answers only once its promise settles.
 */
export async function startServiceStubs(
  jwks: JSONWebKeySet,
  held: Partial<Record<ServiceName, Promise<void>>> = {},
): Promise<{ stubs: Map<ServiceName, StubUpstream>; servicePorts: Partial<Record<ServiceName, number>> }> {
  const stubs = new Map<ServiceName, StubUpstream>();
  const servicePorts: Partial<Record<ServiceName, number>> = {};
  for (const service of SERVICES) {
    const holdUntil = held[service.name];
    const upstream = await startStubUpstream(service.name, {
      port: await freePort(),
      ...(service.name === 'auth-service' ? { jwks } : {}),
      ...(holdUntil ? { holdUntil } : {}),
    });
    stubs.set(service.name, upstream);
    servicePorts[service.name] = upstream.port;
  }
  return { stubs, servicePorts };
}
